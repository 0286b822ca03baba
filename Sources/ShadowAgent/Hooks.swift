import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
import ShadowCore
import ShadowSystem

/// The events a hook can be named after (`<hooks.dir>/<event>` or `<hooks.dir>/<event>.*`).
enum HookEvent: String, Sendable, CaseIterable {
    case commit = "on-commit"
    case push = "on-push"
    case pull = "on-pull"
    case conflict = "on-conflict"
    case error = "on-error"
    /// The server withholds a commit another device announced (a fork or a freeze): see ServerAlert.
    case alert = "on-alert"
}

/// Runs the folder's event hooks, each on its own thread with a time limit, and stops those still
/// running when the daemon stops (as systemd would stop its control group).
final class HookRunner: Sendable {
    /// How long a hook may run before it is killed: hooks notify, they do not work.
    static let timeoutSeconds = 30.0
    /// How often a hook's thread looks whether it has exited.
    static let pollSeconds = 0.1
    /// How long a hook stopped with SIGTERM has before SIGKILL.
    static let termGraceSeconds = 2.0

    private let running = Mutex<[pid_t: ChildProcess]>([:])
    private let log: @Sendable (String) -> Void

    init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    /// Hooks started and not yet exited.
    var runningCount: Int { running.withLock { $0.count } }

    /// Runs every executable `<hooks.dir>/<event>` and `<hooks.dir>/<event>.*` of `config`, with the event
    /// in environment variables (never a secret). A slow, failing or hanging hook never delays a sync.
    func fire(_ event: HookEvent, _ items: [String], head: String?, config: FolderConfig) {
        guard let dir = config.path(.hooksDir), let names = try? FileSystem.list(dir) else { return }
        var env = ProcessInfo.processInfo.environment
        env["SHADOWSYNC_EVENT"] = event.rawValue
        env["SHADOWSYNC_FOLDER"] = config.folder.description
        env["SHADOWSYNC_COUNT"] = String(items.count)
        env["SHADOWSYNC_ITEMS"] = items.prefix(100).joined(separator: "\n")
        env["SHADOWSYNC_HEAD"] = head ?? ""
        for name in names.map({ String(decoding: $0, as: UTF8.self) }).sorted() where name == event.rawValue || name.hasPrefix(event.rawValue + ".") {
            let executable = dir.appending(name), path = executable.description
            guard access(path, X_OK) == 0 else { continue }
            let child: ChildProcess
            do { child = try ChildProcess(executable: executable, environment: env) } catch {
                log("hook \(path) did not start: \(error.message)")
                continue
            }
            running.withLock { $0[child.pid] = child }
            let started = startDetachedThread(name: "shadowsync-hook") { [self] in
                let deadline = monotonicSeconds() + Self.timeoutSeconds
                while child.poll() == nil && monotonicSeconds() < deadline { pause(seconds: Self.pollSeconds) }
                if child.poll() == nil {
                    child.signalGroup(SIGTERM)
                    log("hook \(path) ran longer than \(Int(Self.timeoutSeconds)) s: stopped")
                    pause(seconds: Self.termGraceSeconds)
                    child.signalGroup(SIGKILL)  // one that ignores SIGTERM must not pin this thread
                }
                running.withLock { _ = $0.removeValue(forKey: child.pid) }
            }
            if !started { log("hook \(path): no thread left to time it (out of threads); it runs without a time limit") }
        }
    }

    /// Asks every hook still running to stop.
    func stopAll() {
        running.withLock { for child in $0.values { child.signalGroup(SIGTERM) } }
    }
}
