import Foundation
import Testing

/// A server that tampers, swaps, rolls back or injects: each refused before any plaintext is touched.
@Suite(.serialized) struct HostileServerTests {
    func setUp(_ name: String) throws -> (Scratch, Agent, Agent) {
        let (s, a, b, _) = try Scratch.pairWithUnseenEdit(name)
        return (s, a, b)
    }

    func expectRefused(_ s: Scratch, _ b: Agent, good: String, phrase: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try s.expectRefused(b, phrase: phrase, repair: { try s.git(["update-ref", "refs/heads/main", good]) }, sourceLocation: sourceLocation)
    }

    @Test func flippedBlobIsRefused() throws {
        let (s, _, b) = try setUp("flip")
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let target = try s.objects().first { $0.path.hasSuffix(".c") }!
        var bytes = try s.blobBytes(target.blob)
        bytes[bytes.count / 2] ^= 1
        let forged = try s.forgedCommit(tree: try s.tree(replacing: [target.path: try s.blob(bytes)]))
        try s.git(["update-ref", "refs/heads/main", forged])
        try expectRefused(s, b, good: good, phrase: "tampered")
    }

    @Test func swappedObjectsAreRefused() throws {
        let (s, _, b) = try setUp("swap")
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let contents = try s.objects().filter { $0.path.hasSuffix(".c") }
        let forged = try s.forgedCommit(tree: try s.tree(replacing: [contents[0].path: contents[1].blob, contents[1].path: contents[0].blob]))
        try s.git(["update-ref", "refs/heads/main", forged])
        try expectRefused(s, b, good: good, phrase: "signature")
    }

    @Test func unsignedCommitIsRefused() throws {
        let (s, _, b) = try setUp("unsigned")
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let tree = try s.git(["rev-parse", "main^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let injected = try s.git(["commit-tree", tree, "-p", good, "-m", "innocent"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try s.git(["update-ref", "refs/heads/main", injected])
        try expectRefused(s, b, good: good, phrase: "is not signed")
    }

    @Test func rolledBackBranchIsRefused() throws {
        let (s, a, b) = try setUp("rollback")
        // B sees version 2 first; then the server rolls back to version 1.
        try b.sync()
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try s.git(["update-ref", "refs/heads/main", "main~1"])
        try b.write("local-edit.txt", "made while the server was hostile\n")
        let before = b.snapshot()
        let r = try b.run(["sync", "--folder", b.folder])
        #expect(r.status == 2 && r.stderr.contains("rolled back"), "\(r.stderr)")
        #expect(b.snapshot() == before)
        #expect(b.read("doc.txt") == "version 2\n")
        // A, which also verified version 2, refuses too.
        #expect(try a.run(["sync", "--folder", a.folder]).status == 2)
        try s.git(["update-ref", "refs/heads/main", good])
        try b.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
    }

    @Test func readOnlyMembersPushIsRefused() throws {
        let (s, a, b) = try setUp("ro-push")
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        // A read-only member cannot sign; the best it (or a server) can do is a commit signed by another
        // vault's key, grafted onto this history.
        let other = s.agent("other")
        try other.write("x.txt", "x\n")
        try other.ok(["init", other.folder, "--remote", s.root.appendingPathComponent("other.git").path, "--no-passphrase"])
        let foreign = try s.git(["cat-file", "commit", "main"], in: s.root.appendingPathComponent("other.git").path)
        var lines = foreign.components(separatedBy: "\n")
        lines.insert("parent \(good)", at: 1)
        lines[0] = "tree " + (try s.git(["rev-parse", "main^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines))
        let grafted = try s.git(["hash-object", "-t", "commit", "-w", "--stdin"], input: lines.joined(separator: "\n")).trimmingCharacters(in: .whitespacesAndNewlines)
        try s.git(["update-ref", "refs/heads/main", grafted])
        try expectRefused(s, b, good: good, phrase: "does not verify with this vault's root key")
        _ = a
    }
}
