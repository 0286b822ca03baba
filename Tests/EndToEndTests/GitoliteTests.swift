import Foundation
import Testing
import TestSupport

/// A gitolite (Debian's gitolite3) behind the test sshd, as real git hosting runs it: one system account,
/// one forced `gitolite-shell <user>` command per key in authorized_keys, per-user rights in
/// gitolite.conf, gitolite's own update hook in every repository.
enum Gitolite {
    static let shell = "/usr/share/gitolite3/gitolite-shell"

    /// Skips only when gitolite3 is not installed and this is not CI (under CI=true the test must run).
    static var available: Bool {
        FileManager.default.fileExists(atPath: shell) || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// Sets gitolite up in `home` with `admin` as its administrator, adds `repo vault` with `rights`
    /// (gitolite.conf lines such as "RW = alice bob"), and authorises each of `keys` (name → public key
    /// file) on the test sshd with its forced gitolite-shell command.
    static func setUp(home: String, admin: String, adminKey: String, rights: [String], keys: [String: String],
                      server: SSHServer.Info) throws {
        func run(_ args: [String]) throws {
            let r = SSHServer.shell(["env", "HOME=\(home)", "/usr/bin/gitolite"] + args)
            guard r.status == 0 else { throw SSHServer.ShellError(description: "gitolite \(args.joined(separator: " ")): \(r.output)") }
        }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let adminPub = (home as NSString).deletingLastPathComponent + "/\(admin).pub"
        try FileManager.default.copyItem(atPath: adminKey, toPath: adminPub)
        try run(["setup", "-pk", adminPub])
        let conf = home + "/.gitolite/conf/gitolite.conf"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: conf))
        handle.seekToEndOfFile()
        handle.write(Data((["", "repo vault"] + rights.map { "    " + $0 } + [""]).joined(separator: "\n").utf8))
        try handle.close()
        try run(["compile"])
        try run(["trigger", "POST_COMPILE"])
        // The test sshd reads one authorized_keys file: gitolite's lines are appended there, with its HOME.
        var lines = ""
        for (name, pub) in keys.sorted(by: { $0.key < $1.key }) {
            let key = try String(contentsOfFile: pub, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            lines += "command=\"HOME=\(home) \(shell) \(name)\",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty \(key)\n"
        }
        let authorized = try FileHandle(forWritingTo: URL(fileURLWithPath: server.base + "/ssh/authorized_keys"))
        authorized.seekToEndOfFile()
        authorized.write(Data(lines.utf8))
        try authorized.close()
    }
}

@Suite(.serialized, .enabled(if: SSHServer.available && Gitolite.available)) struct GitoliteTests {
    @Test func twoFoldersSyncThroughGitolite() throws {
        let server = try SSHServer.info()
        let s = try Scratch("gitolite")
        let keys = s.root.appendingPathComponent("keys").path
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        for name in ["alice", "bob", "carol"] {
            let r = SSHServer.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "\(name)-\(getpid())", "-f", "\(keys)/\(name)"])
            #expect(r.status == 0, "\(r.output)")
        }
        let home = s.root.appendingPathComponent("gitolite/home").path
        // carol has a key on the host but no right to the vault.
        try Gitolite.setUp(home: home, admin: "alice", adminKey: "\(keys)/alice.pub", rights: ["RW = alice bob"],
                           keys: ["alice": "\(keys)/alice.pub", "bob": "\(keys)/bob.pub", "carol": "\(keys)/carol.pub"], server: server)
        let url = server.url("/vault")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("notes/plan.txt", "v1\n")
        try a.ok(["init", a.folder, "--remote", url, "--no-passphrase", "--ssh-key", "\(keys)/alice", "--known-hosts", server.knownHosts])
        let key = try a.exportKey()
        try b.ok(["join", url, b.folder, "--key-file", key, "--no-passphrase", "--ssh-key", "\(keys)/bob", "--known-hosts", server.knownHosts])
        #expect(b.read("notes/plan.txt") == "v1\n")
        let repository = home + "/repositories/vault.git"
        #expect(SSHServer.shell(["git", "-C", repository, "rev-parse", "main"]).status == 0, "the vault lives in gitolite's repository")

        try b.write("notes/plan.txt", "v2 from b\n")
        try b.write("b.txt", "b\n")
        try b.sync()
        try a.sync()
        #expect(a.read("notes/plan.txt") == "v2 from b\n" && a.read("b.txt") == "b\n")
        try a.remove("b.txt")
        try a.write("a.txt", "a\n")
        try a.sync()
        try b.sync()
        #expect(a.snapshot() == b.snapshot() && b.read("b.txt") == nil)

        // Gitolite's own rules hold: no rewind with RW (its update hook refuses it), no access for carol.
        let head = SSHServer.shell(["git", "-C", repository, "rev-parse", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let rewind = SSHServer.shell(["git", "-c", "core.sshCommand=ssh -i \(keys)/bob -o IdentitiesOnly=yes -o UserKnownHostsFile=\(server.knownHosts) -p \(server.port)",
                                      "push", "--force", "ssh://\(server.user)@127.0.0.1/vault", "\(head)~1:refs/heads/main"], in: repository)
        #expect(rewind.status != 0 && rewind.output.contains("DENIED"), "\(rewind.output)")
        let refused = try c.run(["join", url, c.folder, "--key-file", key, "--no-passphrase", "--ssh-key", "\(keys)/carol", "--known-hosts", server.knownHosts])
        #expect(refused.status == 2, "a refusal is not retried: \(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("refused this key access to /vault") && refused.stderr.contains("DENIED"), "\(refused.stderr)")
        #expect(refused.stderr.contains("RW in gitolite.conf"), "\(refused.stderr)")
        #expect(c.read("notes/plan.txt") == nil)
    }
}
