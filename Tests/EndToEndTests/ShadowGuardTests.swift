import Foundation
import Testing

/// The shadow repository is the agent's alone: a commit typed there by hand never reaches the server,
/// the error blames this machine, and `repair` brings the folder back in sync losing nothing.
@Suite(.serialized) struct ShadowGuardTests {
    /// The shadow work tree of an agent's only folder.
    static func shadow(of agent: Agent) throws -> String {
        let data = agent.home + "/data/shadowsync"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: data).first)
        return data + "/" + name + "/shadow"
    }

    static func head(_ s: Scratch) throws -> String {
        try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A sync after a hand commit: refused with exit 1, blaming this machine, and the remote untouched.
    static func expectRefusedLocally(_ s: Scratch, _ a: Agent, fault: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try head(s)
        let r = try a.run(["sync", "--folder", a.folder])
        #expect(r.status == 1, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("has a commit ShadowSync did not make"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(fault), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("someone ran git there?"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("shadowsync repair"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("the server altered") && !r.stderr.contains("injecting"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(try head(s) == before, "the hand commit reached the server", sourceLocation: sourceLocation)
        // Asking again changes nothing: the guard is permanent, not a retry.
        #expect(try a.run(["sync", "--folder", a.folder]).status == 1, sourceLocation: sourceLocation)
        #expect(try head(s) == before, sourceLocation: sourceLocation)
        let status = try a.run(["status", "--folder", a.folder])
        #expect(status.stdout.contains("needs repair") && status.stdout.contains("ShadowSync did not make"), "\(status.stdout)", sourceLocation: sourceLocation)
        let log = try a.run(["log", "--folder", a.folder])
        #expect(log.status == 1 && log.stderr.contains("ShadowSync did not make"), "\(log.stdout) \(log.stderr)", sourceLocation: sourceLocation)
        #expect(log.stderr.contains("the server is not to blame") && !log.stderr.contains("the server altered"), "\(log.stderr)", sourceLocation: sourceLocation)
        let fsck = try a.run(["fsck", "--folder", a.folder])
        #expect(fsck.status == 1 && fsck.stderr.contains("ShadowSync did not make") && !fsck.stderr.contains("injecting"), "\(fsck.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aHandCommitNeverReachesTheServer() throws {
        let s = try Scratch("hand-commit")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("doc.txt", "one\n")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        let shadow = try Self.shadow(of: a)

        try s.git(["commit", "--allow-empty", "-m", "typed by hand"], in: shadow)
        try a.write("made-meanwhile.txt", "edited while the shadow repository was broken\n")
        try Self.expectRefusedLocally(s, a, fault: "is not signed")

        // Nothing bad reached the server: others sync and join as usual.
        try b.write("from-b.txt", "b\n")
        try b.sync()
        try c.join(keyFile: key)
        #expect(c.read("from-b.txt") == "b\n")

        let repair = try a.ok(["repair", "--folder", a.folder])
        #expect(repair.contains("discarded"), "\(repair)")
        try a.sync()
        try b.sync()
        #expect(b.read("made-meanwhile.txt") == "edited while the shadow repository was broken\n")
        #expect(a.read("from-b.txt") == "b\n")
        #expect(a.snapshot() == b.snapshot())
        #expect(try s.git(["log", "--format=%s", "main"]).contains("typed by hand") == false)

        // An amended commit keeps its old signature, which no longer verifies.
        try s.git(["commit", "--amend", "--no-edit", "--allow-empty", "--date=2001-01-01T00:00:00"], in: shadow)
        try a.write("doc.txt", "two\n")
        try Self.expectRefusedLocally(s, a, fault: "signature that does not verify")
        try a.ok(["repair", "--folder", a.folder])
        try a.sync()
        try b.sync()
        #expect(b.read("doc.txt") == "two\n")
        #expect(try c.run(["sync", "--folder", c.folder]).status == 0)
        #expect(c.snapshot() == a.snapshot())
    }

    /// A running daemon meets the hand commit between two passes: it stops syncing the folder, says why
    /// (blaming this machine), and does not retry; nothing reaches the server.
    @Test func theDaemonStopsAndSaysWhy() throws {
        let (s, a, b) = try Scratch.daemonPair("hand-commit-daemon")
        let before = try Self.head(s)
        let daemon = try RunningDaemon(a)
        try s.git(["commit", "--allow-empty", "-m", "typed by hand"], in: try Self.shadow(of: a))
        try a.write("while-running.txt", "saved while the daemon ran\n")
        try eventually("the daemon reports the foreign commit") {
            ((try? daemon.status())?["last_error"] as? String)?.contains("has a commit ShadowSync did not make") == true
        }
        let status = try daemon.status()
        #expect(status["state"] as? String == "needs attention", "\(status)")
        #expect(status["retry_at"] == nil, "\(status)")
        #expect(try Self.head(s) == before)
        _ = daemon.stop()

        try a.ok(["repair", "--folder", a.folder])
        try a.sync()
        try b.sync()
        #expect(b.read("while-running.txt") == "saved while the daemon ran\n")
    }
}
