import Testing
import ShadowCore
import ShadowCrypto
import ShadowSystem
@testable import ShadowEngine

/// A large file that changes while it is cut into segments is retried later: the attempt must leave the
/// entry's segment directory as the last written list names it, since the next commit stages it whole.
@Suite struct SegmentWriteTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "segment-write-test-") }

    /// Bytes of the test files: several segments of at most `Segmenting.maximumBytes` each.
    static let fileBytes = 4 << 20
    /// Where the shrinking source ends early: after some segments were already cut.
    static let shrinkAt = 3 << 20

    static func bytes(_ seed: UInt64) -> [UInt8] {
        var x = seed
        return (0..<fileBytes).map { _ in x = x &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: x >> 33) }
    }

    @Test func newFileThatShrinksWhileReadLeavesNoSegmentDirectory() throws {
        defer { try? FileSystem.removeTree(dir) }
        let objects = try ShadowObjects(keys: VaultKeys.generate(), shadowRoot: dir)
        let path = try PlainPath("download.part")
        let source = ShrinkingSource(Self.bytes(1), endsAt: Self.shrinkAt)
        #expect(throws: ShadowError.self) { try objects.writeFile(path, from: source, fileID: try FileID(bytes: Array(1...UInt8(FileID.size))), executable: false) }
        let locator = objects.names.locator(for: path)
        #expect(objects.segmentNames(locator).isEmpty)
        #expect(!FileSystem.exists(dir.appending(locator.segmentDirectoryPath)), "segment directory left behind")
    }

    @Test func changedFileThatShrinksWhileReadKeepsOnlyListedSegments() throws {
        defer { try? FileSystem.removeTree(dir) }
        let objects = try ShadowObjects(keys: VaultKeys.generate(), shadowRoot: dir)
        let path = try PlainPath("video.bin")
        let id = try FileID(bytes: Array(1...UInt8(FileID.size)))
        try objects.writeFile(path, from: MemorySource(Self.bytes(2)), fileID: id, executable: false)
        let locator = objects.names.locator(for: path)
        let before = Set(objects.segmentNames(locator))
        #expect(before.count > 2)
        #expect(throws: ShadowError.self) {
            try objects.writeFile(path, from: ShrinkingSource(Self.bytes(3), endsAt: Self.shrinkAt), fileID: id, executable: false)
        }
        #expect(Set(objects.segmentNames(locator)) == before)
    }
}

/// A source whose reads stop at `endsAt` although it was opened longer: a file truncated while read.
final class ShrinkingSource: ByteSource {
    let data: [UInt8]
    let endsAt: Int
    var length: UInt64 { UInt64(data.count) }
    init(_ data: [UInt8], endsAt: Int) { self.data = data; self.endsAt = endsAt }
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        let start = Int(offset)
        guard start < endsAt else { return 0 }
        let n = min(buffer.count, endsAt - start)
        data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: n) }
        return n
    }
}
