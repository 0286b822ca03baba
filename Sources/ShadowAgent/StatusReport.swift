import FoundationEssentials
public import ShadowCore
import ShadowCrypto
import ShadowSystem
public import ShadowEngine

/// What `shadowsync status` reports for one folder, the same with and without a running daemon
/// (`status --json` prints it; Docs/OPERATIONS.md "Status schema"). Every key is always present: a value
/// that is unknown, or that only a running daemon knows, is `null`. Commit ids are full (40 hex digits).
public struct StatusReport: Codable, Sendable {
    /// Raised when a key changes meaning or goes away; new keys keep the version.
    public static let currentSchema = 1
    public var schema = StatusReport.currentSchema

    // The folder, from its agent state (read without taking the folder's lock).
    public var folder: String
    public var remote: String
    /// First 8 hex digits of this machine's device id, as `log` shows it.
    public var device: String
    /// This device's name in the vault (nil: none published or requested).
    public var deviceName: String?
    public var readOnly: Bool
    public var head: String?
    /// The newest remote head this machine verified or pushed.
    public var lastVerified: String?
    /// The remote head as last fetched.
    public var remoteHead: String?
    public var sequence: UInt64
    public var inSync: Bool
    /// Local changes not yet committed, as "+ path", "M path", "- path".
    public var pending: [String]
    public var conflictCopies: [String]
    /// Why nothing syncs until `shadowsync repair`, with what to do.
    public var needsRepair: String?
    public var needsRepairAdvice: String?
    /// Something left half done (an `init` or `join` interrupted before its first push), with what to do.
    public var unfinished: String?
    /// The folder could not be read (only in a list of every folder); the other values are then empty.
    public var error: String?
    /// The key file needs a passphrase and none could be asked for (`status` of every folder never
    /// asks): `pending` is then unknown and empty, `in_sync` false, `read_only` false, and `needs_repair`
    /// unchecked. Never true while a daemon runs: the daemon answers for the folder.
    public var keyLocked = false
    /// True when `status` exits 1: conflict copies, a needed repair, an alert, or the daemon's last pass
    /// failed or it is degraded.
    public var attention = false
    public var alerts: [ServerAlert]
    public var devices: [DevicePush]

    // The daemon (`shadowsync run`): `running` false and the rest null when none runs.
    public var running: Bool
    public var pid: Int?
    /// The daemon's state (`idle`, `scanning`, `committing`, `fetching`, `applying`, `pushing`, `paused`,
    /// `waiting to retry`, `needs attention`, `starting`); `not running` without a daemon.
    public var state: String
    public var paused: Bool?
    public var degraded: Bool?
    public var degradedAdvice: String?
    public var watches: Int?
    public var overflows: Int?
    public var pendingEvents: Int?
    public var passes: Int?
    public var commits: Int?
    public var events: Int?
    public var progress: DaemonStatusReply.Progress?
    public var lastPush: String?
    public var lastFetch: String?
    public var lastError: String?
    public var lastErrorAt: String?
    public var retryAt: String?
    public var xmpp: DaemonStatusReply.Doorbell?

    enum CodingKeys: String, CodingKey {
        case schema, folder, remote, device, head, sequence, pending, unfinished, error, attention, alerts, devices
        case deviceName = "device_name", keyLocked = "key_locked"
        case running, pid, state, paused, degraded, watches, overflows, passes, commits, events, progress, xmpp
        case readOnly = "read_only", lastVerified = "last_verified", remoteHead = "remote_head", inSync = "in_sync"
        case conflictCopies = "conflict_copies", needsRepair = "needs_repair", needsRepairAdvice = "needs_repair_advice"
        case degradedAdvice = "degraded_advice", pendingEvents = "pending_events", lastPush = "last_push", lastFetch = "last_fetch"
        case lastError = "last_error", lastErrorAt = "last_error_at", retryAt = "retry_at"
    }

    /// Writes every key, `null` included, so both forms of the report have the same keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(folder, forKey: .folder)
        try c.encode(remote, forKey: .remote)
        try c.encode(device, forKey: .device)
        try c.encode(deviceName, forKey: .deviceName)
        try c.encode(readOnly, forKey: .readOnly)
        try c.encode(head, forKey: .head)
        try c.encode(lastVerified, forKey: .lastVerified)
        try c.encode(remoteHead, forKey: .remoteHead)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(inSync, forKey: .inSync)
        try c.encode(pending, forKey: .pending)
        try c.encode(conflictCopies, forKey: .conflictCopies)
        try c.encode(needsRepair, forKey: .needsRepair)
        try c.encode(needsRepairAdvice, forKey: .needsRepairAdvice)
        try c.encode(unfinished, forKey: .unfinished)
        try c.encode(error, forKey: .error)
        try c.encode(keyLocked, forKey: .keyLocked)
        try c.encode(attention, forKey: .attention)
        try c.encode(alerts, forKey: .alerts)
        try c.encode(devices, forKey: .devices)
        try c.encode(running, forKey: .running)
        try c.encode(pid, forKey: .pid)
        try c.encode(state, forKey: .state)
        try c.encode(paused, forKey: .paused)
        try c.encode(degraded, forKey: .degraded)
        try c.encode(degradedAdvice, forKey: .degradedAdvice)
        try c.encode(watches, forKey: .watches)
        try c.encode(overflows, forKey: .overflows)
        try c.encode(pendingEvents, forKey: .pendingEvents)
        try c.encode(passes, forKey: .passes)
        try c.encode(commits, forKey: .commits)
        try c.encode(events, forKey: .events)
        try c.encode(progress, forKey: .progress)
        try c.encode(lastPush, forKey: .lastPush)
        try c.encode(lastFetch, forKey: .lastFetch)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(lastErrorAt, forKey: .lastErrorAt)
        try c.encode(retryAt, forKey: .retryAt)
        try c.encode(xmpp, forKey: .xmpp)
    }

    /// The report of a folder read from its agent state, joined with its daemon's reply when one runs.
    init(config: FolderConfig, status s: FolderStatus, daemon: DaemonStatusReply?) {
        folder = s.folder
        remote = config.remote
        device = s.deviceID
        deviceName = s.deviceName
        readOnly = s.readOnly
        head = s.head?.hex
        lastVerified = s.lastVerified?.hex
        remoteHead = s.remoteHead?.hex
        sequence = s.sequence
        inSync = s.inSync
        pending = s.pending
        conflictCopies = s.conflictCopies
        needsRepair = s.needsRepair?.message
        needsRepairAdvice = s.needsRepair.map { $0.advice.isEmpty ? "run 'shadowsync repair'" : $0.advice }
        keyLocked = s.keyLocked
        alerts = ServerAlertFile.load(config)
        devices = DevicePush.list(s.devicePushes, this: s.deviceID)
        running = false
        state = "not running"
        if let daemon { join(daemon) }
        finish()
    }

    /// The report of a folder whose daemon answers for it: the folder as its last pass left it, no key
    /// and no scan needed.
    init?(config: FolderConfig, daemon d: DaemonStatusReply) {
        guard let device = d.device, let sequence = d.sequence else { return nil }
        folder = d.folder
        remote = config.remote
        self.device = device
        deviceName = d.deviceName
        readOnly = d.readOnly ?? false
        head = d.head
        lastVerified = d.lastVerified
        remoteHead = d.remoteHead
        self.sequence = sequence
        pending = d.pending ?? []
        conflictCopies = d.conflicts
        needsRepair = d.needsRepair
        needsRepairAdvice = d.needsRepairAdvice
        inSync = needsRepair == nil && pending.isEmpty && d.pendingEvents == 0 && head == lastVerified && (remoteHead == nil || remoteHead == head)
        alerts = []
        devices = []
        running = true
        state = d.state
        join(d)
        finish()
    }

    /// Takes the daemon's part of its reply.
    private mutating func join(_ d: DaemonStatusReply) {
        running = true
        state = d.state
        alerts = d.alerts
        devices = d.devices
        pid = d.pid
        paused = d.paused
        degraded = d.degraded
        degradedAdvice = d.degradedAdvice
        watches = d.watches
        overflows = d.overflows
        pendingEvents = d.pendingEvents
        passes = d.passes
        commits = d.commits
        events = d.events
        progress = d.progress
        lastPush = d.lastPush
        lastFetch = d.lastFetch
        lastError = d.lastError
        lastErrorAt = d.lastErrorAt
        retryAt = d.retryAt
        xmpp = d.xmpp
    }

    private mutating func finish() {
        if head == nil && needsRepair == nil {
            unfinished = "this folder has no history yet: its init or join was interrupted before the first push"
        }
        attention = !conflictCopies.isEmpty || needsRepair != nil || !alerts.isEmpty || lastError != nil || degraded == true
    }

    /// A folder whose state could not be read (a missing key file, no terminal for its passphrase).
    init(config: FolderConfig, error e: ShadowError) {
        folder = config.folder.description
        remote = config.remote
        device = ""
        readOnly = false
        sequence = 0
        inSync = false
        pending = []
        conflictCopies = []
        error = e.message + (e.advice.isEmpty ? "" : " — " + e.advice)
        attention = true
        alerts = []
        devices = []
        running = false
        state = "unknown"
    }

    /// The report as `status --json` prints it.
    public var json: String { jsonText(self) }

    /// Reads a report printed by `status --json` (a script, the web interface); nil for anything else.
    public init?(json: String) {
        guard let decoded = try? JSONDecoder().decode(StatusReport.self, from: Data(json.utf8)) else { return nil }
        self = decoded
    }
}

/// `shadowsync status --json` for every configured folder: `{"schema": 1, "folders": [StatusReport]}`.
public struct StatusList: Codable, Sendable {
    public var schema = StatusReport.currentSchema
    public var folders: [StatusReport]

    public init(folders: [StatusReport]) { self.folders = folders }

    public var json: String { jsonText(self) }
}

extension Workspace {
    /// `shadowsync status` for one folder: read from its agent state without its lock, joined with its
    /// daemon's reply when one runs; the same schema either way.
    public func statusReport(_ path: BytePath?) throws(ShadowError) -> StatusReport {
        let config = try config(path)
        return try statusReport(config, asking: true)
    }

    /// `shadowsync status` with no folder: every configured folder, in the order of their config names.
    /// A folder that cannot be read is listed with its `error`, not left out. Never asks for a passphrase:
    /// a folder whose key is locked shows what its files tell (`key_locked`).
    public func statusReports() throws(ShadowError) -> [StatusReport] {
        var reports: [StatusReport] = []
        for config in try registry.all() {
            for warning in SecretFiles.openFileWarnings(config) { Warnings.emit(warning) }
            do throws(ShadowError) { reports.append(try statusReport(config, asking: false)) } catch { reports.append(StatusReport(config: config, error: error)) }
        }
        return reports
    }

    /// True when the current directory is inside a configured folder (`status` then shows that one).
    public func currentDirectoryIsInAFolder() -> Bool { (try? config(nil)) != nil }

    /// A running daemon answers for its folder (no key, no scan). Otherwise the folder is read here;
    /// a key that needs a passphrase nobody can type (`asking` false, or no terminal, and no
    /// passphrase file or command) leaves what its files show, marked `key_locked`.
    func statusReport(_ config: FolderConfig, asking: Bool) throws(ShadowError) -> StatusReport {
        let reply = (try? ControlClient.request(Daemon.socketPath(config), ControlRequest.status.rawValue)).flatMap(DaemonStatusReply.init(reply:))
        if let reply, let report = StatusReport(config: config, daemon: reply) { return report }
        if try keyIsLocked(config, asking: asking) {
            let status = try SyncEngine.statusWithoutKey(location: config.location, store: SSHSetup.store(config))
            return StatusReport(config: config, status: status, daemon: reply)
        }
        var workspace = self
        workspace.asksPassphrase = asksPassphrase && asking
        let engine = try workspace.observe(config)
        return StatusReport(config: config, status: try engine.status(), daemon: reply)
    }

    /// True when the folder's key file needs a passphrase that only a person at a terminal could give.
    private func keyIsLocked(_ config: FolderConfig, asking: Bool) throws(ShadowError) -> Bool {
        guard case .prompt = try config.passphraseSource(), !(asking && asksPassphrase && Terminal.isInteractive) else { return false }
        guard let bytes = try? FileSystem.readFile(config.location.keyFile, limit: Workspace.keyFileLimitBytes) else { return false }
        return (try? KeyFile.needsPassphrase(bytes)) ?? false
    }

    /// The folder's engine for looking only: no lock taken, nothing finished or written, so it works
    /// beside a running daemon or a one-shot sync.
    func observe(_ config: FolderConfig) throws(ShadowError) -> SyncEngine {
        try SyncEngine(location: config.location, keys: try keys(of: config), store: SSHSetup.store(config),
                       ignorePermissions: config.ignorePermissions, observing: true)
    }
}
