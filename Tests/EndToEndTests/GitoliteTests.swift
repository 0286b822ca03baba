import Foundation
import Testing
import TestSupport

/// Two folders through gitolite behind the test sshd (TestSupport's `Gitolite`).
@Suite(.serialized, .enabled(if: SSHServer.available && Gitolite.available)) struct GitoliteTests {
    @Test func twoFoldersSyncThroughGitolite() throws {
        let server = try SSHServer.info()
        let s = try Scratch("gitolite")
        let keys = s.root.appendingPathComponent("keys").path
        for name in ["alice", "bob", "carol"] { _ = try Gitolite.makeKey(name, in: keys) }
        let gitolite = try Gitolite.install(home: s.root.appendingPathComponent("gitolite/home").path, admin: "alice", adminKey: "\(keys)/alice.pub")
        // carol has a key on the host but no right to the vault.
        try gitolite.addRepository("vault", rights: ["RW = alice bob"])
        try gitolite.authorize(["alice": "\(keys)/alice.pub", "bob": "\(keys)/bob.pub", "carol": "\(keys)/carol.pub"])
        let url = gitolite.url("vault")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("notes/plan.txt", "v1\n")
        try a.ok(["init", a.folder, "--remote", url, "--no-passphrase", "--ssh-key", "\(keys)/alice", "--known-hosts", server.knownHosts])
        let key = try a.exportKey()
        try b.ok(["join", url, b.folder, "--key-file", key, "--no-passphrase", "--ssh-key", "\(keys)/bob", "--known-hosts", server.knownHosts])
        #expect(b.read("notes/plan.txt") == "v1\n")
        let repository = gitolite.repositoryPath("vault")
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
