import Testing
import ShadowCore
import ShadowCrypto
import ShadowSystem
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

    /// Entries are written in path order; a file with a path twice (or out of order) is refused by both
    /// readers, so the lazy one's tree and the table decoded later can never disagree about an entry.
    @Test func anIndexWithAPathTwiceOrOutOfOrderIsRefused() throws {
        let stat = StatKey(size: 1, mtimeNs: 1, ctimeNs: 1, inode: 1, device: 1)
        func entry(_ path: String, size: UInt64) -> [UInt8] {
            var w = ByteWriter()
            w.blob(Array(path.utf8), width: 2)
            w.u8(1); w.u64(size); w.bytes(Array(repeating: 7, count: 32)); w.u8(0); w.bytes(Array(repeating: 1, count: FileID.size))
            w.u64(0o644); w.u64(0); w.u64(0); w.bytes(EntryMetadata.unknownDevice)  // mode, mtime seconds and ns, device
            w.u8(1); w.u64(stat.size); w.u64(UInt64(stat.mtimeNs)); w.u64(UInt64(stat.ctimeNs)); w.u64(stat.inode); w.u64(stat.device)
            return w.out
        }
        func file(_ entries: [[UInt8]]) -> [UInt8] {
            var w = ByteWriter()
            w.bytes(SyncIndex.magic); w.u8(SyncIndex.version); w.blob([], width: 1)
            w.u64(1_700_000_000_000_000_000); w.u64(UInt64(entries.count))
            for e in entries { w.bytes(e) }
            return w.out
        }
        // Byte order: "." (0x2e) sorts before "/" (0x2f).
        let ordered = file([entry("a", size: 1), entry("a.txt", size: 1), entry("a/b", size: 1)])
        var good = try #require(SyncIndex.load(bytes: ordered))
        #expect(good.count == 3 && good.expectedTree().count == 3)
        for bad in [file([entry("a", size: 1), entry("a", size: 2)]), file([entry("b", size: 1), entry("a", size: 1)])] {
            #expect(SyncIndex.load(bytes: bad) == nil)
            #expect(throws: ShadowError.self) { _ = try SyncIndex.decode(bad) }
        }
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

    /// The `vault.json` of Docs/FORMAT.md §8, byte for byte.
    @Test func vaultDescriptorOfTheFormatVectors() throws {
        let vector = try VaultKeys(vaultSecretBytes: Array(0..<32))
        let expected = #"{"format":"shdw/4","vault_id":"140cc60fcd4d3ffc0629840d4b1519d5","root_public_key":"d38ab8dff365f53276f2d84a51c5835f601f2c996f297e326e874037b77af8b2","recovery_public_key":"b3cfd2dadf2f3ac36da5b90295d3713d8022cb7ef4d33fc1f73e6e3fa845db66","content":{"chunk_log2":16,"padding":"padme"},"names":{"locator_bits":160,"record_quantum":64},"signature":"f377af587178ffcdee514d32bae4695e36e825ff09ef9c88a154bb3e55f65bbc89dddb698a8b74127da5e397189ff913b0d147e233354378c75cfa60c4d9540d"}"# + "\n"
        #expect(String(decoding: try VaultDescriptor.make(vector), as: UTF8.self) == expected)
        try VaultDescriptor.verify(Array(expected.utf8), keys: vector, commit: commit)
    }

    /// A genuine descriptor of another format is named as such; a forged one is still tampering.
    @Test func vaultDescriptorOfAnotherFormatIsRefusedByName() throws {
        let good = String(decoding: try VaultDescriptor.make(keys), as: UTF8.self)
        #expect(good.hasPrefix("{\"format\":\"shdw/4\","))
        let body = String(good[..<good.range(of: ",\"signature\"")!.lowerBound]).replacing("shdw/4", with: "shdw/3")
        let signature = Signatures.text(try Signatures.sign(Array(body.utf8), purpose: .vaultDescriptor, keys: keys))
        let old = Array((body + ",\"signature\":\"\(signature)\"}\n").utf8)
        do { try VaultDescriptor.verify(old, keys: keys, commit: commit); Issue.record("a shdw/3 descriptor verified") } catch {
            #expect(error.code == .unsupportedVersion)
            #expect(error.message.contains("shdw/3"))
        }
        let forged = Array(good.replacing("shdw/4", with: "shdw/3").utf8)
        #expect(throws: ShadowError.self) { try VaultDescriptor.verify(forged, keys: keys, commit: commit) }
        do { try VaultDescriptor.verify(forged, keys: keys, commit: commit) } catch { #expect(error.code == .malformedObject) }
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
