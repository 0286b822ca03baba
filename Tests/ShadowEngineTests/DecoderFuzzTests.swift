import Testing
import ShadowCore
import ShadowCrypto
import ShadowFS
import TestSupport
@testable import ShadowEngine

/// Mutation fuzzing of the engine's decoders: what the server sends (vault.json, commit messages) must
/// never decode once changed; what the agent keeps on disk (index, folder state, journal) may decode to
/// something else after a bit flip (it is a local cache, rebuilt when unreadable) but must never crash.
@Suite struct EngineDecoderFuzzTests {
    let keys = VaultKeys.generate()
    let commit = ObjectID(hex: String(repeating: "ab", count: 20))!

    func seedIndex() throws -> SyncIndex {
        var index = SyncIndex()
        index.head = commit
        index.recordedAtNs = 1_700_000_000_000_000_000
        let stat = StatKey(size: 5, mtimeNs: 1, ctimeNs: 2, inode: 3, device: 4)
        index.entries[try PlainPath(bytes: Array("a/b.txt".utf8))] =
            IndexEntry(kind: .file(length: 5, siv: Array(repeating: 7, count: 32), executable: true), fileID: try FileID(bytes: Array(1...UInt8(FileID.size))), stat: stat)
        index.entries[try PlainPath(bytes: [0x61])] = IndexEntry(kind: .directory, fileID: .zero, stat: nil)
        index.entries[try PlainPath(bytes: [0xff, 0x6c])] = IndexEntry(kind: .symlink(target: Array("../x".utf8)), fileID: .zero, stat: nil, absent: true)
        return index
    }

    @Test func stateFilesNeverCrashTheirDecoders() throws {
        var seed = try seedIndex()
        let index = seed.encode()
        var decoded = try SyncIndex.decode(index)
        #expect(decoded.entries == seed.entries, "the seed must round-trip")
        // The file id's bytes come back in order (it is stored as two words).
        #expect(decoded.entries[try PlainPath("a/b.txt")]?.fileID.bytes == Array(1...UInt8(FileID.size)))
        // The lazy load: the same entries once decoded, and before that a count and the scan's tree.
        var loaded = try #require(SyncIndex.load(bytes: index))
        #expect(loaded.count == 3 && loaded.head == commit)
        let tree = loaded.expectedTree()
        #expect(tree.count == 1, "only the file has a stat that vouches (the directory's is unknown, the symlink is absent)")
        #expect(tree.path(0)?.description == "a/b.txt")
        #expect(loaded.entries == seed.entries)
        var state = FolderState(deviceID: Array(repeating: 1, count: 16))
        state.sequence = 42
        state.lastVerified = commit
        state.peers = ["0102": 7]
        let stateBytes = state.encode()
        #expect(try FolderState.decode(stateBytes).encode() == stateBytes)
        let journals = [JournalPhase.idle, .commit(parent: commit), .merge(parent: nil), .apply(target: commit, from: commit)].map { $0.encode() }
        var m = Mutator(state: 11)
        var refused = (index: 0, state: 0, journal: 0)
        for i in 0..<fuzzIterations {
            let mutated = m.mutate(index)
            let refusedWhole = (try? SyncIndex.decode(mutated)) == nil
            if refusedWhole { refused.index += 1 }
            // The lazy load refuses exactly what the whole decode refuses, and otherwise decodes the same.
            var lazy = SyncIndex.load(bytes: mutated)
            #expect((lazy == nil) == refusedWhole, "mutation \(i)")
            if var whole = try? SyncIndex.decode(mutated), lazy != nil {
                #expect(lazy?.count == whole.count, "mutation \(i): the count before decoding")
                #expect(lazy?.entries == whole.entries, "mutation \(i)")
            }
            if (try? FolderState.decode(m.mutate(stateBytes))) == nil { refused.state += 1 }
            if (try? JournalPhase.decode(m.mutate(journals[i % journals.count]))) == nil { refused.journal += 1 }
        }
        // Most mutations of the binary index are refused outright (magic, lengths, trailing bytes).
        #expect(refused.index > fuzzIterations / 2, "\(refused)")
        #expect(refused.journal > fuzzIterations / 4, "\(refused)")
    }

    @Test func vaultDescriptorNeverVerifiesOnceChanged() throws {
        let good = try VaultDescriptor.make(keys)
        try VaultDescriptor.verify(good, keys: keys, commit: commit)
        var m = Mutator(state: 12)
        for i in 0..<fuzzIterations {
            let bad = m.mutate(good)
            if bad == good { continue }
            do { try VaultDescriptor.verify(bad, keys: keys, commit: commit); Issue.record("mutation \(i) of vault.json verified") } catch {}
        }
    }

    @Test func commitMessagesNeverParseOnceChanged() throws {
        let good = try CommitMessage.make(CommitMetadata(deviceID: Array(repeating: 2, count: 16), sequence: 9, wallTimeMillis: 10, epoch: 0), keys: keys)
        #expect(try CommitMessage.parse(good, commit: commit, keys: keys).sequence == 9)
        var m = Mutator(state: 13)
        for i in 0..<fuzzIterations {
            let bad = m.mutate(good)
            if bad == good { continue }
            do { _ = try CommitMessage.parse(bad, commit: commit, keys: keys); Issue.record("mutation \(i) of a commit message parsed: \(bad.debugDescription)") } catch {}
        }
    }
}
