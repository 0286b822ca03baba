import Testing
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// What `status` reads of a folder: with the key and a scan, without the scan (a daemon's snapshot),
/// and without the key at all (from the folder's files).
@Suite struct StatusTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "status-test-") }

    @Test func withAndWithoutTheScanAndTheKey() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try makeEngine(in: dir, "a", keys: VaultKeys.generate(), remote: remote)
        try FileSystem.writeAtomically(Array("one\n".utf8), to: a.location.plain.appending("doc.txt"), mode: 0o644)
        try FileSystem.writeAtomically(Array("copy\n".utf8), to: a.location.plain.appending("doc.sync-conflict-20261101-101010-abcdef12.txt"), mode: 0o644)
        let head = try #require(try a.initialize().head)
        try FileSystem.writeAtomically(Array("two\n".utf8), to: a.location.plain.appending("new.txt"), mode: 0o644)

        let scanned = try a.status()
        #expect(scanned.pending == ["+ new.txt"] && !scanned.inSync && !scanned.keyLocked)
        let snapshot = try a.status(scanning: false)
        #expect(snapshot.pending == [] && snapshot.head == head && snapshot.lastVerified == head && snapshot.inSync)

        let files = try SyncEngine.statusWithoutKey(location: a.location, store: try GitRepository.open(a.location.shadow))
        #expect(files.keyLocked && !files.inSync && files.pending == [])
        #expect(files.head == head && files.lastVerified == head && files.remoteHead == head && files.sequence == scanned.sequence)
        #expect(files.deviceID == scanned.deviceID && files.devicePushes == scanned.devicePushes)
        #expect(files.conflictCopies == ["doc.sync-conflict-20261101-101010-abcdef12.txt"] && files.conflictCopies == scanned.conflictCopies)
    }
}
