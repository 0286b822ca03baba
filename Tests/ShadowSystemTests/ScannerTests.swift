import Testing
import Glibc
import ShadowCore
@testable import ShadowSystem

@Suite struct ScannerTests {
    @Test func seesFilesDirectoriesSymlinksAndSkipsSpecialFiles() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createDirectories(root.appending("docs").appending("empty"))
        try FileSystem.writeAtomically(Array("hello".utf8), to: root.appending("docs").appending("a.txt"), mode: 0o644)
        try FileSystem.writeAtomically(Array("#!/bin/sh".utf8), to: root.appending("run.sh"), mode: 0o755)
        try FileSystem.writeAtomically([1], to: root.appending(bytes: [0x6e, 0xff]), mode: 0o600)
        try FileSystem.writeAtomically([2], to: root.appending(AtomicFileWriter.temporaryPrefix + "half"), mode: 0o600)
        let outside = try FileSystem.makeTemporaryDirectory(prefix: "scanner-outside-")
        defer { try? FileSystem.removeTree(outside) }
        try FileSystem.writeAtomically([3], to: outside.appending("secret"), mode: 0o600)
        try FileSystem.createSymlink(root.appending("link"), target: outside.bytes)
        #expect(root.appending("fifo").withCString { mkfifo($0, 0o600) } == 0)

        let report = try Scanner.scan(root)
        let kinds = Dictionary(uniqueKeysWithValues: report.entries.map { ($0.path.description, $0.kind) })
        #expect(kinds == [
            "docs": .directory, "docs/empty": .directory, "docs/a.txt": .file(executable: false),
            "run.sh": .file(executable: true), "n\\xff": .file(executable: false),
            "link": .symlink(target: outside.bytes),
        ])
        #expect(report.entry(at: try PlainPath("docs/a.txt"))?.stat.size == 5)
        #expect(report.skipped.count == 1 && report.skipped[0].path == "fifo" && report.skipped[0].reason.contains("fifo"))
        #expect(report.unreadable.isEmpty)
        // The symlink's target directory was not entered.
        #expect(!report.entries.contains { $0.path.description.hasPrefix("link/") })
    }

    @Test func excludedDirectoriesAreNotEntered() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createDirectories(root.appending(".cache").appending("deep"))
        try FileSystem.writeAtomically([1], to: root.appending(".cache").appending("deep").appending("x"), mode: 0o600)
        try FileSystem.writeAtomically([1], to: root.appending("keep"), mode: 0o600)
        let report = try Scanner.scan(root, ignore: IgnoreRules("/.cache/"))
        #expect(report.entries.map(\.path.description) == ["keep"])
    }

    /// Entries found exactly as the expected tree says come back as its numbers, not as entries; any
    /// difference (stat, exec bit, kind, a path it does not hold) comes back as an entry. A settled
    /// directory is still entered, and ignore rules apply to settled entries as to the others.
    @Test func anExpectedTreeSettlesEntriesFoundExactlyAsExpected() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createDirectories(root.appending("d").appending("e"))
        for (path, mode) in [("same", 0o644), ("d/same", 0o644), ("d/e/same", 0o644), ("d/run", 0o755), ("edited", 0o644),
                             ("chmodded", 0o644), ("new", 0o644), ("d/e/old.tmp", 0o644), ("top.tmp", 0o644)] {
            try FileSystem.writeAtomically(Array(path.utf8), to: root.appending(path), mode: mode_t(mode))
        }
        let first = try Scanner.scan(root)
        func entry(_ path: String) throws -> ScannedEntry { try #require(first.entry(at: try PlainPath(path))) }
        func kind(_ e: ScannedEntry) -> ExpectedTree.Kind {
            switch e.kind {
            case .directory: return .directory
            case .file(let executable): return executable ? .executableFile : .file
            default: return .file
            }
        }
        // Expected as found, except: `edited` with another stat, `chmodded` as executable, `d` as a file.
        let builder = ExpectedTree.Builder()
        for path in ["same", "d/same", "d/e/same", "d/run", "d/e", "edited", "chmodded", "d", "d/e/old.tmp", "top.tmp", "gone"] {
            let e = path == "gone" ? try entry("same") : try entry(path)
            var stat = e.stat
            if path == "edited" { stat = StatKey(size: stat.size + 1, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, inode: stat.inode, device: stat.device) }
            Array(path.utf8).withUnsafeBytes { builder.add($0, kind: path == "chmodded" ? .executableFile : path == "d" ? .file : kind(e), stat: stat) }
        }
        let tree = builder.build()
        for threads in [1, 3] {
            let report = try Scanner.scan(root, threads: threads, ignore: IgnoreRules("/d/e/*.tmp\n/top.tmp"), expected: tree)
            #expect(Set(report.settled.map(\.description)) == ["same", "d/same", "d/e/same", "d/run", "d/e"])
            #expect(report.settledIDs.count == 5)
            #expect(Set(report.entries.map(\.path.description)) == ["edited", "chmodded", "d", "new"])
            #expect(report.skipped.isEmpty)
        }
    }

    /// The tree grows past any reserve, finds every path it holds by directory and name (with its kind
    /// and stat, nothing else), and keeps the first of a path added twice.
    @Test func anExpectedTreeFindsEveryPathItHolds() throws {
        let builder = ExpectedTree.Builder()
        var paths: [[UInt8]] = []
        for i in 0..<5000 {
            paths.append(Array((i % 7 == 0 ? "f\(i)" : "d\(i % 13)/e\(i % 3)/f\(i)").utf8) + (i % 11 == 0 ? [0xff] : []))
        }
        func stat(_ i: Int) -> StatKey { StatKey(size: UInt64(i), mtimeNs: 1, ctimeNs: 2, inode: UInt64(i), device: 9) }
        for (i, p) in paths.enumerated() { p.withUnsafeBytes { builder.add($0, kind: i % 5 == 0 ? .directory : .file, stat: stat(i)) } }
        paths[0].withUnsafeBytes { builder.add($0, kind: .file, stat: stat(1)) }  // a duplicate of path 0
        let tree = builder.build()
        #expect(tree.count == 5001 && builder.count == 0)
        func settled(_ p: [UInt8], _ kind: ExpectedTree.Kind, _ s: StatKey) -> Int32? {
            let cut = p.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
            return Array(p[..<cut]).withUnsafeBytes { prefix in
                Array(p[cut...]).withUnsafeBytes { name in
                    tree.settled(prefix: prefix, hasher: ExpectedTree.hasher(forDirectory: prefix), name: name, kind: kind, stat: s)
                }
            }
        }
        for (i, p) in paths.enumerated() {
            let kind: ExpectedTree.Kind = i % 5 == 0 ? .directory : .file
            #expect(settled(p, kind, stat(i)) == Int32(i))
            #expect(tree.path(Int32(i))?.bytes == p)
            #expect(settled(p, kind, stat(i + 1)) == nil, "another stat")
            #expect(settled(p, kind == .file ? .executableFile : .file, stat(i)) == nil, "another kind")
        }
        #expect(settled(Array("d1/e1/missing".utf8), .file, stat(1)) == nil)
        #expect(settled(paths[0], .file, stat(1)) == nil, "the duplicate does not answer: the first one does")
    }

    @Test func statKeyNoticesEditsAndRacyTimestamps() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        let file = root.appending("f")
        try FileSystem.writeAtomically(Array("one".utf8), to: file, mode: 0o644)
        let before = try #require(try Scanner.scan(root).entry(at: try PlainPath("f"))?.stat)
        #expect(try Scanner.scan(root).entry(at: try PlainPath("f"))?.stat == before)   // unchanged: same key
        try FileSystem.writeAtomically(Array("two".utf8), to: file, mode: 0o644)       // same size, new inode
        #expect(try Scanner.scan(root).entry(at: try PlainPath("f"))?.stat != before)
        // Recorded just now: racy. Recorded an hour later: clean.
        #expect(before.isRacy(recordedAtNs: before.mtimeNs))
        #expect(!before.isRacy(recordedAtNs: before.mtimeNs + 3_600_000_000_000))
    }

    /// The walk is split across threads: every entry of a wide and deep tree is found exactly once,
    /// whatever the number of threads, and a directory that vanishes mid-walk is only reported.
    @Test func aParallelWalkFindsEveryEntryOnce() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        var expected: Set<String> = []
        for i in 0..<40 {
            var dir = "w\(i)"
            for depth in 0..<(i % 7) { dir += "/d\(depth)" }
            try FileSystem.createDirectories(root.appending(dir))
            var prefix = ""
            for component in dir.split(separator: "/") {
                prefix += (prefix.isEmpty ? "" : "/") + component
                expected.insert(prefix)
            }
            for j in 0..<(i % 5) {
                try FileSystem.writeAtomically([UInt8(j)], to: root.appending("\(dir)/f\(j)"), mode: 0o644)
                expected.insert("\(dir)/f\(j)")
            }
        }
        for threads in [1, 2, 4] {
            let report = try Scanner.scan(root, threads: threads)
            let found = report.entries.map(\.path.description)
            #expect(found.count == expected.count, "threads: \(threads)")
            #expect(Set(found) == expected, "threads: \(threads)")
            #expect(report.skipped.isEmpty && report.unreadable.isEmpty)
        }
        #expect(Scanner.maximumThreads >= 2)
    }

    @Test func rootMustBeARealDirectory() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createSymlink(root.appending("alias"), target: root.bytes)
        #expect(thrownCode { _ = try Scanner.scan(root.appending("alias")) } == .invalidArgument)
        #expect(thrownCode { _ = try Scanner.scan(root.appending("missing")) } == .notFound)
    }
}
