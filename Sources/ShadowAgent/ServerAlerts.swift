public import FoundationEssentials
public import ShadowCore
import ShadowSystem

/// Something the server did that signatures alone cannot refuse, found by comparing what other devices
/// announce with what the server shows (Docs/OPERATIONS.md, "Alerts"). Shown by `status` (text and
/// `alerts` in `--json`), `doctor` and the `on-alert` hook until the server shows the commit.
public struct ServerAlert: Codable, Sendable, Equatable {
    /// `withheld_commit` or `rewritten_history` (the constants below).
    public var kind: String
    public var message: String
    public var advice: String
    /// The device that announced the missing commit, or this one for `rewritten_history` (first 8 hex
    /// digits of its id, as `log` shows it).
    public var device: String
    /// When that device pushed or saw the commit (UTC, ISO 8601): the server withholds it since then.
    public var since: String
    /// The missing commit (full hex id); empty for `rewritten_history`.
    public var commit: String

    /// `withheld_commit`: another device announced a head (its push, or what it saw on the server) that
    /// the server's history still lacks after `DaemonTiming.withheldGrace`: a fork or a freeze.
    public static let withheldCommit = "withheld_commit"
    /// `rewritten_history`: the server's branch lacks a commit this machine verified (a rollback, or a
    /// fork seen from this side: `sync --accept-fork`). Shown while the daemon's passes fail so; `device`
    /// is this machine, `commit` empty.
    public static let rewrittenHistory = "rewritten_history"
    /// `refused_commit`: the server's head is a commit no writer of the vault made (unsigned, tampered,
    /// signed by a revoked or unknown device); `sync --replace-refused` pushes over it.
    public static let refusedCommit = "refused_commit"
}

/// When one device last pushed, as `status` shows it (`devices` in `--json`).
public struct DevicePush: Codable, Sendable, Equatable {
    /// First 8 hex digits of the device id, as `log` shows it.
    public var device: String
    /// UTC, ISO 8601, to the second.
    public var lastPush: String
    /// True for this machine.
    public var thisDevice: Bool

    enum CodingKeys: String, CodingKey {
        case device
        case lastPush = "last_push", thisDevice = "this_device"
    }

    /// The list `status` shows: newest first, from device id (hex) → Unix milliseconds.
    static func list(_ times: [String: UInt64], this: String) -> [DevicePush] {
        times.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.map {
            DevicePush(device: String($0.key.prefix(8)), lastPush: isoTime($0.value), thisDevice: $0.key.hasPrefix(this))
        }
    }
}

/// The alerts of one folder, kept in its state directory so `status` and `doctor` show them while no
/// daemon runs; the daemon writes the file, everything else reads it.
enum ServerAlertFile {
    static let fileName = "alerts.json"
    /// A few alerts are a few hundred bytes each; anything much larger is not this file.
    static let limitBytes = 1 << 20

    static func path(_ config: FolderConfig) -> BytePath { config.state.appending(fileName) }

    /// The alerts recorded; none when there is no file or it cannot be read.
    static func load(_ config: FolderConfig) -> [ServerAlert] {
        guard let bytes = try? FileSystem.readFile(path(config), limit: limitBytes) else { return [] }
        return (try? JSONDecoder().decode([ServerAlert].self, from: Data(bytes))) ?? []
    }

    /// After a one-shot sync: drops the `withheld_commit` alerts whose commit the server has now shown
    /// (a daemon, when one runs, does this itself after every pass).
    static func prune(_ config: FolderConfig, contains: (ObjectID) -> Bool) {
        let alerts = load(config)
        let kept = alerts.filter { alert in ObjectID(hex: alert.commit).map { !contains($0) } ?? true }
        if kept.count != alerts.count { try? save(kept, config) }
    }

    static func save(_ alerts: [ServerAlert], _ config: FolderConfig) throws(ShadowError) {
        if alerts.isEmpty { return try FileSystem.removeTree(path(config)) }
        try FileSystem.writeAtomically(Array(jsonText(alerts).utf8), to: path(config), mode: 0o600)
    }
}

/// A head another device announced through an authenticated doorbell.
struct Announcement: Sendable, Equatable {
    enum Source: Sendable { case pushed, seen }
    let head: ObjectID
    /// The announcing device's id in hex.
    let device: String
    /// When the device sent it (Unix seconds, its clock).
    let sentAt: UInt64
    /// `pushed`: it just pushed this head; `seen`: the newest head it verified on the server or pushed.
    let source: Source
}

/// Heads other devices announced, until the server's history contains them; the ones still missing
/// after the grace period become `withheld_commit` alerts. Times are the daemon's monotonic clock.
struct WithheldWatch: Sendable {
    struct Entry: Sendable {
        var announcement: Announcement
        /// When the first announcement of this head arrived.
        var heardAt: Double
        var alert: ServerAlert?
        /// A pass was asked for at the deadline already.
        var recheckRequested = false
    }

    private(set) var entries: [ObjectID: Entry] = [:]
    /// The newest push each device announced (hex id → Unix milliseconds of its `sentAt`).
    private(set) var announcedPushes: [String: UInt64] = [:]

    /// Alerts left by an earlier run: they stay until a pass finds their commit.
    init(alerts: [ServerAlert] = []) {
        for alert in alerts {
            guard let head = ObjectID(hex: alert.commit) else { continue }
            entries[head] = Entry(announcement: Announcement(head: head, device: alert.device, sentAt: 0, source: .seen),
                                  heardAt: 0, alert: alert, recheckRequested: true)
        }
    }

    var alerts: [ServerAlert] { entries.values.compactMap(\.alert).sorted { ($0.since, $0.commit) < ($1.since, $1.commit) } }

    /// Records an announcement; `known`: the head is already in the local history (nothing to watch).
    /// A newer head from a device already watched replaces its older one (it contains it): one entry,
    /// and one alert, per device, still timed from the first head the server did not show.
    mutating func heard(_ a: Announcement, at now: Double, known: Bool) {
        if a.source == .pushed { announcedPushes[a.device] = max(announcedPushes[a.device] ?? 0, a.sentAt * 1000) }
        guard !known, entries[a.head] == nil else { return }
        var entry = Entry(announcement: a, heardAt: now)
        if let (head, older) = entries.first(where: { $0.value.announcement.device.prefix(8) == a.device.prefix(8) }) {
            guard older.announcement.sentAt < a.sentAt else { return }
            entries[head] = nil
            entry.heardAt = older.heardAt
            entry.recheckRequested = older.recheckRequested
            entry.alert = older.alert.map { var alert = Self.alert(for: a); alert.since = $0.since; return alert }
        }
        entries[a.head] = entry
    }

    /// Heads found in the local history without a pass (a doorbell for history already here).
    mutating func drop(_ heads: [ObjectID]) {
        for head in heads where entries[head]?.alert == nil { entries[head] = nil }
    }

    /// The earliest moment a pass must run to judge a head still missing; nil when none waits.
    func nextCheck(grace: Double) -> Double? {
        entries.values.filter { $0.alert == nil && !$0.recheckRequested }.map { $0.heardAt + grace }.min()
    }

    /// Notes that a pass was asked for every head whose deadline has come.
    mutating func recheckRequested(now: Double, grace: Double) {
        for (head, e) in entries where e.alert == nil && e.heardAt + grace <= now { entries[head]?.recheckRequested = true }
    }

    /// After a pass that fetched successfully and started at `passStarted`: heads now in the local
    /// history are dropped (with their alert), heads still missing from a fetch started after their
    /// grace period become alerts. Returns the new alerts and the commits the server now shows again.
    mutating func review(passStarted: Double, grace: Double, contains: (ObjectID) -> Bool) -> (raised: [ServerAlert], cleared: [ServerAlert]) {
        var raised: [ServerAlert] = [], cleared: [ServerAlert] = []
        for (head, e) in entries where e.heardAt <= passStarted {
            if contains(head) {
                if let alert = e.alert { cleared.append(alert) }
                entries[head] = nil
            } else if e.alert == nil, passStarted >= e.heardAt + grace {
                let alert = Self.alert(for: e.announcement)
                entries[head]?.alert = alert
                raised.append(alert)
            }
        }
        return (raised, cleared)
    }

    static func alert(for a: Announcement) -> ServerAlert {
        let device = String(a.device.prefix(8)), since = isoTime(a.sentAt * 1000)
        let what = a.source == .pushed ? "pushed" : "had on the server"
        return ServerAlert(
            kind: ServerAlert.withheldCommit,
            message: "the server withholds commit \(a.head.short) that device \(device) \(what) at \(since): it shows this machine another history (a fork) or stopped taking updates (a freeze)",
            advice: "nothing was changed locally; run 'shadowsync log' on device \(device): if it has commits this machine lacks, the server is at fault: move the vault to a new bare repository (Docs/OPERATIONS.md, \"A fork or a frozen server\")",
            device: device, since: since, commit: a.head.hex)
    }
}
