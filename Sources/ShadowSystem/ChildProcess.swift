#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore
import Synchronization

/// A child process (an event hook) started in a process group of its own, so that stopping it also
/// stops whatever it started: a shell script's `sleep` would otherwise outlive it and keep our
/// standard error open. Standard input is /dev/null; its output goes to our standard error.
public final class ChildProcess: Sendable {
    public let pid: Int32
    /// Set once, by whichever thread reaps the child.
    private let exitStatus = Mutex<Int32?>(nil)

    public init(executable: BytePath, environment: [String: String]) throws(ShadowError) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Our own signal set-up must not leak into the child: we ignore SIGPIPE and may block others.
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)

        let path = executable.description
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = executable.withCString { posix_spawn(&child, $0, &actions, &attributes, &argv, &envp) }
        guard rc == 0 else {
            throw ShadowError(.ioFailure, "cannot start \(executable): \(String(cString: strerror(rc)))",
                              advice: "check that it is an executable file with a valid #! line")
        }
        pid = child
    }

    /// The exit status once the child has ended (a signal shows as 128 + its number), nil while it runs.
    public func poll() -> Int32? {
        exitStatus.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            let signal = status & 0x7f
            known = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            return known
        }
    }

    /// Sends `signal` to the child's whole process group (not once it is reaped: its pid may be reused).
    public func signalGroup(_ signal: Int32) {
        exitStatus.withLock { known in if known == nil { _ = kill(-pid, signal) } }
    }

    deinit {
        // Reap it so no zombie stays; a child still running at this point is stopped first.
        if poll() == nil {
            signalGroup(SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }
}
