public import FoundationEssentials
@preconcurrency import Glibc
import ShadowCore
import ShadowEngine
import ShadowSystem
import Synchronization

/// What `shadowsync status`, `pause`, `resume`, `sync` and `conflicts` ask a running daemon over its
/// control socket: one request line, one reply.
public enum ControlRequest: String, Sendable {
    case ping, pause, resume, status
    /// Run a pass soon (also while paused): the reply is a ticket, `{"pass": N}`.
    case sync
    /// The same, with the mass-delete guard lifted for that pass only.
    case syncAllowingMassDelete = "sync allow-mass-delete"
    /// The result of the newest finished pass (PassSummary), `{"pass": 0}` before the first.
    case lastPass = "last-pass"
}

/// The daemon's reply to `status`: shared by the daemon, which writes it, and `shadowsync status`, which
/// prints it as text or passes it on as `--json` (Docs/OPERATIONS.md). A nil member is left out.
public struct DaemonStatusReply: Codable, Sendable {
    public var pid: Int
    public var folder: String
    public var remote: String
    public var state: String
    public var paused: Bool
    public var degraded: Bool
    public var degradedAdvice: String?
    public var watches: Int
    public var overflows: Int
    public var pendingEvents: Int
    public var passes: Int
    public var commits: Int
    public var conflicts: [String]
    /// Every inotify event read since start (the benchmark's "events absorbed").
    public var events: Int
    public var progress: Progress?
    public var head: String?
    /// Times are UTC, ISO 8601, to the second.
    public var lastPush: String?
    public var lastFetch: String?
    public var lastError: String?
    public var lastErrorAt: String?
    public var retryAt: String?
    public var xmpp: Doorbell?
    /// What the server did that only other devices' announcements reveal (ServerAlert); empty when none.
    public var alerts: [ServerAlert]
    /// When each known device last pushed, newest first.
    public var devices: [DevicePush]
    /// The folder as the daemon's last pass left it (StatusReport's keys of the same names), so `status`
    /// needs neither the key nor a scan while a daemon runs. `pending` is what that pass left
    /// uncommitted; changes seen since are counted in `pending_events`.
    public var device: String?
    public var deviceName: String?
    public var readOnly: Bool?
    public var lastVerified: String?
    public var remoteHead: String?
    public var sequence: UInt64?
    public var pending: [String]?
    public var needsRepair: String?
    public var needsRepairAdvice: String?

    /// A pass under way (nil between passes): its phase, the commit's encryption (files and bytes, zero
    /// until it begins), and the fetch or push moving now. Every key is written, `null` included.
    public struct Progress: Codable, Sendable {
        /// `scanning`, `encrypting`, `committing`, `fetching`, `applying` or `pushing`.
        public var phase: String?
        /// Seconds since the phase began.
        public var phaseSeconds: Int?
        public var files: Int
        public var totalFiles: Int
        public var bytes: Int
        public var totalBytes: Int
        public var bytesPerSecond: Int
        public var secondsLeft: Int?
        public var transfer: Transfer?

        /// A fetch (`received`) or push (`sent`): bytes and objects so far, the rate since the phase
        /// began, and the time left by the share of objects moved (null while unknown).
        public struct Transfer: Codable, Sendable {
            public var direction: String
            public var bytes: Int
            public var objects: Int
            public var totalObjects: Int
            public var bytesPerSecond: Int
            public var secondsLeft: Int?

            enum CodingKeys: String, CodingKey {
                case direction, bytes, objects
                case totalObjects = "total_objects", bytesPerSecond = "bytes_per_second", secondsLeft = "seconds_left"
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(direction, forKey: .direction)
                try c.encode(bytes, forKey: .bytes)
                try c.encode(objects, forKey: .objects)
                try c.encode(totalObjects, forKey: .totalObjects)
                try c.encode(bytesPerSecond, forKey: .bytesPerSecond)
                try c.encode(secondsLeft, forKey: .secondsLeft)
            }
        }

        enum CodingKeys: String, CodingKey {
            case phase, files, bytes, transfer
            case phaseSeconds = "phase_seconds", totalFiles = "total_files", totalBytes = "total_bytes"
            case bytesPerSecond = "bytes_per_second", secondsLeft = "seconds_left"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(phase, forKey: .phase)
            try c.encode(phaseSeconds, forKey: .phaseSeconds)
            try c.encode(files, forKey: .files)
            try c.encode(totalFiles, forKey: .totalFiles)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(totalBytes, forKey: .totalBytes)
            try c.encode(bytesPerSecond, forKey: .bytesPerSecond)
            try c.encode(secondsLeft, forKey: .secondsLeft)
            try c.encode(transfer, forKey: .transfer)
        }
    }

    /// The XMPP doorbell, when configured.
    public struct Doorbell: Codable, Sendable {
        public var state: String
        public var connected: Bool
        public var peersOnline: Int
        public var connects: Int
        public var doorbellsSent: Int
        public var doorbellsReceived: Int
        public var accepted: Int
        public var alreadyKnown: Int
        public var rejected: Rejected
        public var jid: String?
        public var lastError: String?
        public var lastSent: String?
        public var lastReceived: String?
        public var reconnectAt: String?

        /// Doorbells dropped, by reason.
        public struct Rejected: Codable, Sendable {
            public var forged: Int
            public var replayed: Int
            public var stale: Int
            public var otherFolder: Int
            public var malformed: Int
            public var own: Int

            enum CodingKeys: String, CodingKey {
                case forged, replayed, stale, malformed, own
                case otherFolder = "other_folder"
            }

            /// Each reason with its count, in the order of the reply's keys.
            public var byReason: [(reason: String, count: Int)] {
                [("forged", forged), ("malformed", malformed), ("other_folder", otherFolder), ("own", own),
                 ("replayed", replayed), ("stale", stale)]
            }
        }

        enum CodingKeys: String, CodingKey {
            case state, connected, connects, accepted, rejected, jid
            case peersOnline = "peers_online", doorbellsSent = "doorbells_sent", doorbellsReceived = "doorbells_received"
            case alreadyKnown = "already_known", lastError = "last_error", lastSent = "last_sent"
            case lastReceived = "last_received", reconnectAt = "reconnect_at"
        }
    }

    enum CodingKeys: String, CodingKey {
        case pid, folder, remote, state, paused, degraded, watches, overflows, passes, commits, conflicts, events, progress, head, xmpp
        case alerts, devices, device, sequence, pending
        case deviceName = "device_name", readOnly = "read_only", lastVerified = "last_verified", remoteHead = "remote_head"
        case needsRepair = "needs_repair", needsRepairAdvice = "needs_repair_advice"
        case degradedAdvice = "degraded_advice", pendingEvents = "pending_events", lastPush = "last_push", lastFetch = "last_fetch"
        case lastError = "last_error", lastErrorAt = "last_error_at", retryAt = "retry_at"
    }
}

extension DaemonStatusReply {
    /// The reply as the daemon sends it; nil for anything else (an error reply, another program).
    public init?(reply: String) {
        guard let decoded = try? JSONDecoder().decode(DaemonStatusReply.self, from: Data(reply.utf8)) else { return nil }
        self = decoded
    }
}

extension Daemon {
    /// Answers one control request (on the main thread).
    func answer(_ line: String) -> String {
        switch ControlRequest(rawValue: line.trimmedWhitespace) {
        case .ping: return "pong"
        case .pause:
            status.withLock { $0.paused = true; $0.state = "paused" }
            log("paused")
            return "paused"
        case .resume:
            status.withLock { $0.paused = false; $0.state = "idle" }
            log("resumed")
            request(.resume)
            return "resumed"
        case .status: return jsonText(statusReply())
        case .sync, .syncAllowingMassDelete:
            let ticket = requestPass(allowMassDelete: ControlRequest(rawValue: line.trimmedWhitespace) == .syncAllowingMassDelete)
            return jsonText(PassTicket(pass: ticket))
        case .lastPass: return lastPassReply()
        case nil: return "{\"error\": \"unknown request\"}"
        }
    }

    /// The newest finished pass, or `{"pass": 0}` before the first.
    func lastPassReply() -> String {
        lastPass.withLock { $0 }.map { jsonText($0) } ?? jsonText(PassTicket(pass: 0))
    }

    func statusReply() -> DaemonStatusReply {
        let s = status.withLock { $0 }
        let w = watch.withLock { $0 }
        // Verified history and doorbells both tell when a device pushed: the newer wins.
        let pushes = s.devicePushes.merging(w.announcedPushes) { max($0, $1) }
        let config = settings.config
        let progress = s.progress.map { $0.reply(now: monotonicSeconds()) }
        return DaemonStatusReply(
            pid: Int(getpid()), folder: config.folder.description, remote: config.remote, state: s.paused ? "paused" : s.state,
            paused: s.paused, degraded: s.degraded, degradedAdvice: s.degraded ? FolderWatcher.watchLimitAdvice : nil,
            watches: s.watches, overflows: s.overflows, pendingEvents: s.pendingEvents, passes: s.passes, commits: s.commits,
            conflicts: s.folder?.conflictCopies ?? s.conflicts, events: s.events, progress: progress, head: s.folder?.head?.hex ?? s.head,
            lastPush: s.lastPush.map(isoText), lastFetch: s.lastFetch.map(isoText), lastError: s.lastError,
            lastErrorAt: s.lastErrorAt.map(isoText), retryAt: s.retryAt.map(isoText), xmpp: doorbell?.statusReply(),
            alerts: (s.historyAlert.map { [$0] } ?? []) + w.alerts, devices: DevicePush.list(pushes, this: thisDevice),
            device: s.folder?.deviceID, deviceName: s.folder?.deviceName, readOnly: s.folder?.readOnly,
            lastVerified: s.folder?.lastVerified?.hex, remoteHead: s.folder?.remoteHead?.hex, sequence: s.folder?.sequence,
            pending: s.folder?.pending, needsRepair: s.folder?.needsRepair?.message,
            needsRepairAdvice: s.folder?.needsRepair.map { $0.advice.isEmpty ? "run 'shadowsync repair'" : $0.advice })
    }
}
