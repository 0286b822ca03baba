import Foundation
import Testing

/// A large file through every command that reads or writes it, each in a process of its own whose
/// peak resident memory is asserted: segments keep every object small, so no command holds a file.
@Suite(.serialized) struct LargeFileTests {
    /// Peak RSS any one command may reach, whatever the file's size.
    static let peakLimitKiB = 64 << 10
    /// 128 MiB by default; 4 GiB with SHADOWSYNC_LONG=1.
    static let fileBytes: Int64 = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" ? 4 << 30 : 128 << 20
    static let commandTimeoutSeconds = 1800.0
    /// Random blocks written into the sparse file, so its segments are not all alike.
    static let markedBlocks = 24
    static let markBytes = 200_000

    /// Runs shadowsync as `agent` under python3, which reports the child's peak RSS (getrusage).
    func measured(_ agent: Agent, _ args: [String], _ label: String) throws -> Int {
        let measure = "import resource, subprocess, sys\nrc = subprocess.run(sys.argv[1:]).returncode\nprint('peak-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(rc)"
        let started = Date()
        defer { print("\(label): \(Date().timeIntervalSince(started)) s") }
        let r = try Binaries.run("/usr/bin/python3", ["-c", measure, Binaries.url(of: "shadowsync").path] + args,
                                 environment: agent.environment, timeoutSeconds: LargeFileTests.commandTimeoutSeconds)
        #expect(r.status == 0, "\(label): exit \(r.status)\n\(r.stdout)\n\(r.stderr)")
        let peak = r.stderr.split(separator: "\n").first { $0.hasPrefix("peak-kib ") }.flatMap { Int($0.dropFirst("peak-kib ".count)) } ?? Int.max
        #expect(peak < LargeFileTests.peakLimitKiB, "\(label): peak RSS \(peak) KiB")
        return peak
    }

    /// Files compared by `cmp`, which streams: neither side is read into this process.
    func same(_ a: String, _ b: String) throws -> Bool {
        try Binaries.run("/usr/bin/cmp", [a, b], timeoutSeconds: LargeFileTests.commandTimeoutSeconds).status == 0
    }

    @Test func largeSparseFileRoundTripsThroughEveryCommandInBoundedMemory() throws {
        let s = try Scratch("large")
        let a = s.agent("a"), b = s.agent("b")
        try FileManager.default.createDirectory(atPath: a.folder, withIntermediateDirectories: true)
        let big = a.folder + "/big.bin"
        let fd = open(big, O_CREAT | O_WRONLY, 0o644)
        #expect(fd >= 0)
        #expect(ftruncate(fd, off_t(LargeFileTests.fileBytes)) == 0)
        var x: UInt64 = 0x9E3779B97F4A7C15
        for i in 0..<LargeFileTests.markedBlocks {
            let block = (0..<LargeFileTests.markBytes).map { _ -> UInt8 in x ^= x << 13; x ^= x >> 7; x ^= x << 17; return UInt8(truncatingIfNeeded: x) }
            let offset = LargeFileTests.fileBytes / Int64(LargeFileTests.markedBlocks) * Int64(i)
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        }
        close(fd)
        var peaks: [String: Int] = [:]
        peaks["init"] = try measured(a, ["init", a.folder, "--remote", s.remote, "--no-passphrase"], "init")
        let key = try a.exportKey()
        peaks["join"] = try measured(b, ["join", s.remote, b.folder, "--key-file", key, "--no-passphrase"], "join")
        #expect(try same(big, b.folder + "/big.bin"))
        peaks["fsck"] = try measured(a, ["fsck", "--folder", a.folder], "fsck")
        let out = s.root.appendingPathComponent("decrypted").path
        peaks["decrypt"] = try measured(a, ["decrypt", s.remote, "--key-file", key, "--to", out], "decrypt")
        #expect(try same(big, out + "/big.bin"))
        let restored = s.root.appendingPathComponent("restored.bin").path
        peaks["restore"] = try measured(a, ["restore", "big.bin", "--at", "main", "--to", restored, "--folder", a.folder], "restore")
        #expect(try same(big, restored))

        // Zero-filled stretches cut into equal segments: the server holds each once.
        let blobs = try s.git(["rev-list", "--objects", "--all"]).split(separator: "\n").filter { $0.contains(".s/") }.count
        let segments = Int(LargeFileTests.fileBytes >> 20)
        #expect(blobs > 0 && blobs < segments / 2, "\(blobs) segment objects for a file of at least \(segments) segments")

        // An edit in the middle: both sides sync it, each in bounded memory.
        let edit = open(big, O_WRONLY)
        _ = Array("an edit in the middle\n".utf8).withUnsafeBytes { pwrite(edit, $0.baseAddress, $0.count, off_t(LargeFileTests.fileBytes / 2 + 12345)) }
        close(edit)
        peaks["sync"] = try measured(a, ["sync", "--folder", a.folder], "sync (commit and push)")
        peaks["sync-apply"] = try measured(b, ["sync", "--folder", b.folder], "sync (fetch and apply)")
        #expect(try same(big, b.folder + "/big.bin"))
        print("large file of \(LargeFileTests.fileBytes) bytes, peak RSS KiB per command: \(peaks.sorted { $0.key < $1.key })")
    }

    /// The shadow work tree of an agent: a git work tree that a pass leaves clean.
    func shadowStatus(_ agent: Agent) throws -> String {
        let data = agent.home + "/data/shadowsync"
        let folder = try FileManager.default.contentsOfDirectory(atPath: data).first { !$0.hasPrefix(".") } ?? ""
        return try Binaries.run("/usr/bin/git", ["-C", data + "/" + folder + "/shadow", "status", "--porcelain"]).stdout
    }

    /// Pseudo-random bytes from a seed (xorshift), so each version differs everywhere it is written.
    func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed | 1
        return (0..<count).map { _ in x ^= x << 13; x ^= x >> 7; x ^= x << 17; return UInt8(truncatingIfNeeded: x) }
    }

    @Test func concurrentEditsRenamesAndDeletesOfLargeFilesKeepEveryVersion() throws {
        let s = try Scratch("large-merge")
        let a = s.agent("a"), b = s.agent("b")
        let base = noise(3 << 20, seed: 1)
        try a.write(Array("big.bin".utf8), base)
        try a.write(Array("other.bin".utf8), noise(2 << 20, seed: 2))
        try a.write("keep.txt", "stays, so deleting the large files is no mass delete\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        #expect(readRaw(Array((b.folder + "/big.bin").utf8)) == base)

        // Both edit the same large file in different places; a wins the push, b merges.
        var oursA = base, oursB = base
        oursA.replaceSubrange(100_000..<100_010, with: Array("edited a\n".utf8) + [0])
        oursB.replaceSubrange(2_500_000..<2_500_010, with: Array("edited b\n".utf8) + [0])
        try a.write(Array("big.bin".utf8), oursA)
        try b.write(Array("big.bin".utf8), oursB)
        // And a large file renamed on a, deleted nowhere: its segments move with it.
        try a.move("other.bin", "moved.bin")
        try a.sync()
        try b.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
        let versions = try a.names().filter { $0.hasPrefix("big") }.map { readRaw(Array((a.folder + "/" + $0).utf8)) }
        let names = try a.names()
        #expect(versions.count == 2 && Set(versions) == Set([oursA, oursB]), "both versions kept: \(names)")
        #expect(readRaw(Array((b.folder + "/moved.bin").utf8)) == noise(2 << 20, seed: 2))
        #expect(try shadowStatus(a) == "" && shadowStatus(b) == "")

        // Deleting large files removes their segments from the tree.
        for name in try a.names() where name.hasSuffix(".bin") { try a.remove(name) }
        try a.sync()
        try b.sync()
        #expect(try b.names().filter { $0.hasSuffix(".bin") }.isEmpty)
        let tree = try s.git(["ls-tree", "-r", "--name-only", "main"])
        #expect(!tree.contains(".s/"), "segments left in the tree: \(tree)")
        #expect(try shadowStatus(a) == "" && shadowStatus(b) == "")
        try a.ok(["fsck", "--folder", a.folder])
        try b.ok(["fsck", "--folder", b.folder])
    }

    /// Lines of the text file `show` and `diff` read: about 1.5 MiB, so it is stored as segments.
    static let textLines = 150_000

    @Test func showAndDiffReadALargeFileThroughItsSegments() throws {
        let s = try Scratch("large-show")
        let a = s.agent("a")
        let old = (0..<LargeFileTests.textLines).map { "line \($0)\n" }.joined()
        #expect(old.utf8.count > 1 << 20)
        try a.write("big.txt", old)
        try a.initialize()
        let edited = old.replacingOccurrences(of: "\nline 70000\n", with: "\nLINE 70000\n")
        try a.write("big.txt", edited)
        try a.sync()

        #expect(try a.ok(["show", "big.txt", "--at", "HEAD~1", "--folder", a.folder]) == old)
        #expect(try a.ok(["show", "big.txt", "--folder", a.folder]) == edited)
        let diff = try a.run(["diff", "big.txt", "--at", "HEAD~1", "--folder", a.folder])
        #expect(diff.status == 1, "\(diff.status) \(diff.stderr)")
        #expect(diff.stdout.contains("-line 70000\n+LINE 70000\n"), "\(diff.stdout.prefix(2000))")
        #expect(diff.stdout.split(separator: "\n").filter { $0.hasPrefix("-") || $0.hasPrefix("+") }.count == 4, "\(diff.stdout.prefix(2000))")
        let same = try a.run(["diff", "big.txt", "--folder", a.folder])
        #expect(same.status == 0 && same.stdout.isEmpty, "\(same.status): \(same.stdout.prefix(2000))")
    }
}
