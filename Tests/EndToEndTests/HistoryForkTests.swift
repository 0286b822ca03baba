import Foundation
import Testing

/// A server that forks history: it hides a commit B has verified, then takes a genuine commit made on
/// top of the older head by a machine that never saw it. Every commit is signed; only the ancestry
/// rule of the history verifier (the new head must contain the last verified one) can refuse it,
/// since B's own head is not a descendant of the server's either.
@Suite(.serialized) struct HistoryForkTests {
    @Test func aForkWithoutTheVerifiedHeadIsRefusedByTheVerifier() throws {
        let s = try Scratch("fork")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        try c.join(keyFile: key)
        let base = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)

        try a.write("doc.txt", "version 2\n")
        try a.sync()
        try b.sync()
        #expect(b.read("doc.txt") == "version 2\n")
        let verifiedByB = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)

        // The server forks: main back to the base, where C (which never saw version 2) commits.
        try s.git(["update-ref", "refs/heads/main", base])
        try c.write("from-c.txt", "c\n")
        try c.sync()
        let fork = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((try? s.git(["merge-base", "--is-ancestor", verifiedByB, fork])) == nil, "the fork contains B's verified head")

        let before = b.snapshot()
        let r = try b.run(["sync", "--folder", b.folder])
        #expect(r.status == 2, "exit \(r.status): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("does not contain commit \(verifiedByB.prefix(12))"), "\(r.stderr)")
        #expect(r.stderr.contains("the two have forked from \(base.prefix(12))"), "\(r.stderr)")
        #expect(r.stderr.contains("rolled back or rewrote this machine's view"), "\(r.stderr)")
        #expect(r.stderr.contains("shadowsync sync --accept-fork"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was changed locally"), "\(r.stderr)")
        #expect(b.snapshot() == before)
        #expect(b.read("from-c.txt") == nil)
        #expect(try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) == fork)
    }

    /// Recovery, on the side that sees the fork: `sync --accept-fork` merges both lines and pushes the
    /// merge; every other machine then syncs as usual, whichever line it was on, and nothing is lost.
    @Test func acceptingTheForkMergesBothLinesForEveryMachine() throws {
        let s = try Scratch("fork-recover")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        try c.join(keyFile: key)
        let base = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try a.write("doc.txt", "version 2\n")
        try a.sync()
        try b.write("from-b.txt", "b\n")
        try b.sync()
        let lineOfB = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try s.git(["update-ref", "refs/heads/main", base])
        try c.write("from-c.txt", "c\n")
        try c.sync()
        let lineOfC = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try b.run(["sync", "--folder", b.folder]).status == 2)
        let r = try b.run(["sync", "--accept-fork", "--folder", b.folder])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(b.read("from-c.txt") == "c\n" && b.read("from-b.txt") == "b\n" && b.read("doc.txt") == "version 2\n")
        let merged = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        for line in [lineOfB, lineOfC] { _ = try s.git(["merge-base", "--is-ancestor", line, merged]) }
        // c (on the other line) and a (on b's line) need nothing but a sync.
        try c.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot() && b.snapshot() == c.snapshot())
        #expect(c.read("from-b.txt") == "b\n" && c.read("doc.txt") == "version 2\n" && a.read("from-c.txt") == "c\n")
        #expect(try b.run(["fsck", "--folder", b.folder]).status == 0)
    }

    /// A server that keeps showing two machines two histories (two repositories here) cannot be repaired
    /// in place: both move to a new repository. The first one's sync fills it; the second sees the fork
    /// there and accepts it; the first then receives the second's line.
    @Test func aPersistentForkIsRecoveredByMovingBothToANewRepository() throws {
        let s = try Scratch("fork-move")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        let viewOfB = s.root.appendingPathComponent("view-b.git").path
        _ = try s.git(["clone", "--bare", "--quiet", s.remote, viewOfB], in: s.root.path)
        try b.ok(["config", "set", "remote", viewOfB, "--folder", b.folder])
        try a.write("doc.txt", "version 2 from a\n")
        try a.sync()
        try b.write("b.txt", "only in b's view\n")
        try b.sync()

        let fresh = s.root.appendingPathComponent("new.git").path
        _ = try s.git(["init", "--bare", "--quiet", "-b", "main", fresh], in: s.root.path)
        try a.ok(["config", "set", "remote", fresh, "--folder", a.folder])
        try a.sync()
        try b.ok(["config", "set", "remote", fresh, "--folder", b.folder])
        let refused = try b.run(["sync", "--folder", b.folder])
        #expect(refused.status == 2 && refused.stderr.contains("--accept-fork"), "\(refused.stderr)")
        try b.ok(["sync", "--accept-fork", "--folder", b.folder])
        try a.sync()
        #expect(a.read("b.txt") == "only in b's view\n" && b.read("doc.txt") == "version 2 from a\n")
        #expect(a.snapshot() == b.snapshot())
    }

    /// A running daemon that meets the fork shows it among its alerts (`rewritten_history`, with the
    /// recovery in the advice) until a pass succeeds again.
    @Test func aDaemonShowsTheForkAsAnAlertUntilItIsAccepted() throws {
        let s = try Scratch("fork-daemon")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        let base = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try b.write("b.txt", "b\n")
        try b.sync()
        try s.git(["update-ref", "refs/heads/main", base])
        try a.write("a.txt", "a\n")
        try a.sync()
        try b.ok(["config", "set", "sync.poll-seconds", "1", "--folder", b.folder])
        let db = try RunningDaemon(b)
        try eventually("b's daemon shows the fork") {
            let alerts = try db.status()["alerts"] as? [[String: Any]] ?? []
            return alerts.contains { $0["kind"] as? String == "rewritten_history" && ($0["advice"] as? String ?? "").contains("--accept-fork") }
        }
        #expect(try b.run(["status", "--folder", b.folder]).status == 1)
        // Accepting a fork is a person's decision, never a daemon pass: the daemon must be stopped first.
        let busy = try b.run(["sync", "--accept-fork", "--folder", b.folder])
        #expect(busy.status != 0 && busy.stderr.contains("--accept-fork runs only without it"), "\(busy.stderr)")
        _ = db.stop()
        try b.ok(["sync", "--accept-fork", "--folder", b.folder])
        let again = try RunningDaemon(b)
        defer { _ = again.stop() }
        try again.waitIdle()
        #expect((try again.status()["alerts"] as? [[String: Any]])?.isEmpty == true)
        #expect(b.read("a.txt") == "a\n")
    }
}
