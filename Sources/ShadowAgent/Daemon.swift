import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
public import ShadowCore
import ShadowEngine
import ShadowSystem

/// Why the worker runs a pass (it shows in the log).
enum PassReason: String, Sendable {
    case startup, changes, poll, rescan, retry, resume
    /// `shadowsync sync` asked the daemon for a pass.
    case command = "sync command"
    /// A verified doorbell announced a head: the pass is skipped when that history is already here.
    case doorbell
    case xmppConnected = "xmpp connected"
    /// A head another device announced is still missing once its grace period is over: fetch once more
    /// before raising a `withheld_commit` alert.
    case recheck = "announced head check"

    /// Whether the pass may scan only the paths the watcher saw change. A start, the safety rescan, a
    /// retry after a failure, a resume and a `sync` command scan the whole folder; so does any pass
    /// after events were lost (`Daemon.fullScanNext`).
    var scansChangesOnly: Bool {
        switch self {
        case .changes, .poll, .doorbell, .recheck: true
        case .startup, .rescan, .retry, .resume, .command, .xmppConnected: false
        }
    }
}

/// What `shadowsync status` shows while the daemon runs.
struct DaemonStatus: Sendable {
    var state = "starting"
    var paused = false
    var degraded = false
    var watches = 0
    var overflows = 0
    var pendingEvents = 0
    var passes = 0
    var commits = 0
    var lastPush: Date?
    var lastFetch: Date?
    var lastError: String?
    var lastErrorAt: Date?
    var head: String?
    var conflicts: [String] = []
    /// When the next retry is due, on the daemon's monotonic clock.
    var retryDue: Double?
    /// The same moment as wall time, for `status`.
    var retryAt: Date?
    var failures = 0
    /// Every inotify event read since start (the benchmark's "events absorbed").
    var events = 0
    /// While a pass runs.
    var progress: PassProgress?
    /// The folder as the last pass left it (read without scanning), for `status`, which then needs
    /// neither the key nor a scan of its own.
    var folder: FolderStatus?
    /// When each device last pushed, from verified history (hex id → Unix milliseconds).
    var devicePushes: [String: UInt64] = [:]
    /// The last pass found the server's branch without a commit this machine verified (a rollback or a
    /// fork): shown among the alerts until a pass succeeds.
    var historyAlert: ServerAlert?
}

/// `shadowsync run`: watches the folder, turns bursts of changes into one signed commit and push,
/// fetches on a timer, answers `status`/`pause`/`resume` on a Unix socket, runs event hooks, and never
/// exits on a network error. The main thread waits on inotify, the socket and signals; one worker
/// thread runs the sync passes (the engine is used from that thread only).
public final class Daemon: @unchecked Sendable {
    let settings: DaemonSettings
    private let engine: SyncEngine
    let status = Mutex(DaemonStatus())
    let log: @Sendable (String) -> Void
    private let hooks: HookRunner
    private let clock: @Sendable () -> Double

    // Worker hand-off: guarded by `condition`.
    private let condition = ConditionLock()
    private var requested: PassReason?
    /// Passes taken from `requested` so far: the number of the newest one (`sync` waits for its ticket).
    private var dequeued = 0
    /// `sync --allow-mass-delete` asked for the next pass.
    private var allowMassDeleteNext = false
    /// What the newest finished pass did (`last-pass`).
    let lastPass = Mutex<PassSummary?>(nil)
    private var stopping = false
    private var workerDone = false
    /// Heads announced by doorbells since the last pass started; a doorbell pass is skipped when every
    /// one of them is already in the local history.
    private var announcedHeads: [ObjectID] = []
    /// Say hello once the pass after a (re)connect has fetched.
    private var helloAfterPass = false
    /// Paths the watcher saw change since the worker last took them (what the next incremental pass
    /// scans), each with whether everything below it changed too.
    private var changedPaths: [PlainPath: Bool] = [:]
    /// The next pass must scan the whole folder: events were lost (queue overflow, a watch set that no
    /// longer matches the tree, directories left unwatched at the watch limit) or a pass failed.
    private var fullScanNext = false
    /// Some directories are unwatched (the watch limit): no pass may trust the events alone.
    private var watcherDegraded = false

    /// The XMPP doorbell, when the folder's config has `xmpp.jid`.
    private(set) var doorbell: DoorbellService?
    /// The local branch head after the last pass.
    private let currentHead = Mutex<ObjectID?>(nil)
    /// The newest head this machine verified on the server or pushed, after the last pass: what a
    /// `hello` carries and is answered with (never a local commit the server has not seen).
    private let serverHead = Mutex<ObjectID?>(nil)
    /// Heads other devices announced, watched until the server shows them (fork and freeze alerts).
    let watch: Mutex<WithheldWatch>
    /// This machine's device id in hex.
    let thisDevice: String

    init(config: FolderConfig, engine: SyncEngine, clock: @escaping @Sendable () -> Double = monotonicSeconds,
         log: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.settings = DaemonSettings(config)
        self.engine = engine
        self.log = log
        self.hooks = HookRunner(log: log)
        self.watch = Mutex(WithheldWatch(alerts: ServerAlertFile.load(config)))
        self.thisDevice = hexString(engine.deviceID)
    }

    static func socketPath(_ config: FolderConfig) -> BytePath { config.state.appending("agent.sock") }

    /// Runs until SIGTERM or SIGINT; returns after the current pass finished and everything is released.
    func run() throws(ShadowError) {
        let config = settings.config
        let signals = try SignalPipe()
        let socket = try ControlSocket(path: Self.socketPath(config))
        let ignore = IgnoreRules.load(folder: config.folder)
        let watcher = try FolderWatcher(root: config.folder) { p, isDirectory in ignore.ignores(p, isDirectory: isDirectory) }
        watcher.watchTree()
        noteWatches(watcher)
        log("watching \(config.folder) (\(watcher.watchCount) directories)\(watcher.degraded ? "; watch limit reached: polling every \(Int(DaemonTiming.degradedPoll)) s — \(FolderWatcher.watchLimitAdvice)" : "")")

        currentHead.withLock { $0 = try? engine.head }
        serverHead.withLock { $0 = engine.lastVerified }
        status.withLock { $0.devicePushes = engine.devicePushes }
        noteFolder()
        for alert in watch.withLock({ $0.alerts }) { log("alert (\(alert.kind)): \(alert.message)") }
        if let bellSettings = try DoorbellService.settings(for: config), let keys = engine.readKeys {
            let bell = DoorbellService(settings: bellSettings, keys: keys, device: engine.deviceID,
                                       handle: { [unowned self] in doorbellRequest($0) }, log: log)
            doorbell = bell
            bell.start()
        }

        guard startDetachedThread(name: "shadowsync-sync", { [self] in workLoop() }) else {
            throw ShadowError(.ioFailure, "could not start the agent's sync thread (out of threads or memory)",
                              advice: "close some programs and start the agent again")
        }
        request(.startup)

        var changes = ChangeCoalescer(quiet: settings.timing.quiet, maxDelay: settings.timing.maxDelay, clock: clock)
        var nextPoll = now() + settings.timing.poll, nextRescan = now() + settings.timing.rescan
        while true {
            let timing = settings.timing
            // A reload applies to the burst already waiting.
            changes.quiet = timing.quiet
            changes.maxDelay = timing.maxDelay
            let paused = status.withLock { $0.paused }
            let retryDue = status.withLock { $0.retryDue }
            let degraded = watcher.degraded
            var due = [nextPoll, nextRescan]
            if let deadline = changes.deadline, !paused { due.append(deadline) }
            if let retryDue, !paused { due.append(retryDue) }
            if degraded { due.append(min(nextPoll, now() + DaemonTiming.degradedPoll)) }
            let recheck = watch.withLock { $0.nextCheck(grace: timing.withheldGrace) }
            if let recheck, !paused { due.append(recheck) }
            let wait = max(0, (due.min() ?? now() + 60) - now())
            let ready = waitReadable([signals.fd, watcher.fd, socket.fd], timeoutMs: Int32(min(wait, 3600) * 1000) + 1)

            if ready.contains(signals.fd) {
                for s in signals.drain() {
                    if s == SIGHUP { reload() } else { condition.withLock { stopping = true } }
                }
            }
            if condition.withLock({ stopping }) { break }
            if ready.contains(watcher.fd) {
                let batch = watcher.drain()
                if batch.overflowed {
                    log("inotify queue overflowed: events were lost; rescanning everything")
                    status.withLock { $0.overflows += 1 }
                }
                if batch.needsRewatch { watcher.watchTree() }
                let eventsLost = batch.overflowed || batch.needsRewatch
                condition.withLock {
                    if eventsLost { fullScanNext = true }
                    for (p, walk) in batch.changed { changedPaths[p] = (changedPaths[p] ?? false) || walk }
                }
                if batch.events > 0 || batch.overflowed {
                    changes.noteEvent()
                    status.withLock { $0.pendingEvents += max(batch.events, 1); $0.events += batch.events }
                }
                noteWatches(watcher)
            }
            if ready.contains(socket.fd) { socket.serveOne { [self] in answer($0) } }

            let t = now()
            if paused { continue }
            if changes.takeIfDue() { request(.changes) }
            // While backing off, polling would only hammer an unreachable remote: the retry fetches.
            if t >= nextPoll || (degraded && t >= (nextPoll - timing.poll + DaemonTiming.degradedPoll)) {
                nextPoll = t + timing.poll
                if retryDue == nil { request(.poll) }
            }
            if t >= nextRescan {
                nextRescan = t + timing.rescan
                watcher.watchTree()
                noteWatches(watcher)
                request(.rescan)
            }
            if let recheck, t >= recheck {
                watch.withLock { $0.recheckRequested(now: t, grace: timing.withheldGrace) }
                request(.recheck)
            }
            if let retryDue, t >= retryDue {
                status.withLock { $0.retryDue = nil; $0.retryAt = nil }
                request(.retry)
            }
        }
        log("stopping: finishing the current step")
        condition.withLock {
            stopping = true
            condition.broadcast()
            while !workerDone { condition.wait() }
        }
        doorbell?.stop()
        hooks.stopAll()
        log("stopped")
    }

    /// Deadlines (quiet period, poll, rescan, retry) are on the monotonic clock: a wall-clock step must
    /// neither stretch nor collapse them. Wall time is only shown (status times).
    private func now() -> Double { clock() }

    private func noteWatches(_ watcher: FolderWatcher) {
        let degraded = watcher.degraded
        condition.withLock { watcherDegraded = degraded }
        status.withLock {
            $0.watches = watcher.watchCount
            $0.degraded = watcher.degraded
        }
    }

    /// Asks the worker for a pass; requests made while one is queued merge into it.
    func request(_ reason: PassReason) {
        condition.withLock {
            // Any other reason outranks a doorbell's: that pass may not be skipped as "already known".
            if requested == nil || requested == .doorbell { requested = reason }
            condition.broadcast()
        }
    }

    private func reload() {
        do {
            let name = settings.config.name
            if let fresh = try FolderRegistry(try UserDirectories.current()).all().first(where: { $0.name == name }) {
                settings.replace(with: fresh)
                log("configuration reloaded")
            }
        } catch {
            log("cannot reload the configuration (keeping the old one): \(error.message)")
        }
    }

    // MARK: The worker

    private func workLoop() {
        while true {
            let next: (PassReason, [ObjectID], Bool, Int, Bool, [PlainPath: Bool]?)? = condition.withLock {
                while requested == nil && !stopping { condition.wait() }
                if stopping { return nil }
                // Taken with the request: an event read from now on belongs to the next pass.
                let changed = fullScanNext || watcherDegraded || !requested!.scansChangesOnly ? nil : changedPaths
                defer {
                    requested = nil; announcedHeads = []; helloAfterPass = false; allowMassDeleteNext = false
                    changedPaths = [:]; fullScanNext = false
                }
                dequeued += 1
                return (requested!, announcedHeads, helloAfterPass, dequeued, allowMassDeleteNext, changed)
            }
            guard let (reason, heads, hello, number, allowMassDelete, changed) = next else { break }
            // A doorbell for history this agent already has (its own push echoed, a peer's old head)
            // costs no fetch.
            if reason == .doorbell, !heads.isEmpty, heads.allSatisfy({ engine.contains($0) }) {
                doorbell?.noteAlreadyKnown()
                watch.withLock { $0.drop(heads) }
                // The changes taken with this request still wait for a pass.
                if let changed { condition.withLock { for (p, walk) in changed { changedPaths[p] = (changedPaths[p] ?? false) || walk } } }
                continue
            }
            pass(reason, number: number, allowMassDelete: allowMassDelete, changed: changed)
            if hello { doorbell?.hello(serverHead.withLock { $0 }) }
            // Between passes and only when nothing waits: no user-visible sync waits for it.
            if condition.withLock({ requested == nil && !stopping }) {
                for line in Workspace.consolidateIfDue(settings.config) { log(line) }
            }
        }
        condition.withLock {
            workerDone = true
            condition.broadcast()
        }
    }

    /// Asks for a pass that starts after this request (`shadowsync sync`) and returns its number.
    func requestPass(allowMassDelete: Bool) -> Int {
        condition.withLock {
            if allowMassDelete { allowMassDeleteNext = true }
            if requested == nil || requested == .doorbell { requested = .command }
            condition.broadcast()
            return dequeued + 1
        }
    }

    private func pass(_ reason: PassReason, number: Int, allowMassDelete: Bool, changed: [PlainPath: Bool]?) {
        let started = now()
        status.withLock { $0.pendingEvents = 0; $0.passes += 1 }
        var options = SyncOptions(allowMassDelete: allowMassDelete)
        options.changedPaths = changed
        options.replaceRevokedHeads = true
        options.onPhase = { [self] phase in
            let t = monotonicSeconds()
            status.withLock { s in
                s.state = phase.rawValue
                if s.progress == nil { s.progress = PassProgress(phase, at: t) } else { s.progress!.enter(phase, at: t) }
            }
        }
        options.onProgress = { [self] p in let t = monotonicSeconds(); status.withLock { $0.progress?.encrypted(p, at: t) } }
        options.onTransfer = { [self] t in status.withLock { $0.progress?.moved(t) } }
        defer {
            noteFolder()
            status.withLock { $0.progress = nil }
            // A pass over a large folder leaves tens of MiB free but mapped; an idle daemon should not hold them.
            ProcessFacts.releaseFreeMemory()
        }
        do throws(ShadowError) {
            let report = try engine.sync(options: options)
            lastPass.withLock { $0 = PassSummary(report, pass: number) }
            if let refused = report.replacedRefused {
                log("replaced the server's head \(refused.short), signed by a revoked device, with \(report.head?.short ?? "")")
            }
            if let rewritten = report.followedRewrite {
                log("moved onto the server's rewritten history (\(rewritten.short)), signed by a writer of the vault")
                for line in Workspace.reclaim(settings.config, remoteToo: false) { log(line) }
            }
            let head = report.head?.short
            currentHead.withLock { $0 = report.head }
            serverHead.withLock { $0 = engine.lastVerified }
            if report.pushed, let pushed = report.head { doorbell?.pushed(pushed) }
            self.status.withLock {
                $0.state = "idle"
                $0.lastFetch = Date()
                if report.pushed { $0.lastPush = Date() }
                if !report.committed.isEmpty { $0.commits += 1 }
                $0.head = report.head?.hex
                $0.conflicts = engine.conflictCopies().map(\.description)
                $0.failures = 0
                $0.retryDue = nil
                $0.retryAt = nil
                $0.lastError = nil
                $0.devicePushes = engine.devicePushes
                $0.historyAlert = nil
            }
            reviewAnnouncements(passStarted: started)
            if !report.retryLater.isEmpty { log("left for the next pass: \(report.retryLater.prefix(5).joined(separator: "; "))") }
            if !report.committed.isEmpty {
                log("committed \(report.committed.count) change(s) (\(reason.rawValue)): \(Self.names(report.committed))")
                hook(.commit, report.committed, head: head)
            }
            if report.pushed { log("pushed \(head ?? "")"); hook(.push, report.committed, head: head) }
            if !report.applied.isEmpty {
                log("applied \(report.applied.count) remote change(s): \(Self.names(report.applied))")
                hook(.pull, report.applied, head: head)
            }
            if !report.conflicts.isEmpty {
                let lines = report.conflicts.map { "\($0)" }
                log("conflicts: \(lines.joined(separator: "; "))")
                hook(.conflict, lines, head: head)
            }
        } catch {
            lastPass.withLock { $0 = PassSummary(failed: error, pass: number) }
            // The paths this pass took are not committed: only a full scan is sure to find them again.
            condition.withLock { fullScanNext = true }
            // A pass for local changes made during a backoff still commits them locally; its failing
            // fetch neither extends the backoff nor repeats the error hook.
            let (backingOff, failures) = status.withLock { s in
                let backingOff = reason != .retry && s.retryDue != nil
                return (backingOff, s.failures + (backingOff ? 0 : 1))
            }
            // Transient: back off (1 s doubling to 5 min). Permanent (a hostile server, a tripped guard):
            // keep the error in status and try again at the next event or poll, never in a tight loop.
            let wait = error.isRetryable ? min(DaemonTiming.maxBackoff, pow(2.0, Double(min(failures - 1, 16)))) : nil
            let delay = wait.map { $0 * Double.random(in: 1.0...1.25) }
            self.status.withLock {
                $0.state = error.isRetryable ? "waiting to retry" : "needs attention"
                $0.failures = failures
                $0.lastError = error.message + (error.advice.isEmpty ? "" : " — " + error.advice)
                $0.lastErrorAt = Date()
                if !backingOff {
                    $0.retryDue = delay.map { now() + $0 }
                    $0.retryAt = delay.map { Date().addingTimeInterval($0) }
                }
            }
            if error.code == .historyRewritten || SyncEngine.refusesServerHead(error) {
                let kind = error.code == .historyRewritten ? ServerAlert.rewrittenHistory : ServerAlert.refusedCommit
                let alert = ServerAlert(kind: kind, message: error.message, advice: error.advice,
                                        device: String(thisDevice.prefix(8)), since: isoText(Date()), commit: "")
                let fresh = status.withLock { s -> Bool in defer { s.historyAlert = s.historyAlert ?? alert }; return s.historyAlert == nil }
                if fresh { hook(.alert, [error.message], head: currentHead.withLock { $0?.short }) }
            }
            if backingOff { return }
            log("sync failed (\(reason.rawValue)): \(error.message)\(wait.map { "; retrying in \(Int($0)) s" } ?? "")")
            hook(.error, [error.message], head: nil)
        }
    }

    /// Keeps what `status` shows of the folder; on the worker (or before it starts), which owns the engine.
    private func noteFolder() {
        let folder = try? engine.status(scanning: false)
        status.withLock { $0.folder = folder ?? $0.folder }
    }

    /// Paths named in one log line; the rest are counted.
    static let loggedNames = 10

    /// Changes ("M path", …) for a log line: the first `loggedNames`, then how many more.
    static func names(_ changes: [String]) -> String {
        changes.prefix(loggedNames).joined(separator: ", ") + (changes.count > loggedNames ? " and \(changes.count - loggedNames) more" : "")
    }

    /// On the notifier's thread: what a verified doorbell or a reconnect asks for. Only requests here;
    /// git work stays on the worker.
    private func doorbellRequest(_ request: DoorbellService.Request) {
        if status.withLock({ $0.paused }) { return }  // resuming runs a pass anyway
        switch request {
        case .connected:
            condition.withLock { helloAfterPass = true }
            self.request(.xmppConnected)
        case .fetch(let announced):
            announce(announced)
        case .hello(let peer, let announced):
            if let head = serverHead.withLock({ $0 }) { doorbell?.tellHead(head, to: peer) }
            if let announced { announce(announced) }
        }
    }

    /// A head a peer pushed or saw on the server: watched until the server shows it, fetched unless here.
    private func announce(_ announced: Announcement) {
        let known = currentHead.withLock { $0 == announced.head }
        let (before, after) = watch.withLock { w in
            let before = w.alerts
            w.heard(announced, at: now(), known: known)
            return (before, w.alerts)
        }
        if before != after { try? ServerAlertFile.save(after, settings.config) }
        if known { doorbell?.noteAlreadyKnown(); return }
        condition.withLock { announcedHeads.append(announced.head) }
        request(.doorbell)
    }

    // MARK: Fork and freeze alerts

    /// After a pass that fetched: announced heads now here are settled; those still missing past their
    /// grace period become alerts (kept in the state directory, logged, and given to the on-alert hook).
    private func reviewAnnouncements(passStarted: Double) {
        let grace = settings.timing.withheldGrace
        let (raised, cleared, alerts) = watch.withLock { w in
            let r = w.review(passStarted: passStarted, grace: grace) { engine.contains($0) }
            return (r.raised, r.cleared, w.alerts)
        }
        guard !raised.isEmpty || !cleared.isEmpty else { return }
        do { try ServerAlertFile.save(alerts, settings.config) } catch {
            log("cannot record the alerts in \(ServerAlertFile.path(settings.config)): \(error.message)")
        }
        for alert in cleared { log("the server now shows commit \(alert.commit.prefix(12)) of device \(alert.device): alert cleared") }
        for alert in raised {
            log("alert (\(alert.kind)): \(alert.message) — \(alert.advice)")
            hook(.alert, [alert.message], head: currentHead.withLock { $0?.short })
        }
    }

    // MARK: Event hooks

    /// Runs the event's hooks with the configuration as it is now (a reload may come at any moment).
    private func hook(_ event: HookEvent, _ items: [String], head: String?) {
        hooks.fire(event, items, head: head, config: settings.config)
    }
}

extension Workspace {
    /// `shadowsync run`: the daemon for the folder containing `path`.
    public func run(_ path: BytePath?, log: @escaping @Sendable (String) -> Void) throws(ShadowError) {
        let (config, engine) = try open(path, lockWait: DaemonTiming.lockWait)
        // Each line carries its time (UTC, to the millisecond): a log read later, or without journald, says when.
        try Daemon(config: config, engine: engine, log: { line in log("\(isoTimeMillis(UInt64(max(0, Date().timeIntervalSince1970 * 1000)))) \(line)") }).run()
    }

    /// Asks the folder's daemon; `.notFound` when none runs.
    public func askDaemon(_ path: BytePath?, _ request: ControlRequest) throws(ShadowError) -> String {
        try ControlClient.request(Daemon.socketPath(try config(path)), request.rawValue)
    }
}
