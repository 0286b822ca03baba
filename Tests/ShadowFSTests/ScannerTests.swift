import Testing
import Glibc
import ShadowCore
@testable import ShadowFS

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
        let kinds = Dictionary(uniqueKeysWithValues: report.entries.map { ($0.key.description, $0.value.kind) })
        #expect(kinds == [
            "docs": .directory, "docs/empty": .directory, "docs/a.txt": .file(executable: false),
            "run.sh": .file(executable: true), "n\\xff": .file(executable: false),
            "link": .symlink(target: outside.bytes),
        ])
        #expect(report.entries[try PlainPath("docs/a.txt")]?.stat.size == 5)
        #expect(report.skipped.count == 1 && report.skipped[0].path == "fifo" && report.skipped[0].reason.contains("fifo"))
        #expect(report.unreadable.isEmpty)
        // The symlink's target directory was not entered.
        #expect(!report.entries.keys.contains { $0.description.hasPrefix("link/") })
    }

    @Test func excludedDirectoriesAreNotEntered() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createDirectories(root.appending(".cache").appending("deep"))
        try FileSystem.writeAtomically([1], to: root.appending(".cache").appending("deep").appending("x"), mode: 0o600)
        try FileSystem.writeAtomically([1], to: root.appending("keep"), mode: 0o600)
        let report = try Scanner.scan(root) { path, isDir in isDir && path.description == ".cache" }
        #expect(report.entries.keys.map(\.description) == ["keep"])
    }

    @Test func statKeyNoticesEditsAndRacyTimestamps() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        let file = root.appending("f")
        try FileSystem.writeAtomically(Array("one".utf8), to: file, mode: 0o644)
        let before = try #require(try Scanner.scan(root).entries[try PlainPath("f")]?.stat)
        #expect(try Scanner.scan(root).entries[try PlainPath("f")]?.stat == before)   // unchanged: same key
        try FileSystem.writeAtomically(Array("two".utf8), to: file, mode: 0o644)       // same size, new inode
        #expect(try Scanner.scan(root).entries[try PlainPath("f")]?.stat != before)
        // Recorded just now: racy. Recorded an hour later: clean.
        #expect(before.isRacy(recordedAtNs: before.mtimeNs))
        #expect(!before.isRacy(recordedAtNs: before.mtimeNs + 3_600_000_000_000))
    }

    @Test func rootMustBeARealDirectory() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "scanner-test-")
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createSymlink(root.appending("alias"), target: root.bytes)
        #expect(thrownCode { _ = try Scanner.scan(root.appending("alias")) } == .invalidArgument)
        #expect(thrownCode { _ = try Scanner.scan(root.appending("missing")) } == .notFound)
    }
}
