import Testing
import Glibc
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// The engine in process against a real libgit2 repository and a local bare remote: a commit large
/// enough for several batches on parallel lanes, with files that vanish or change after the scan and
/// before they are read. Nothing is lost or committed torn, and a second machine gets what is on disk.
@Suite struct CommitLanesTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "commit-lanes-test-") }

    @Test func filesChangingBetweenScanAndReadAreRetriedNotTorn() throws {
        defer { try? FileSystem.removeTree(dir) }
        let keys = VaultKeys.generate()
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try makeEngine(in: dir, "a", keys: keys, remote: remote)
        // More files than one batch (SyncEngine.encryptChunkFiles), one of them larger than the in-memory
        // limit, so it takes the one-at-a-time path beside the lanes.
        let count = SyncEngine.encryptChunkFiles * 2 + 37
        var expected: [String: [UInt8]] = [:]
        for i in 0..<count {
            let path = "d\(i % 7)/f\(i).txt"
            expected[path] = Array("file \(i)\n".utf8) + [UInt8](repeating: UInt8(i % 251), count: i % 300)
        }
        let big = "big.bin"
        expected[big] = (0..<(Int(ShadowObjects.inMemoryContentBytes) + 4097)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for (p, bytes) in expected {
            try FileSystem.createDirectories(a.location.plain.appending(p).directory, mode: 0o755)
            try FileSystem.writeAtomically(bytes, to: a.location.plain.appending(p), mode: 0o644)
        }
        // After the scan, before any file is read: one file vanishes, one is rewritten with other bytes.
        let vanished = "d3/f3.txt", rewritten = "d1/f400.txt"
        let rewrittenBytes = Array("rewritten after the scan, longer than before it\n".utf8)
        let plain = a.location.plain
        var options = SyncOptions()
        options.onPhase = { phase in
            guard phase == .committing else { return }
            unlink(plain.appending(vanished).description)
            try? FileSystem.writeAtomically(rewrittenBytes, to: plain.appending(rewritten), mode: 0o644)
        }
        let first = try a.initialize(options: options)
        #expect(first.retryLater.count == 1 && first.retryLater.first?.hasPrefix(vanished) == true, "\(first.retryLater)")
        #expect(first.committed.count == expected.count - 1 + 7)  // every file but the vanished one, and the directories
        #expect(!first.committed.contains { $0.hasSuffix(vanished) } && first.committed.contains("+ \(rewritten)"))
        expected[vanished] = nil
        expected[rewritten] = rewrittenBytes

        // The next pass has nothing to commit: the rewritten file went in as it is now (its stat, taken
        // after it was replaced, is not trusted, so the pass reads it and finds it the same), and the
        // vanished file was never committed.
        let second = try a.sync()
        #expect(second.committed.isEmpty && second.retryLater.isEmpty, "\(second.committed) \(second.retryLater)")

        // Another machine gets exactly the folder as it is.
        let b = try makeEngine(in: dir, "b", keys: keys, remote: remote)
        _ = try b.join()
        for (p, bytes) in expected {
            #expect(try FileSystem.readFile(b.location.plain.appending(p), limit: 1 << 22) == bytes, "\(p)")
        }
        #expect(!FileSystem.exists(b.location.plain.appending(vanished)))
        var files = 0
        for d in try FileSystem.list(b.location.plain) {
            let sub = b.location.plain.appending(bytes: d)
            files += (try? FileSystem.list(sub).count) ?? 1
        }
        #expect(files == expected.count)
    }
}
