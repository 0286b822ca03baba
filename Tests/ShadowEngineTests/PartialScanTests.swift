import Testing
import Glibc
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// Passes that scan only the paths a watcher named (`SyncOptions.changedPaths`), in process against a
/// real libgit2 repository and a local bare remote. The test of each shape: the partial pass commits
/// the change, and a full pass right after it finds nothing left to commit.
@Suite struct PartialScanTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "partial-scan-test-") }

    /// An engine whose folder holds `files`, imported and then synced once in full (the first pass of
    /// a process always scans everything).
    func engine(_ files: [String: String]) throws -> SyncEngine {
        let keys = VaultKeys.generate()
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try makeEngine(in: dir, "a", keys: keys, remote: remote)
        for (p, text) in files { try write(a, p, text) }
        _ = try a.initialize()
        _ = try a.sync()
        return a
    }

    func write(_ e: SyncEngine, _ path: String, _ text: String) throws {
        try FileSystem.createDirectories(e.location.plain.appending(path).directory, mode: 0o755)
        try FileSystem.writeAtomically(Array(text.utf8), to: e.location.plain.appending(path), mode: 0o644)
    }

    func partial(_ e: SyncEngine, _ changed: [String: Bool]) throws -> SyncReport {
        var options = SyncOptions()
        options.changedPaths = Dictionary(uniqueKeysWithValues: try changed.map { (try PlainPath($0.key), $0.value) })
        return try e.sync(options: options)
    }

    /// A full pass after the partial one: it must find nothing the partial pass missed.
    func expectNothingLeft(_ e: SyncEngine, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let full = try e.sync()
        #expect(full.committed.isEmpty, "a full pass still found \(full.committed)", sourceLocation: sourceLocation)
    }

    @Test func aPartialPassLooksOnlyAtTheNamedPathsAndTheirParents() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine(["notes/a.txt": "a\n", "notes/b.txt": "b\n", "other/c.txt": "c\n"])
        try write(a, "notes/a.txt", "a, edited\n")
        try write(a, "other/c.txt", "c, edited but not named\n")
        let report = try partial(a, ["notes/a.txt": false])
        #expect(report.committed.contains("M notes/a.txt") && !report.committed.contains { $0.hasSuffix("c.txt") }, "\(report.committed)")
        // Nothing named it: the next partial pass does not see it either; a full pass does.
        #expect(try partial(a, [:]).committed.isEmpty)
        #expect(try a.sync().committed.contains("M other/c.txt"))
    }

    @Test func newNestedDirectoriesRenamesAcrossDirectoriesAndWholeDirectoryDeletes() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine(["x/sub/one.txt": "1\n", "x/sub/deeper/two.txt": "2\n", "y/keep.txt": "k\n",
                            "gone/a.txt": "a\n", "gone/inner/b.txt": "b\n", "file.txt": "f\n"])
        let plain = a.location.plain
        // A tree created at once (the watcher names only its top directory).
        try write(a, "new/d1/d2/three.txt", "3\n")
        var report = try partial(a, ["new": true])
        #expect(report.committed.contains("+ new/d1/d2/three.txt") && report.committed.contains("+ new/d1"), "\(report.committed)")
        try expectNothingLeft(a)

        // A directory moved into another one: both ends named; the files keep their lineage (renamed).
        #expect(rename(plain.appending("x/sub").description, plain.appending("y/sub").description) == 0)
        report = try partial(a, ["x/sub": true, "y/sub": true])
        #expect(report.committed.contains("- x/sub/deeper/two.txt") && report.committed.contains("+ y/sub/deeper/two.txt"), "\(report.committed)")
        try expectNothingLeft(a)

        // A whole directory deleted, and a file replaced by a directory.
        try FileSystem.removeTree(plain.appending("gone"))
        try FileSystem.removeTree(plain.appending("file.txt"))
        try write(a, "file.txt/inside.txt", "i\n")
        report = try partial(a, ["gone": true, "file.txt": true])
        #expect(report.committed.contains("- gone/inner/b.txt") && report.committed.contains("- gone"), "\(report.committed)")
        #expect(report.committed.contains("+ file.txt/inside.txt"), "\(report.committed)")
        try expectNothingLeft(a)

        // A directory replaced by a symlink: what was below it is deleted, nothing is followed.
        try FileSystem.removeTree(plain.appending("y"))
        try FileSystem.createSymlink(plain.appending("y"), target: Array("new".utf8))
        // A path below the link (the link's target holds d1) is never followed.
        report = try partial(a, ["y": true, "y/d1": true])
        #expect(report.committed.contains("- y/keep.txt") && report.committed.contains("M y"), "\(report.committed)")
        #expect(!report.committed.contains { $0.contains("y/d1") }, "\(report.committed)")
        try expectNothingLeft(a)
    }

    @Test func anIgnoreFileEditScansEverything() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine(["a/log.tmp": "t\n", "a/b.txt": "b\n"])
        try write(a, "a/c.txt", "not named\n")
        try write(a, ".shadowsyncignore", "*.tmp\n")
        let report = try partial(a, [".shadowsyncignore": false])
        // The whole folder was scanned: the unnamed new file is in, the newly ignored one stays as synced.
        #expect(report.committed.contains("+ .shadowsyncignore") && report.committed.contains("+ a/c.txt"), "\(report.committed)")
        #expect(!report.committed.contains { $0.hasSuffix("log.tmp") }, "\(report.committed)")
        try expectNothingLeft(a)
    }

    @Test func aFileChangingWhileReadIsTakenByTheNextPartialPass() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine(["n/a.txt": "a\n"])
        let plain = a.location.plain
        try write(a, "n/a.txt", "first edit\n")
        var options = SyncOptions()
        options.changedPaths = [try PlainPath("n/a.txt"): false]
        // Replaced after the scan, before it is read: the pass leaves it for later.
        options.onPhase = { phase in
            guard phase == .committing else { return }
            unlink(plain.appending("n/a.txt").description)
        }
        let first = try a.sync(options: options)
        #expect(first.retryLater.count == 1, "\(first.retryLater)")
        try write(a, "n/a.txt", "second edit\n")
        // Named by nothing this time: the engine carries it over.
        let second = try partial(a, [:])
        #expect(second.committed.contains("M n/a.txt"), "\(second.committed)")
        try expectNothingLeft(a)
    }

    @Test func aPartialPassNeverTripsTheEmptiedFolderGuard() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine(["a.txt": "a\n", "b.txt": "b\n", "c/d.txt": "d\n"])
        for p in ["a.txt", "b.txt"] { try FileSystem.removeTree(a.location.plain.appending(p)) }
        let report = try partial(a, ["a.txt": false, "b.txt": false])
        #expect(report.committed.sorted() == ["- a.txt", "- b.txt"], "\(report.committed)")
        try expectNothingLeft(a)
    }
}
