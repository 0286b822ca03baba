import Foundation

/// A gitolite (Debian's gitolite3) behind the test sshd, as real git hosting runs it: one system account,
/// one forced `gitolite-shell <user>` command per key in authorized_keys, per-user rights in
/// gitolite.conf, gitolite's own update hook in every repository.
public enum Gitolite {
    public static let shell = "/usr/share/gitolite3/gitolite-shell"

    /// Skips only when gitolite3 is not installed and this is not CI (under CI=true the tests must run).
    public static var available: Bool {
        ContinuousIntegration.runs(needing: shell)
    }

    /// One gitolite installation: its home (HOME of the hosting account) and the sshd it is behind.
    public struct Installation: Sendable {
        public let home: String
        public let server: SSHServer.Info
        /// The repository `name` as gitolite stores it.
        public func repositoryPath(_ name: String) -> String { home + "/repositories/\(name).git" }
        /// The URL a client names the repository `name` by.
        public func url(_ name: String) -> String { server.url("/" + name) }

        /// Runs the `gitolite` command with this installation's HOME.
        public func run(_ args: [String]) throws {
            let r = SSHServer.shell(["env", "HOME=\(home)", "/usr/bin/gitolite"] + args)
            guard r.status == 0 else { throw SSHServer.ShellError(description: "gitolite \(args.joined(separator: " ")): \(r.output)") }
        }

        /// Adds `repo name` with `rights` (gitolite.conf lines such as "RW = alice bob"); gitolite creates it.
        public func addRepository(_ name: String, rights: [String]) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: home + "/.gitolite/conf/gitolite.conf"))
            handle.seekToEndOfFile()
            handle.write(Data((["", "repo \(name)"] + rights.map { "    " + $0 } + [""]).joined(separator: "\n").utf8))
            try handle.close()
            try run(["compile"])
            try run(["trigger", "POST_COMPILE"])
        }

        /// Authorises each public key file (user name → file) on the test sshd with its forced
        /// gitolite-shell command: the sshd reads one authorized_keys file, so the lines go there.
        public func authorize(_ keys: [String: String]) throws {
            var lines = ""
            for (name, pub) in keys.sorted(by: { $0.key < $1.key }) {
                let key = try String(contentsOfFile: pub, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                lines += "command=\"HOME=\(home) \(Gitolite.shell) \(name)\",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty \(key)\n"
            }
            let authorized = try FileHandle(forWritingTo: URL(fileURLWithPath: server.base + "/ssh/authorized_keys"))
            authorized.seekToEndOfFile()
            authorized.write(Data(lines.utf8))
            try authorized.close()
        }
    }

    /// Sets gitolite up in `home` with `admin` (public key file `adminKey`) as its administrator.
    public static func install(home: String, admin: String, adminKey: String) throws -> Installation {
        let installation = Installation(home: home, server: try SSHServer.info())
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let adminPub = (home as NSString).deletingLastPathComponent + "/\(admin).pub"
        try? FileManager.default.removeItem(atPath: adminPub)
        try FileManager.default.copyItem(atPath: adminKey, toPath: adminPub)
        try installation.run(["setup", "-pk", adminPub])
        return installation
    }

    /// Makes an ed25519 key pair `directory/name` (and `.pub`), with no passphrase.
    public static func makeKey(_ name: String, in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        let r = SSHServer.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "\(name)-\(getpid())", "-f", path])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
        return path
    }

    /// The process's own gitolite, set up on first use, with one user `tester` whose private key is
    /// `sharedKey`; repositories are added per test with `addRepository`.
    public static let shared: Result<Installation, SSHServer.ShellError> = {
        let base = NSTemporaryDirectory() + "shadowsync-gitolite-\(getpid())"
        do {
            let key = try makeKey("tester", in: base + "/keys")
            let installation = try install(home: base + "/home", admin: "tester", adminKey: key + ".pub")
            try installation.authorize(["tester": key + ".pub"])
            atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "shadowsync-gitolite-\(getpid())") }
            return .success(installation)
        } catch let error as SSHServer.ShellError {
            return .failure(error)
        } catch {
            return .failure(SSHServer.ShellError(description: "gitolite set-up failed: \(error)"))
        }
    }()

    /// The private key of the shared installation's `tester`.
    public static var sharedKey: String { NSTemporaryDirectory() + "shadowsync-gitolite-\(getpid())/keys/tester" }
}
