import Testing
import Glibc
import ShadowCore
@testable import ShadowSystem

@Suite struct AtomicWriteTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowfs-test-") }

    func leftovers() throws -> [[UInt8]] {
        try FileSystem.list(dir).filter { $0.starts(with: Array(AtomicFileWriter.temporaryPrefix.utf8)) }
    }

    @Test func writesWithExactModeEvenUnderARestrictiveUmask() throws {
        defer { try? FileSystem.removeTree(dir) }
        let old = umask(0o077)
        defer { umask(old) }
        let p = dir.appending("plain.txt")
        try FileSystem.writeAtomically(Array("one".utf8), to: p, mode: 0o644)
        #expect(try FileSystem.permissions(of: p) == 0o644)
        try FileSystem.writeAtomically(Array("two".utf8), to: p, mode: 0o600)
        #expect(try FileSystem.readFile(p) == Array("two".utf8))
        #expect(try FileSystem.permissions(of: p) == 0o600)
        #expect(try leftovers().isEmpty)
    }

    @Test func abandonedWriterLeavesTargetUntouched() throws {
        defer { try? FileSystem.removeTree(dir) }
        let p = dir.appending("keep.txt")
        try FileSystem.writeAtomically(Array("original".utf8), to: p, mode: 0o644)
        do {
            let w = try AtomicFileWriter(destination: p)
            try Array("half of a new ver".utf8).withBytes { (b) throws(ShadowError) in try w.write(b) }
            // dropped without commit, as after a failed decryption
        }
        #expect(try FileSystem.readFile(p) == Array("original".utf8))
        #expect(try leftovers().isEmpty)
    }

    @Test func neverWritesThroughASymlink() throws {
        defer { try? FileSystem.removeTree(dir) }
        let outside = dir.appending("outside")
        try FileSystem.writeAtomically(Array("victim".utf8), to: outside, mode: 0o644)
        let link = dir.appending("link")
        try FileSystem.createSymlink(link, target: outside.bytes)
        // Reading through the link is refused; writing replaces the link itself, never the target.
        #expect(thrownCode { _ = try FileSource(link) } == .invalidPath)
        try FileSystem.writeAtomically(Array("new".utf8), to: link, mode: 0o644)
        #expect(try FileSystem.readFile(outside) == Array("victim".utf8))
        #expect(try FileSystem.readFile(link) == Array("new".utf8))
    }

    @Test func nonUTF8AndLongNames() throws {
        defer { try? FileSystem.removeTree(dir) }
        let odd = dir.appending(bytes: [0x66, 0xff, 0xfe])
        let long = dir.appending(bytes: [UInt8](repeating: 0x6c, count: 255))
        try FileSystem.writeAtomically([1, 2, 3], to: odd, mode: 0o644)
        try FileSystem.writeAtomically([4], to: long, mode: 0o644)
        #expect(try FileSystem.readFile(odd) == [1, 2, 3])
        #expect(Set(try FileSystem.list(dir)) == Set([[0x66, 0xff, 0xfe], [UInt8](repeating: 0x6c, count: 255)]))
    }

    @Test func createsMissingParents() throws {
        defer { try? FileSystem.removeTree(dir) }
        let deep = dir.appending("a").appending("b").appending(bytes: [0xff])
        try FileSystem.createDirectories(deep)
        try FileSystem.createDirectories(deep)   // idempotent
        try FileSystem.writeAtomically([7], to: deep.appending("f"), mode: 0o600)
        #expect(try FileSystem.readFile(deep.appending("f")) == [7])
    }

    @Test func errorsAreClassified() throws {
        defer { try? FileSystem.removeTree(dir) }
        #expect(thrownCode { _ = try FileSource(dir.appending("missing")) } == .notFound)
        #expect(thrownCode { _ = try FileSource(dir) } == .invalidArgument)
        #expect(thrownCode { try FileSystem.writeAtomically([1], to: dir.appending("no/such/dir"), mode: 0o644) } == .notFound)
    }
}

func thrownCode(_ body: () throws -> Void) -> ShadowError.Code? {
    do { try body(); return nil } catch let e as ShadowError { return e.code } catch { return .ioFailure }
}
