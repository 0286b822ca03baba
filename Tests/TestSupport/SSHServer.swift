import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The private OpenSSH server of this test process (Tests/ssh-server.sh), started on first use and
/// stopped when the process exits.
public enum SSHServer {
    public struct Info: Sendable {
        public let base: String
        public let port: Int
        public let user: String
        public var knownHosts: String { base + "/known_hosts" }
        public func key(_ name: String) -> String { base + "/keys/" + name }
        /// The server's own fingerprint, as `ssh-keygen -lf` prints it: what a careful user compares.
        public let fingerprint: String
        public let otherHostKeyLine: String
        public func url(_ path: String) -> String { "ssh://\(user)@127.0.0.1:\(port)\(path)" }

        public init(base: String, port: Int, user: String, fingerprint: String, otherHostKeyLine: String) {
            self.base = base
            self.port = port
            self.user = user
            self.fingerprint = fingerprint
            self.otherHostKeyLine = otherHostKeyLine
        }
    }

    /// Skips only when sshd is not installed and this is not CI (under CI=true the tests must run).
    public static var available: Bool {
        ContinuousIntegration.runs(needing: "/usr/sbin/sshd")
    }

    public static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    public static let shared: Result<Info, ShellError> = start()

    public struct ShellError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public static func info() throws -> Info { try shared.get() }

    private static func start() -> Result<Info, ShellError> {
        let base = NSTemporaryDirectory() + "shadowsync-e2e-sshd-\(getpid())"
        // Port 0: the script picks a free port (and retries if it is taken before sshd binds it).
        let (status, output) = shell(["bash", testsDirectory.appendingPathComponent("ssh-server.sh").path, "start", base, "0"])
        guard status == 0, let port = (try? String(contentsOfFile: base + "/port", encoding: .utf8)).flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            return .failure(ShellError(description: "the test sshd did not start: \(output)"))
        }
        stopAtExit(base)
        let user = (try? String(contentsOfFile: base + "/user", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "root"
        let fp = shell(["ssh-keygen", "-lf", base + "/ssh/host_ed25519.pub"]).output.split(separator: " ")[1]
        let other = (try? String(contentsOfFile: base + "/other_host_ed25519.pub", encoding: .utf8))?.split(separator: " ").prefix(2).joined(separator: " ") ?? ""
        return .success(Info(base: base, port: port, user: user, fingerprint: String(fp), otherHostKeyLine: "[127.0.0.1]:\(port) \(other)"))
    }

    nonisolated(unsafe) private static var runningBase: String?

    private static func stopAtExit(_ base: String) {
        runningBase = base
        atexit {
            guard let base = SSHServer.runningBase,
                  let pid = (try? String(contentsOfFile: base + "/ssh/sshd.launcher.pid", encoding: .utf8)).flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            else { return }
            kill(pid, SIGTERM)
            // Wait until it is gone (or a zombie) before its keys and config go.
            for _ in 0..<150 {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                if stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z" { break }
                usleep(20_000)
            }
            try? FileManager.default.removeItem(atPath: base)
        }
    }

    @discardableResult
    public static func shell(_ args: [String], environment: [String: String] = [:], in dir: String? = nil) -> (status: Int32, output: String) {
        guard let command = args.first else { return (127, "no command") }
        do {
            let r = try TestProcess.run(command, Array(args.dropFirst()), environment: environment, directory: dir, stderr: .toStdout)
            return (r.status, r.stdout + (r.timedOut ? r.stderr : ""))
        } catch { return (127, "\(error)") }
    }
}
