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
        #expect(r.stderr.contains("rolled back or rewrote history"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was changed locally"), "\(r.stderr)")
        #expect(b.snapshot() == before)
        #expect(b.read("from-c.txt") == nil)
        #expect(try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) == fork)
    }
}
