import Testing
import Foundation
import ShadowCore
@testable import ShadowGit

/// The version 2 pack index PackWriter writes (gitformat-pack): `git verify-pack` checks the ones real
/// packs get (LocalFetchTests); this checks the layout for offsets past 2 GiB, which no test pack reaches.
@Suite struct PackWriterTests {
    func oid(_ first: UInt8, _ last: UInt8) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes[0] = first
        bytes[19] = last
        return bytes
    }

    @Test func theIndexSortsIdsAndMovesLargeOffsetsToTheWideTable() {
        let entries: [(id: [UInt8], offset: UInt64, crc: UInt32)] = [
            (oid(0xff, 1), 12, 0xAAAA_AAAA),
            (oid(0x00, 2), 5 << 30, 0xBBBB_BBBB),   // past 2 GiB: through the 64-bit table
            (oid(0x80, 3), (1 << 31) - 1, 0xCCCC_CCCC),
        ]
        let trailer = [UInt8](repeating: 0x5a, count: 20)
        let index = PackWriter.index(of: entries, packTrailer: trailer)
        func u32(_ at: Int) -> UInt32 { BigEndian.read(UInt32.self, index, at: at) }
        #expect(Array(index[0..<4]) == PackIndex.magic && u32(4) == 2)
        // Fan-out: cumulative counts by first byte.
        #expect(u32(8 + 4 * 0x00) == 1 && u32(8 + 4 * 0x7f) == 1 && u32(8 + 4 * 0x80) == 2 && u32(8 + 4 * 0xff) == 3)
        let ids = PackIndex.idsOffset
        #expect(index[ids] == 0x00 && index[ids + 20] == 0x80 && index[ids + 40] == 0xff)
        let crcs = ids + 3 * 20, offsets = crcs + 3 * 4, wide = offsets + 3 * 4
        #expect(u32(crcs) == 0xBBBB_BBBB && u32(crcs + 4) == 0xCCCC_CCCC && u32(crcs + 8) == 0xAAAA_AAAA)
        #expect(u32(offsets) == 0x8000_0000 && u32(offsets + 4) == (1 << 31) - 1 && u32(offsets + 8) == 12)
        #expect(BigEndian.read(UInt64.self, index, at: wide) == 5 << 30)
        #expect(Array(index[(wide + 8)..<(wide + 28)]) == trailer)
        #expect(index.count == wide + 8 + 40)
        #expect(Array(index.suffix(20)) == SHA1.hash(Array(index.dropLast(20))))
        #expect(PackIndex.objectIDs(writeTemporary(index))?.count == 3)
    }

    func writeTemporary(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "/packwriter-\(UUID().uuidString).idx"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
