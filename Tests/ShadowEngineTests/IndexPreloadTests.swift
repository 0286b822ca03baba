import Testing
import Glibc
import ShadowCore
import ShadowSystem
@testable import ShadowEngine

/// The index read ahead of the folder's lock is used only while the file is still the one read.
@Suite struct IndexPreloadTests {
    func index(head: Character) throws -> SyncIndex {
        var index = SyncIndex()
        index.head = ObjectID(hex: String(repeating: String(head), count: 40))!
        index.entries[try PlainPath("a.txt")] = IndexEntry(kind: .directory, fileID: .zero,
                                                           stat: StatKey(size: 1, mtimeNs: 2, ctimeNs: 3, inode: 4, device: 5))
        return index
    }

    @Test func aPreloadedIndexIsKeptOnlyWhileItsFileIsUnchanged() throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "index-preload-")
        defer { try? FileSystem.removeTree(base) }
        let location = FolderLocation(plain: base.appending("plain"), shadow: base.appending("shadow"), state: base.appending("state"))
        try FileSystem.createDirectories(location.state, mode: 0o700)
        var first = try index(head: "a"), second = try index(head: "b")
        try first.save(location.indexFile)

        // Unchanged: the preloaded index, with the file's entries.
        var kept = try #require(IndexPreload(location).take(location))
        #expect(kept.head == first.head && kept.entries.keys.map(\.description) == ["a.txt"])

        // Replaced after it was read (another process's save): the file is read again.
        let stale = IndexPreload(location)
        stale.waitUntilRead()
        try second.save(location.indexFile)
        #expect(stale.take(location)?.head == second.head)

        // Removed after it was read: no index, as a load would find.
        let gone = IndexPreload(location)
        gone.waitUntilRead()
        #expect(unlink(location.indexFile.description) == 0)
        #expect(gone.take(location) == nil)

        // Read ahead for another folder (the CLI's guess was wrong): this folder's index is read.
        try first.save(location.indexFile)
        let other = FolderLocation(plain: base.appending("p2"), shadow: base.appending("s2"), state: base.appending("s2state"))
        try FileSystem.createDirectories(other.state, mode: 0o700)
        try second.save(other.indexFile)
        #expect(IndexPreload(other).take(location)?.head == first.head)
        #expect(IndexPreload(resolving: { nil }).take(location)?.head == first.head)
        #expect(unlink(location.indexFile.description) == 0)

        // Never there: no index either, and nothing left running.
        #expect(IndexPreload(location).take(location) == nil)
        _ = IndexPreload(location)
    }
}
