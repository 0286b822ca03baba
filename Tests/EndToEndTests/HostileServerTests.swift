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
        try expectRefused(s, b, good: good, phrase: "does not verify with the key of any read-write device its tree admits")
        _ = a
    }

    /// Peak resident memory a refused sync may reach, in KiB: a debug build's baseline is about 25 MiB.
    static let refusalPeakKiB = 150 * 1024
    /// How long a refusal may take, in seconds.
    static let refusalSeconds = 10.0

    /// An unsigned commit whose message is 300 MiB of zeros (about 300 KiB in the object store): the
    /// sync refuses it from the object's header, without loading it, whether it is the server's head or
    /// the parent of an unsigned head.
    @Test(arguments: [false, true]) func hugeUnsignedCommitIsRefusedInBoundedMemory(behindSmallHead: Bool) throws {
        let (s, _, b) = try setUp(behindSmallHead ? "huge-parent" : "huge")
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let tree = try s.git(["rev-parse", "main^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let header = "tree \(tree)\nparent \(good)\nauthor m <m@evil> 0 +0000\ncommitter m <m@evil> 0 +0000\n\n"
        let craft = Process()
        craft.executableURL = URL(fileURLWithPath: "/bin/bash")
        craft.arguments = ["-c", "{ printf '%s' \"$1\"; head -c 300M /dev/zero; } | git -C \"$2\" -c core.looseCompression=1 hash-object -w -t commit --literally --stdin", "craft", header, s.remote]
        let out = Pipe()
        craft.standardOutput = out
        try craft.run()
        var huge = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        craft.waitUntilExit()
        #expect(craft.terminationStatus == 0 && huge.count == 40)
        #expect(Int(try s.git(["cat-file", "-s", huge]).trimmingCharacters(in: .whitespacesAndNewlines))! > 300 << 20)
        if behindSmallHead {
            huge = try s.git(["commit-tree", tree, "-p", huge, "-m", "small"]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try s.git(["update-ref", "refs/heads/main", huge])
        try b.write("local-edit.txt", "made while the server was hostile\n")
        let before = b.snapshot()
        // python3 reports the peak resident memory of the sync it waited for (getrusage of its children).
        let measure = "import resource, subprocess, sys\nrc = subprocess.run(sys.argv[1:]).returncode\nprint('peak-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(rc)"
        let started = Date()
        let r = try Binaries.run("/usr/bin/python3", ["-c", measure, Binaries.url(of: "shadowsync").path, "sync", "--folder", b.folder],
                                 environment: b.environment, timeoutSeconds: 120)
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(behindSmallHead ? "is not signed" : "more than the 64 KiB a ShadowSync commit may have"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was changed locally"), "\(r.stderr)")
        let peak = r.stderr.split(separator: "\n").first { $0.hasPrefix("peak-kib ") }.flatMap { Int($0.dropFirst("peak-kib ".count)) }
        #expect(peak != nil && peak! < HostileServerTests.refusalPeakKiB, "peak RSS \(peak ?? -1) KiB")
        #expect(seconds < HostileServerTests.refusalSeconds, "refused after \(seconds) s")
        #expect(b.snapshot() == before)
        try s.git(["update-ref", "refs/heads/main", good])
        try b.sync()
        #expect(b.read("doc.txt") == "version 2\n")
    }
}
