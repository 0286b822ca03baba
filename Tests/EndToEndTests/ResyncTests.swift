import Foundation
import Testing
import TestSupport

/// `shadowsync resync`: the recovery after a fork, a move to a new repository, or a server restored
/// from a backup. Every machine ends with every side's files, and nothing a user saved is lost.
@Suite(.serialized) struct ResyncTests {
    /// The server forks history over SSH (main put back to an old commit, where C commits on top): B,
    /// whose verified head is gone, is refused by `sync`; `resync` takes the server's line, keeps B's
    /// files and both versions of the file the two lines changed, and pushes; C then syncs as usual, and
    /// A (on B's old line) recovers the same way.
    @Test(.enabled(if: SSHServer.available)) func resyncAfterAForkLeavesBothSidesFilesOnBothMachines() throws {
        let server = try SSHServer.info()
        let s = try Scratch("resync-fork")
        let repo = try s.serverRepository()
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        let ssh = ["--no-passphrase", "--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        try a.write("doc.txt", "version 1\n")
        try a.ok(["init", a.folder, "--remote", server.url(repo)] + ssh)
        let key = try a.exportKey()
        for agent in [b, c] { try agent.ok(["join", server.url(repo), agent.folder, "--key-file", key] + ssh) }
        try a.sync()
        let base = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)

        try a.write("doc.txt", "version 2 from a\n")
        try a.sync()
        try b.write("from-b.txt", "b\n")
        try b.write("dir/deep-b.txt", "deep b\n")
        try b.sync()
        // The fork: the server shows C the old head; C changes the same file and adds its own.
        try s.git(["update-ref", "refs/heads/main", base], in: repo)
        try c.write("from-c.txt", "c\n")
        try c.write("doc.txt", "version 2 from c\n")
        try c.sync()
        let lineOfC = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)

        let refused = try b.run(["sync", "--folder", b.folder])
        #expect(refused.status == 2 && refused.stderr.contains("shadowsync resync"), "\(refused.stderr)")
        let r = try b.run(["resync", "--folder", b.folder])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("verified the server's history from its root: head \(lineOfC.prefix(12))"), "\(r.stdout)")
        #expect(r.stdout.contains("left out"), "\(r.stdout)")
        #expect(r.stdout.contains("pushed "), "\(r.stdout)")
        #expect(b.read("from-b.txt") == "b\n" && b.read("dir/deep-b.txt") == "deep b\n" && b.read("from-c.txt") == "c\n")
        func docVersions(_ agent: Agent) -> Set<String> {
            Set(agent.snapshot().filter { $0.key.hasPrefix("doc") }.values)
        }
        #expect(docVersions(b) == ["file:version 2 from a\n", "file:version 2 from c\n"], "\(b.snapshot())")
        // The server's line stays below the new head: C needs nothing but a sync.
        let after = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try s.git(["merge-base", "--is-ancestor", lineOfC, after], in: repo)
        try c.sync()
        #expect(c.read("from-b.txt") == "b\n" && c.read("dir/deep-b.txt") == "deep b\n")
        #expect(docVersions(c) == docVersions(b))

        // A verified B's old line, which the server no longer holds: refused, then recovered the same way.
        #expect(try a.run(["sync", "--folder", a.folder]).status == 2)
        try a.ok(["resync", "--folder", a.folder])
        try b.sync()
        try c.sync()
        #expect(a.snapshot() == b.snapshot() && b.snapshot() == c.snapshot(), "\(a.snapshot())\n\(b.snapshot())\n\(c.snapshot())")
        #expect(a.read("from-c.txt") == "c\n" && a.read("from-b.txt") == "b\n")
        for agent in [a, b, c] { #expect(try agent.run(["fsck", "--folder", agent.folder]).status == 0) }
        // A resync is a person's decision: beside a running daemon it is refused.
        let daemon = try RunningDaemon(b)
        defer { _ = daemon.stop() }
        let busy = try b.run(["resync", "--folder", b.folder])
        #expect(busy.status != 0 && busy.stderr.contains("resync runs only without it"), "\(busy.stderr)")
    }

    /// A server restored from an older backup: the commits it lost are still this machine's history,
    /// so `resync` pushes them back unchanged (a fast-forward), after verifying what the server holds.
    @Test func resyncAfterARestoreFromBackupPushesTheLostCommitsBack() throws {
        let s = try Scratch("resync-restore")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try a.sync()
        let backup = s.root.appendingPathComponent("backup.git").path
        _ = try s.git(["clone", "--bare", "--quiet", s.remote, backup], in: s.root.path)
        try a.write("doc.txt", "version 2\n")
        try a.write("later.txt", "after the backup\n")
        try a.sync()
        let lost = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: s.remote)
        _ = try s.git(["clone", "--bare", "--quiet", backup, s.remote], in: s.root.path)

        let refused = try a.run(["sync", "--folder", a.folder])
        #expect(refused.status == 2 && refused.stderr.contains("rolled back") && refused.stderr.contains("shadowsync resync"), "\(refused.stderr)")
        let r = try a.run(["resync", "--folder", a.folder])
        #expect(r.status == 0 && r.stdout.contains("restored  1 commit(s)"), "\(r.stdout)\(r.stderr)")
        #expect(try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) == lost)
        try b.sync()
        #expect(b.read("later.txt") == "after the backup\n" && b.read("doc.txt") == "version 2\n")
        #expect(a.snapshot() == b.snapshot())
    }

    /// Moving to a new, empty repository: `config set remote NEW`, then `resync`, fills it with this
    /// machine's history; a machine joining there gets every file, and the other machine follows.
    @Test func movingToANewEmptyRemoteAndResyncPushesEverythingThere() throws {
        let s = try Scratch("resync-move")
        let a = s.agent("a"), b = s.agent("b"), d = s.agent("d")
        try a.write("doc.txt", "version 1\n")
        try a.write("sub/more.txt", "more\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try b.write("b.txt", "from b\n")
        try b.sync()
        try a.sync()
        let fresh = s.root.appendingPathComponent("new.git").path
        _ = try s.git(["init", "--bare", "--quiet", "-b", "main", fresh], in: s.root.path)
        try a.ok(["config", "set", "remote", fresh, "--folder", a.folder])
        try a.write("unpushed.txt", "made before the move\n")
        let r = try a.run(["resync", "--folder", a.folder])
        #expect(r.status == 0 && r.stdout.contains("the server's repository was empty") && r.stdout.contains("pushed "), "\(r.stdout)\(r.stderr)")
        #expect(try s.git(["rev-parse", "main"], in: fresh).trimmingCharacters(in: .whitespacesAndNewlines).count == 40)

        try d.ok(["join", fresh, d.folder, "--key-file", try a.exportKey(), "--no-passphrase"])
        #expect(d.read("doc.txt") == "version 1\n" && d.read("sub/more.txt") == "more\n" && d.read("b.txt") == "from b\n"
                && d.read("unpushed.txt") == "made before the move\n")
        try b.ok(["config", "set", "remote", fresh, "--folder", b.folder])
        try b.ok(["resync", "--folder", b.folder])
        try a.sync()
        #expect(a.snapshot() == b.snapshot() && b.snapshot() == d.snapshot(), "\(a.snapshot())\n\(b.snapshot())\n\(d.snapshot())")
    }
}
