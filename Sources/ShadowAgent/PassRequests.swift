public import FoundationEssentials
public import ShadowCore
public import ShadowEngine
import ShadowSystem

/// What one pass did, as `sync` prints it: the same whether this process ran the pass or asked the
/// folder's daemon for it over the control socket (`last-pass` reply).
public struct PassSummary: Codable, Sendable {
    /// The daemon's number of the pass (0 for a pass this process ran).
    public var pass: Int
    public var committed: [String]
    public var applied: [String]
    /// "path: reason; the other version is at copy".
    public var conflicts: [String]
    public var retryLater: [String]
    public var skipped: [String]
    public var readOnly: Bool
    public var notPushed: [String]
    public var pushed: Bool
    /// Full commit id of the head after the pass.
    public var head: String?
    /// Set when the pass failed: the error as the daemon saw it.
    public var error: PassError?
    /// How a one-shot push rang the doorbell (nil: nothing pushed, no doorbell configured, or a daemon rang it).
    public var doorbell: String?
    /// The refused server head this pass replaced by a signed rewrite (`sync --replace-refused`).
    public var replacedRefused: String?
    /// The rewritten server head this pass moved onto (another machine ran `forget`, say).
    public var followedRewrite: String?

    public struct PassError: Codable, Sendable {
        public var code: String
        public var message: String
        public var advice: String

        /// The error again, with its code, so the command exits as if it had failed here.
        public var shadowError: ShadowError {
            ShadowError(ShadowError.Code(rawValue: code) ?? .ioFailure, message, advice: advice)
        }
    }

    enum CodingKeys: String, CodingKey {
        case pass, committed, applied, conflicts, skipped, pushed, head, error, doorbell
        case retryLater = "retry_later", readOnly = "read_only", notPushed = "not_pushed"
        case replacedRefused = "replaced_refused", followedRewrite = "followed_rewrite"
    }

    public init(_ report: SyncReport, pass: Int = 0) {
        self.pass = pass
        committed = report.committed
        applied = report.applied
        conflicts = report.conflicts.map(\.description)
        retryLater = report.retryLater
        skipped = report.skipped
        readOnly = report.readOnly
        notPushed = report.notPushed
        pushed = report.pushed
        head = report.head?.hex
        replacedRefused = report.replacedRefused?.hex
        followedRewrite = report.followedRewrite?.hex
    }

    init(failed error: ShadowError, pass: Int) {
        self.pass = pass
        committed = []; applied = []; conflicts = []; retryLater = []; skipped = []; notPushed = []
        readOnly = false
        pushed = false
        self.error = PassError(code: error.code.rawValue, message: error.message, advice: error.advice)
    }
}

/// The daemon's answer to `sync`: the pass that will include the request (`last-pass` shows it done
/// once its `pass` is at least this).
struct PassTicket: Codable {
    var pass: Int
}

extension Workspace {
    /// How often a `sync` beside a daemon asks whether its pass is done.
    static let passPollSeconds = 0.1

    /// `shadowsync sync`: one full pass. Beside a running daemon the daemon runs it (the daemon holds the
    /// folder) and this waits for its result; otherwise this process takes the folder's lock and runs it.
    /// `onWaiting` is called with the daemon's status while its pass runs (a progress line).
    public func sync(_ path: BytePath?, options: SyncOptions,
                     onWaiting: ((DaemonStatusReply) -> Void)? = nil) throws(ShadowError) -> PassSummary {
        let config = try config(path)
        let socket = Daemon.socketPath(config)
        if (try? ControlClient.request(socket, ControlRequest.ping.rawValue)) == "pong" {
            // Taking another line of history is a person's one-off decision, never a daemon's pass.
            if options.acceptFork || options.replaceRefused {
                throw ShadowError(.locked, "the folder's daemon holds \(config.folder); \(options.acceptFork ? "--accept-fork" : "--replace-refused") runs only without it",
                                  advice: "stop the daemon ('systemctl --user stop shadowsync@…', or end 'shadowsync run'), run the sync, then start it again")
            }
            return try syncThroughDaemon(config, allowMassDelete: options.allowMassDelete, onWaiting: onWaiting)
        }
        let (_, engine) = try open(path)
        _ = Unmanaged.passRetained(engine)  // as in syncOnce: freeing a large index costs more than exiting
        let report = try engine.sync(options: options)
        var summary = PassSummary(report)
        ServerAlertFile.prune(config) { engine.contains($0) }
        if report.followedRewrite != nil { _ = Workspace.reclaim(config, remoteToo: false) }
        if summary.pushed || FileSystem.exists(Self.unannouncedFile(config)) { summary.doorbell = ringAfterPush(config, engine)?.description }
        // After the push and the doorbell: other machines are not kept waiting for it. Usually two
        // directory listings; a consolidation, when due, rewrites the recent objects once (Docs/BENCHMARKS.md).
        _ = Workspace.consolidateIfDue(config)
        return summary
    }

    /// After a push by this process (no daemon holds the folder, so none rings): a short XMPP login of
    /// its own when the folder has a doorbell. A push it could not announce (no doorbell configured yet,
    /// as after a plain `join`, or the ring failed) is remembered, and the next one-shot `sync` rings
    /// for it even with nothing new to push.
    func ringAfterPush(_ config: FolderConfig, _ engine: SyncEngine) -> OneShotRing? {
        guard let head = try? engine.head else { return nil }
        let ring = DoorbellService.ringOnce(config, keys: engine.readKeys, device: engine.deviceID, head: head)
        let marker = Self.unannouncedFile(config)
        switch ring {
        case .rang?, .nobodyOnline?: try? FileSystem.removeTree(marker)  // offline agents fetch at their next hello
        case .failed?, nil: try? FileSystem.writeAtomically(Array((head.hex + "\n").utf8), to: marker, mode: 0o600, durable: false)
        }
        return ring
    }

    /// Names the last one-shot push no doorbell announced.
    static func unannouncedFile(_ config: FolderConfig) -> BytePath { config.state.appending("unannounced-push") }

    func syncThroughDaemon(_ config: FolderConfig, allowMassDelete: Bool,
                           onWaiting: ((DaemonStatusReply) -> Void)?) throws(ShadowError) -> PassSummary {
        let socket = Daemon.socketPath(config)
        let request: ControlRequest = allowMassDelete ? .syncAllowingMassDelete : .sync
        let reply = try ControlClient.request(socket, request.rawValue)
        guard let ticket = try? JSONDecoder().decode(PassTicket.self, from: Data(reply.utf8)) else {
            throw ShadowError(.ioFailure, "the folder's daemon did not accept the sync request (it answered '\(reply.prefix(80))')",
                              advice: "restart it with the same version of shadowsync ('systemctl --user restart shadowsync@…' or stop and start 'shadowsync run')")
        }
        while true {
            let text: String
            do { text = try ControlClient.request(socket, ControlRequest.lastPass.rawValue) } catch {
                throw ShadowError(.remoteUnavailable, "the folder's daemon stopped before its pass finished",
                                  advice: "run 'shadowsync sync' again (it runs the pass itself when no daemon runs)")
            }
            if let done = try? JSONDecoder().decode(PassSummary.self, from: Data(text.utf8)), done.pass >= ticket.pass {
                if let error = done.error { throw error.shadowError }
                return done
            }
            if let onWaiting, let status = (try? ControlClient.request(socket, ControlRequest.status.rawValue)).flatMap(DaemonStatusReply.init(reply:)) {
                onWaiting(status)
            }
            pause(seconds: Self.passPollSeconds)
        }
    }
}
