import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// glibc functions declared only under _GNU_SOURCE, which Swift's Glibc module does not define: looked
/// up at run time.
enum GNU {
    static func function<T>(_ name: String, _ type: T.Type) -> T {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("this glibc lacks \(name)") }
        return unsafeBitCast(address, to: type)
    }
    nonisolated(unsafe) static let pipe2 = function("pipe2", (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32).self)
    nonisolated(unsafe) static let addchdir = function("posix_spawn_file_actions_addchdir_np",
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32).self)
    nonisolated(unsafe) static let renameat2 = function("renameat2",
        (@convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32).self)
    nonisolated(unsafe) static let addclosefrom = function("posix_spawn_file_actions_addclosefrom_np",
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
}

/// How a child's standard output or error is handled.
public enum TestProcessOutput: Sendable {
    /// Collected in memory, drained as it comes so the child never blocks on a full pipe.
    case capture
    /// /dev/null.
    case discard
    /// Standard error only: into the same pipe as standard output, interleaved as written.
    case toStdout
}

/// What a finished child did.
public struct TestProcessOutcome: Sendable, CustomStringConvertible {
    public let command: [String]
    /// The exit code; 128 + the signal's number when a signal ended it (137 for the timeout's SIGKILL).
    public let status: Int32
    public let stdoutBytes: [UInt8]
    public let stderrBytes: [UInt8]
    /// Killed by `TestProcess` because it outlived its timeout.
    public let timedOut: Bool
    /// A descendant still held its output open after it exited; what was read until then is kept.
    public let outputLeftOpen: Bool

    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    /// Its standard error, with a line saying so when the timeout killed it.
    public var stderr: String {
        String(decoding: stderrBytes, as: UTF8.self) + (timedOut ? "\n[killed: still running at its timeout]\n" : "")
    }
    public var description: String {
        "\(command.joined(separator: " ")) -> \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// A child process for tests: started with posix_spawn in a process group of its own, its standard
/// output and error drained together by one thread (so a child filling either pipe never deadlocks
/// us), optional bytes fed to its standard input, an environment and a working directory, and a
/// timeout after which its whole group is killed. The one way the tests start programs.
public final class TestProcess: Sendable {
    public let pid: pid_t
    public let command: [String]
    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var status: Int32?
        var timedOut = false
        var outputLeftOpen = false
    }
    /// What the I/O thread and the handle share: the thread keeps it (not the handle) alive, so a
    /// handle dropped early still kills its child in `deinit`.
    private final class Shared: Sendable {
        let state = Mutex(State())
        /// Signalled once the child is reaped and its output read to the end.
        let finished = DispatchSemaphore(value: 0)
    }
    private let shared = Shared()

    /// How long output may stay open after the child exited: a background grandchild that inherited
    /// it (a server a script launched) must not hold up the test.
    static let outputGraceSeconds = 2.0
    /// How long the I/O thread sleeps in poll(2) between checks on the child.
    static let pollMilliseconds: Int32 = 20

    /// The test process inherits the runner's SIGPIPE disposition; a child closing its standard input
    /// early must fail our write with EPIPE, not kill the test process.
    private static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`. The environment is
    /// this process's, with `environment` merged over it and `unset` removed (or exactly
    /// `environment` when `inherit` is false).
    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], unset: [String] = [],
                inherit: Bool = true, directory: String? = nil, stdin: [UInt8]? = nil,
                stdout: TestProcessOutput = .capture, stderr: TestProcessOutput = .capture) throws {
        _ = Self.ignoreSIGPIPE
        command = [executable] + arguments
        var env = inherit ? ProcessInfo.processInfo.environment : [:]
        env.merge(environment) { _, new in new }
        for key in unset { env[key] = nil }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The test runner blocks some signals in its threads; the child must start with a clean slate.
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Every pipe end is close-on-exec, so a child started concurrently by another test never
        // inherits (and holds open) this child's pipes; dup2 onto 0-2 clears the flag for ours.
        var ours: [Int32] = []  // parent ends
        var theirs: [Int32] = []  // child ends, closed in the parent after the spawn
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard GNU.pipe2(&fds, O_CLOEXEC) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            return (fds[0], fds[1])
        }
        var stdinWrite: Int32 = -1, stdoutRead: Int32 = -1, stderrRead: Int32 = -1
        do {
            if stdin != nil {
                let p = try makePipe()
                stdinWrite = p.write; ours.append(p.write); theirs.append(p.read)
                posix_spawn_file_actions_adddup2(&actions, p.read, 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            switch stdout {
            case .capture, .toStdout:
                let p = try makePipe()
                stdoutRead = p.read; ours.append(p.read); theirs.append(p.write)
                posix_spawn_file_actions_adddup2(&actions, p.write, 1)
            case .discard:
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            }
            switch stderr {
            case .capture:
                let p = try makePipe()
                stderrRead = p.read; ours.append(p.read); theirs.append(p.write)
                posix_spawn_file_actions_adddup2(&actions, p.write, 2)
            case .discard:
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            case .toStdout:
                if stdoutRead >= 0 {
                    posix_spawn_file_actions_adddup2(&actions, 1, 2)
                } else {
                    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                }
            }
        } catch {
            for fd in ours + theirs { close(fd) }
            throw error
        }
        if let directory { _ = GNU.addchdir(&actions, directory) }
        // Nothing else of ours leaks into the child (descriptors opened without close-on-exec).
        _ = GNU.addclosefrom(&actions, 3)

        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = executable.withCString { posix_spawnp(&child, $0, &actions, &attributes, &argv, &envp) }
        for fd in theirs { close(fd) }
        guard rc == 0 else {
            for fd in ours { close(fd) }
            throw TestProcessError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        let io = IO(stdinWrite: stdinWrite, stdinBytes: stdin ?? [], stdoutRead: stdoutRead, stderrRead: stderrRead)
        let shared = self.shared, pid = child
        Thread.detachNewThread { Self.drain(io, pid: pid, shared: shared) }
    }

    private struct IO: Sendable {
        var stdinWrite: Int32, stdinBytes: [UInt8], stdoutRead: Int32, stderrRead: Int32
    }

    /// The I/O thread: feeds standard input, drains both outputs, and reaps the child.
    private static func drain(_ io: IO, pid: pid_t, shared: Shared) {
        var io = io
        var written = 0
        var exitedAt: Date?
        if io.stdinWrite >= 0 {
            _ = fcntl(io.stdinWrite, F_SETFL, fcntl(io.stdinWrite, F_GETFL) | O_NONBLOCK)
            if io.stdinBytes.isEmpty { close(io.stdinWrite); io.stdinWrite = -1 }
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func reap(block: Bool) {
            var status: Int32 = 0
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            guard r == pid else {
                if r < 0 && errno != EINTR { shared.state.withLock { if $0.status == nil { $0.status = -1 } }; exitedAt = exitedAt ?? Date() }
                return
            }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            let signal = status & 0x7f
            shared.state.withLock { $0.status = signal == 0 ? (status >> 8) & 0xff : 128 + signal }
            exitedAt = Date()
        }
        while true {
            var fds: [pollfd] = []
            if io.stdoutRead >= 0 { fds.append(pollfd(fd: io.stdoutRead, events: Int16(POLLIN), revents: 0)) }
            if io.stderrRead >= 0 { fds.append(pollfd(fd: io.stderrRead, events: Int16(POLLIN), revents: 0)) }
            if io.stdinWrite >= 0 { fds.append(pollfd(fd: io.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            if fds.isEmpty {
                while exitedAt == nil { reap(block: true) }
                break
            }
            let n = poll(&fds, nfds_t(fds.count), Self.pollMilliseconds)
            if n > 0 {
                for p in fds where p.revents != 0 {
                    if p.fd == io.stdinWrite {
                        let w = io.stdinBytes[written...].withUnsafeBytes { write(p.fd, $0.baseAddress, $0.count) }
                        if w > 0 { written += w }
                        if (w < 0 && errno != EAGAIN && errno != EINTR) || written == io.stdinBytes.count {
                            close(p.fd); io.stdinWrite = -1
                        }
                        continue
                    }
                    let r = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                    if r > 0 {
                        let chunk = buffer[0..<r]
                        let isOut = p.fd == io.stdoutRead
                        shared.state.withLock { if isOut { $0.stdout += chunk } else { $0.stderr += chunk } }
                    } else if r == 0 || (errno != EINTR && errno != EAGAIN) {
                        close(p.fd)
                        if p.fd == io.stdoutRead { io.stdoutRead = -1 } else { io.stderrRead = -1 }
                    }
                }
            }
            if exitedAt == nil { reap(block: false) }
            if let exitedAt, Date().timeIntervalSince(exitedAt) > Self.outputGraceSeconds {
                shared.state.withLock { $0.outputLeftOpen = true }
                break
            }
        }
        for fd in [io.stdinWrite, io.stdoutRead, io.stderrRead] where fd >= 0 { close(fd) }
        while exitedAt == nil { reap(block: true) }
        shared.finished.signal()
    }

    /// Whether the child has not been reaped yet.
    public var isRunning: Bool { shared.state.withLock { $0.status == nil } }
    /// The exit status once it ended (128 + signal when a signal ended it), nil while it runs.
    public var exitStatus: Int32? { shared.state.withLock { $0.status } }
    public var processIdentifier: pid_t { pid }

    /// What it wrote to standard output and error so far.
    public var stdoutSoFar: String { String(decoding: shared.state.withLock { $0.stdout }, as: UTF8.self) }
    public var stderrSoFar: String { String(decoding: shared.state.withLock { $0.stderr }, as: UTF8.self) }

    /// Sends `signal` to the child alone (not once it is reaped: its pid may be reused).
    public func signal(_ signal: Int32) {
        shared.state.withLock { if $0.status == nil { _ = kill(pid, signal) } }
    }

    /// Sends `signal` to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        shared.state.withLock { if $0.status == nil { _ = kill(-pid, signal) } }
    }

    /// Waits for it to end, up to `timeout` seconds (nil: forever); past that its process group is
    /// killed (SIGKILL) and the outcome says it timed out.
    @discardableResult
    public func wait(timeout: Double? = nil) -> TestProcessOutcome {
        let finished = shared.finished
        let inTime: Bool
        if let timeout {
            inTime = finished.wait(timeout: .now() + timeout) == .success
        } else {
            finished.wait()
            inTime = true
        }
        if !inTime {
            shared.state.withLock {
                if $0.status == nil {
                    $0.timedOut = true
                    _ = kill(-pid, SIGKILL)
                    _ = kill(pid, SIGKILL)
                }
            }
            finished.wait()
        }
        finished.signal()  // later waits return at once
        return shared.state.withLock {
            TestProcessOutcome(command: command, status: $0.status ?? -1, stdoutBytes: $0.stdout, stderrBytes: $0.stderr,
                               timedOut: $0.timedOut, outputLeftOpen: $0.outputLeftOpen)
        }
    }

    /// Waits until its standard output (or error) contains `text`, or it exits, up to `timeout` seconds.
    public func waitForOutput(_ text: String, stderr: Bool = false, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (stderr ? stderrSoFar : stdoutSoFar).contains(text) { return true }
            if !isRunning { return (stderr ? stderrSoFar : stdoutSoFar).contains(text) }
            usleep(10_000)
        }
        return false
    }

    /// Runs a command to its end: see `init` and `wait`.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], unset: [String] = [],
                           inherit: Bool = true, directory: String? = nil, stdin: [UInt8]? = nil,
                           stdout: TestProcessOutput = .capture, stderr: TestProcessOutput = .capture,
                           timeout: Double? = defaultTimeoutSeconds) throws -> TestProcessOutcome {
        try TestProcess(executable, arguments, environment: environment, unset: unset, inherit: inherit, directory: directory,
                        stdin: stdin, stdout: stdout, stderr: stderr).wait(timeout: timeout)
    }

    /// A command that runs longer than this is stuck: killed, so its test fails instead of stalling the suite.
    public static let defaultTimeoutSeconds: Double = 600

    deinit {
        // No zombie and no orphaned group: a child still running when its handle goes is killed.
        signalGroup(SIGKILL)
    }
}

public struct TestProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
