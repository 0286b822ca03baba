import ShadowCore
import ShadowEngine
import ShadowSystem
import Testing
@testable import ShadowAgent

@Suite struct FolderBrowserTests {
    /// Conflict choices and restores compare and copy files a chunk at a time: equal across chunk
    /// boundaries, unequal at the last byte or by one byte of length, copied whole.
    @Test func filesAreComparedAndCopiedAChunkAtATime() throws {
        let size = FolderBrowser.chunkBytes * 3 + 17
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var lastDiffers = bytes
        lastDiffers[size - 1] ^= 1
        #expect(try FolderBrowser.sameBytes(MemorySource(bytes), MemorySource(bytes)))
        #expect(try !FolderBrowser.sameBytes(MemorySource(bytes), MemorySource(lastDiffers)))
        #expect(try !FolderBrowser.sameBytes(MemorySource(bytes), MemorySource(bytes + [0])))
        #expect(try FolderBrowser.sameBytes(MemorySource([]), MemorySource([])))
        let sink = MemorySink()
        try FolderBrowser.copy(MemorySource(bytes), to: sink)
        #expect(sink.bytes == bytes)
    }

    @Test func aConflictCopyNamesItsOriginal() throws {
        func original(_ s: String) throws -> String? { ConflictNames.original(of: try PlainPath(s))?.description }
        #expect(try original("notes/plan.sync-conflict-20261203-094947-a8e49617.txt") == "notes/plan.txt")
        #expect(try original("plan.sync-conflict-20261203-094947-a8e49617-2.txt") == "plan.txt")
        #expect(try original("Makefile.sync-conflict-20261203-094947-a8e49617") == "Makefile")
        #expect(try original("a.tar.sync-conflict-20261203-094947-a8e49617.gz") == "a.tar.gz")
        #expect(try original("x.sync-conflict-2026") == nil)
    }

    @Test func aRemotePasswordIsNeverShown() {
        #expect(FolderBrowser.withoutPassword("https://alice:s3cret@example.org/v.git") == "https://alice:***@example.org/v.git")
        #expect(FolderBrowser.withoutPassword("ssh://git@example.org:2222/v.git") == "ssh://git@example.org:2222/v.git")
        #expect(FolderBrowser.withoutPassword("git@example.org:v.git") == "git@example.org:v.git")
    }

    @Test func aStampRoundTrips() throws {
        let s = StatKey(size: 12, mtimeNs: -5, ctimeNs: 1_700_000_000_123_456_789, inode: 99, device: 2049)
        #expect(try FolderBrowser.stat(FolderBrowser.stamp(s)) == s)
        #expect(throws: ShadowError.self) { try FolderBrowser.stat("12:3") }
    }
}
