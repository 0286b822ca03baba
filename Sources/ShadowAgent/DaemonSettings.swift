import Synchronization

/// Timing of the live agent, from the folder's config (Docs/OPERATIONS.md, "The live agent").
struct DaemonTiming: Sendable {
    /// Quiet period: a save storm is committed once the folder has been still this long (Syncthing's
    /// fs watcher waits 10 s; an editor's save settles within milliseconds, so 1 s is enough here).
    var quiet: Double
    /// A storm that never pauses is still committed this long after its first event.
    var maxDelay: Double
    /// Fetch interval without events: the fallback when no doorbell is configured.
    var poll: Double
    /// Full rescan interval even without events: inotify can miss what happens on other mounts.
    var rescan: Double
    /// How long a head another device announced may be missing from the server's history before a
    /// `withheld_commit` alert: a push is visible at once on one git server, so this only covers a
    /// fetch that raced the push and hosts that replicate with a delay.
    var withheldGrace: Double
    static let defaultWithheldGraceSeconds = 120
    /// Polling interval for the part of the tree inotify cannot watch (watch limit reached).
    static let degradedPoll = 10.0
    /// Longest wait between retries after transient failures (doubling from 1 s).
    static let maxBackoff = 300.0
    /// How long `run` waits for a one-shot command (a `sync`, a `status` without a daemon) to release
    /// the folder before concluding that another daemon holds it. A no-op sync takes well under 1 s.
    static let lockWait = 5.0

    init(_ config: FolderConfig) {
        quiet = Double(config.integer(.syncQuietMs, 1000)) / 1000
        maxDelay = Double(config.integer(.syncMaxDelayMs, 10_000)) / 1000
        poll = Double(config.integer(.syncPollSeconds, 60))
        rescan = Double(config.integer(.syncRescanSeconds, 3600))
        withheldGrace = Double(config.integer(.syncWithheldSeconds, DaemonTiming.defaultWithheldGraceSeconds))
    }
}

/// The daemon's configuration, replaced whole on SIGHUP: the main thread reloads it while the worker
/// (hooks) and the control socket read it, so every reader gets one consistent snapshot under a lock.
final class DaemonSettings: Sendable {
    struct Snapshot: Sendable {
        let config: FolderConfig
        let timing: DaemonTiming
    }

    private let current: Mutex<Snapshot>

    init(_ config: FolderConfig) {
        current = Mutex(Snapshot(config: config, timing: DaemonTiming(config)))
    }

    var snapshot: Snapshot { current.withLock { $0 } }
    var config: FolderConfig { snapshot.config }
    var timing: DaemonTiming { snapshot.timing }

    func replace(with config: FolderConfig) {
        let fresh = Snapshot(config: config, timing: DaemonTiming(config))
        current.withLock { $0 = fresh }
    }
}
