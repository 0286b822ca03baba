import Testing
import Glibc
import ShadowCore
@testable import ShadowSystem

/// Permission bits and modification times: what the scanner reports, and what PlainFolder sets.
@Suite struct MetadataTests {
    let root: BytePath
    let folder: PlainFolder
    init() throws {
        root = try FileSystem.makeTemporaryDirectory(prefix: "shadowfs-meta-")
        folder = PlainFolder(root: root)
    }

    func p(_ s: String) throws -> PlainPath { try PlainPath(s) }

    /// lstat of a path under the root: the entry itself, never a symlink's target.
    func lstatOf(_ s: String) -> Glibc.stat {
        var st = Glibc.stat()
        let rc = root.appending(s).withCString { lstat($0, &st) }
        #expect(rc == 0, "lstat \(s)")
        return st
    }

    func mode(_ s: String) -> UInt32 { UInt32(lstatOf(s).st_mode) & 0o7777 }
    func mtime(_ s: String) -> FileTime { let st = lstatOf(s); return FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: UInt32(st.st_mtim.tv_nsec)) }

    /// Sets a time with the system call directly, so the scanner is checked against something it did not write.
    func touch(_ s: String, _ t: FileTime) {
        let times = [timespec(tv_sec: time_t(t.seconds), tv_nsec: Int(t.nanoseconds)), timespec(tv_sec: time_t(t.seconds), tv_nsec: Int(t.nanoseconds))]
        let rc = root.appending(s).withCString { utimensat(AT_FDCWD, $0, times, AT_SYMLINK_NOFOLLOW) }
        #expect(rc == 0, "utimensat \(s)")
    }

    func write(_ s: String, mode: UInt32) throws {
        try FileSystem.writeAtomically(Array(s.utf8), to: root.appending(s), mode: mode)
    }

    @Test func scannerReportsPermissionsAndOwnTimes() throws {
        defer { try? FileSystem.removeTree(root) }
        try FileSystem.createDirectory(root.appending("d"))
        #expect(root.appending("d").withCString { chmod($0, 0o711) } == 0)  // exact whatever the umask
        try write("d/private", mode: 0o640)
        try write("run", mode: 0o751)
        try FileSystem.createSymlink(root.appending("link"), target: Array("run".utf8))
        let times: [String: FileTime] = [
            "d/private": FileTime(seconds: 1_767_225_600, nanoseconds: 123_456_789),
            "run": FileTime(seconds: -315_619_200, nanoseconds: 5),          // before 1970
            "link": FileTime(seconds: 10_413_792_000, nanoseconds: 999_999_999),  // 2300: past an Int64 of nanoseconds
            "d": FileTime(seconds: 1_000_000_000, nanoseconds: 1),
        ]
        for (path, t) in times { touch(path, t) }
        let report = try Scanner.scan(root)
        let expected: [String: UInt32] = ["d": 0o711, "d/private": 0o640, "run": 0o751, "link": 0o777]
        for (path, bits) in expected {
            let e = try #require(report.entry(at: try p(path)), "\(path)")
            #expect(e.permissions == bits, "\(path)")
            #expect(e.modified == times[path], "\(path)")
            #expect(try folder.entry(try p(path)) == e, "\(path): entry() agrees with the scan")
        }
        // The link's own time, not the target's.
        #expect(report.entry(at: try p("link"))?.modified != report.entry(at: try p("run"))?.modified)
    }

    @Test func privateFileIsNeverWiderThanItsMode() throws {
        defer { try? FileSystem.removeTree(root) }
        let t = FileTime(seconds: 1_767_225_600, nanoseconds: 987_654_321)
        for (name, bits) in [("secret", UInt32(0o600)), ("shared", 0o664), ("none", 0o000)] {
            var tempModes: [UInt32] = []
            let (stat, _) = try folder.writeFile(try p("sub/\(name)"), mode: bits, modified: t, placement: .create) { (sink) throws(ShadowError) in
                // While bytes are written the file exists only under its temporary name: it already has the mode.
                for n in try FileSystem.list(root.appending("sub")) where n.starts(with: Array(AtomicFileWriter.temporaryPrefix.utf8)) {
                    tempModes.append(try FileSystem.permissions(of: root.appending("sub").appending(bytes: n)))
                }
                try Array("payload".utf8).withBytes { (b) throws(ShadowError) in try sink.write(b) }
            }
            #expect(tempModes == [bits], "\(name): the temporary file had \(tempModes.map { String($0, radix: 8) })")
            #expect(mode("sub/\(name)") == bits, "\(name)")
            #expect(mtime("sub/\(name)") == t, "\(name)")
            #expect(try folder.entry(try p("sub/\(name)"))?.stat == stat)
        }
        #expect(thrownCode { try folder.writeFile(try p("suid"), mode: 0o4755, placement: .create) { _ in } } == .invalidArgument)
        #expect(folder.entryOrNil("suid") == nil)
    }

    @Test func symlinkTimeIsTheLinksNotTheTargets() throws {
        defer { try? FileSystem.removeTree(root) }
        let targetTime = FileTime(seconds: 1_500_000_000, nanoseconds: 1)
        try write("target", mode: 0o644)
        touch("target", targetTime)
        let linkTime = FileTime(seconds: 1_600_000_000, nanoseconds: 222_333_444)
        try folder.writeSymlink(try p("link"), target: Array("target".utf8), modified: linkTime, placement: .create)
        #expect(mtime("link") == linkTime)
        #expect(mtime("target") == targetTime)

        // Changing an existing link: its time moves, its target's mode and time do not.
        let later = FileTime(seconds: 1_700_000_000, nanoseconds: 7)
        let stat = try folder.setAttributes(try p("link"), permissions: 0o600, modified: later)
        #expect(mtime("link") == later)
        #expect(mtime("target") == targetTime)
        #expect(mode("target") == 0o644)
        #expect(try folder.entry(try p("link"))?.stat == stat)
    }

    @Test func directoriesGetTheirModeAndTime() throws {
        defer { try? FileSystem.removeTree(root) }
        let t = FileTime(seconds: 1_234_567_890, nanoseconds: 500)
        try folder.createDirectory(try p("a/private"), permissions: 0o700, modified: t)
        #expect(mode("a/private") == 0o700)
        #expect(mtime("a/private") == t)
        // An existing directory is left as it is.
        try folder.createDirectory(try p("a/private"), permissions: 0o755, modified: FileTime(seconds: 1, nanoseconds: 0))
        #expect(mode("a/private") == 0o700)
        #expect(mtime("a/private") == t)
        // setAttributes changes it, and a directory's time can be set after its contents were written.
        try write("a/private/f", mode: 0o644)
        try folder.setAttributes(try p("a/private"), permissions: 0o750, modified: t)
        #expect(mode("a/private") == 0o750)
        #expect(mtime("a/private") == t)
    }

    @Test func setAttributesComparesAndSwaps() throws {
        defer { try? FileSystem.removeTree(root) }
        try write("f", mode: 0o644)
        let before = try #require(try folder.entry(try p("f")))
        let t = FileTime(seconds: 1_111_111_111, nanoseconds: 111)
        let after = try folder.setAttributes(try p("f"), permissions: 0o640, modified: t, expected: before.stat)
        #expect(mode("f") == 0o640)
        #expect(mtime("f") == t)
        #expect(after != before.stat)
        // The old stat no longer describes the file: nothing changes.
        #expect(thrownCode { try folder.setAttributes(try p("f"), permissions: 0o666, modified: FileTime(seconds: 5, nanoseconds: 0), expected: before.stat) } == .sourceChanged)
        #expect(mode("f") == 0o640)
        #expect(mtime("f") == t)
        #expect(thrownCode { try folder.setAttributes(try p("f"), permissions: 0o2640) } == .invalidArgument)
        #expect(thrownCode { try folder.setAttributes(try p("missing"), permissions: 0o600) } == .notFound)
        #expect(mode("f") == 0o640)
    }
}

/// What the engine relies on when it applies metadata: the stats these calls return are the ones the
/// next scan sees, compare-and-swap still holds, and a permissions-only change shows.
@Suite struct MetadataApplyTests {
    let root: BytePath
    let folder: PlainFolder
    init() throws {
        root = try FileSystem.makeTemporaryDirectory(prefix: "shadowfs-apply-")
        folder = PlainFolder(root: root)
    }

    func p(_ s: String) throws -> PlainPath { try PlainPath(s) }
    func text(_ s: String) throws -> String { String(decoding: try FileSystem.readFile(root.appending(s)), as: UTF8.self) }
    func write(_ sink: ByteSink, _ s: String) throws(ShadowError) { try Array(s.utf8).withBytes { (b) throws(ShadowError) in try sink.write(b) } }

    /// A directory's time is set last (its new entries move it); then every returned stat settles the next scan.
    @Test func returnedStatsSettleTheNextScan() throws {
        defer { try? FileSystem.removeTree(root) }
        let t = FileTime(seconds: 1_600_000_000, nanoseconds: 42)
        try folder.createDirectory(try p("d"), permissions: 0o750, modified: t)
        let (fileStat, _) = try folder.writeFile(try p("d/f"), mode: 0o640, modified: t, placement: .create) { (sink) throws(ShadowError) in try write(sink, "one") }
        let (runStat, _) = try folder.writeFile(try p("d/run"), mode: 0o700, modified: t, placement: .create) { (sink) throws(ShadowError) in try write(sink, "#!/bin/sh") }
        let moved = try #require(try folder.entry(try p("d")))
        #expect(moved.modified != t, "writing d/f moved the directory's time")
        let dirStat = try folder.setAttributes(try p("d"), modified: t)
        #expect(try folder.entry(try p("d"))?.modified == t)

        let builder = ExpectedTree.Builder()
        for (path, kind, stat) in [("d", ExpectedTree.Kind.directory, dirStat), ("d/f", .file, fileStat), ("d/run", .executableFile, runStat)] {
            Array(path.utf8).withUnsafeBytes { builder.add($0, kind: kind, stat: stat) }
        }
        let report = try Scanner.scan(root, expected: builder.build())
        #expect(Set(report.settled.map(\.description)) == ["d", "d/f", "d/run"])
        #expect(report.entries.isEmpty)
    }

    @Test func replacingKeepsCompareAndSwapAndSetsModeAndTime() throws {
        defer { try? FileSystem.removeTree(root) }
        let (old, _) = try folder.writeFile(try p("f"), mode: 0o644, placement: .create) { (sink) throws(ShadowError) in try write(sink, "old") }
        let t = FileTime(seconds: 1_700_000_000, nanoseconds: 999_999_999)
        let (new, _) = try folder.writeFile(try p("f"), mode: 0o600, modified: t, placement: .replace(expected: old)) { (sink) throws(ShadowError) in try write(sink, "new") }
        let now = try #require(try folder.entry(try p("f")))
        #expect(try text("f") == "new")
        #expect(now.permissions == 0o600 && now.modified == t && now.stat == new)
        // The stale stat of the old version no longer matches: nothing is replaced, not even the mode.
        #expect(thrownCode { try folder.writeFile(try p("f"), mode: 0o666, modified: .epoch, placement: .replace(expected: old)) { (sink) throws(ShadowError) in try write(sink, "lost") } } == .sourceChanged)
        #expect(try text("f") == "new")
        #expect(try folder.entry(try p("f")) == now)
        #expect(try FileSystem.list(root).count == 1, "no temporary file is left behind")

        // A symlink is replaced the same way, with its own time.
        let link = try folder.writeSymlink(try p("l"), target: Array("f".utf8), placement: .create)
        try folder.writeSymlink(try p("l"), target: Array("elsewhere".utf8), modified: t, placement: .replace(expected: link))
        let e = try #require(try folder.entry(try p("l")))
        #expect(e.kind == .symlink(target: Array("elsewhere".utf8)) && e.modified == t)
        #expect(thrownCode { try folder.writeSymlink(try p("l"), target: Array("x".utf8), placement: .replace(expected: link)) } == .sourceChanged)
    }

    /// A chmod that keeps the executable bit is still seen: its ctime no longer matches the expected
    /// stat, and the scan reports the new bits.
    @Test func permissionsOnlyChangeIsNotSettled() throws {
        defer { try? FileSystem.removeTree(root) }
        let (stat, _) = try folder.writeFile(try p("f"), mode: 0o644, modified: FileTime(seconds: 1_500_000_000, nanoseconds: 0), placement: .create) { (sink) throws(ShadowError) in try write(sink, "x") }
        // File timestamps advance by the kernel's clock tick (a few milliseconds): wait for the next one.
        usleep(30_000)
        #expect(root.appending("f").withCString { chmod($0, 0o664) } == 0)
        let builder = ExpectedTree.Builder()
        Array("f".utf8).withUnsafeBytes { builder.add($0, kind: .file, stat: stat) }
        let report = try Scanner.scan(root, expected: builder.build())
        #expect(report.settledIDs.isEmpty)
        #expect(report.entry(at: try p("f"))?.permissions == 0o664)
        #expect(report.entry(at: try p("f"))?.modified == FileTime(seconds: 1_500_000_000, nanoseconds: 0), "a chmod leaves the mtime")
    }
}

extension PlainFolder {
    func entryOrNil(_ s: String) -> ScannedEntry? { (try? PlainPath(s)).flatMap { try? entry($0) } }
}
