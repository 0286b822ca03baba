import Testing
import TestSupport
import Foundation
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// A writer machine, a reader machine and a bare repository; the "server" is attacked with the git CLI.
final class TwoMachines {
    let dir: BytePath
    let keys = VaultKeys.generate()
    let remote: BytePath
    let writer: GitRepository
    let reader: GitRepository
    let committer: ShadowCommitter
    var sequence: UInt64 = 0
    var head: ObjectID?

    init() throws {
        dir = try FileSystem.makeTemporaryDirectory(prefix: "verifier-test-")
        remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        writer = try GitRepository.createWorkTree(at: dir.appending("writer"))
        try writer.exclude("/vault.key")
        try writer.setRemote(url: remote.description)
        reader = try GitRepository.createWorkTree(at: dir.appending("reader"))
        try reader.setRemote(url: remote.description)
        committer = try ShadowCommitter(keys: keys, store: writer, shadowRoot: writer.path, deviceID: Array(repeating: 7, count: 16))
    }

    deinit { try? FileSystem.removeTree(dir) }

    /// Writes files and pushes one signed commit.
    @discardableResult
    func push(_ files: [String: String]) throws -> ObjectID {
        for (path, text) in files {
            let p = try PlainPath(path)
            try committer.objects.writeFile(p, from: MemorySource(Array(text.utf8)), fileID: FileID.forNewPath(p, keys: try keys.requireRead()), executable: false)
        }
        sequence += 1
        let c = try committer.commit(parents: head.map { [$0] } ?? [], sequence: sequence, wallTimeMillis: 1000 * sequence)
        try writer.setReference(GitRepository.branch, to: c, expecting: head)
        try writer.push()
        head = c
        return c
    }

    func verifier(_ keys: VaultKeys? = nil) -> HistoryVerifier { HistoryVerifier(keys: keys ?? self.keys, store: reader) }

    /// Runs git against the bare repository, as a hostile server operator would.
    func serverGit(_ args: [String]) throws -> String {
        let r = try TestProcess.run("/usr/bin/git", ["-c", "user.name=mallory", "-c", "user.email=m@evil"] + args)
        #expect(r.status == 0, "git \(args): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite struct HistoryVerifierTests {
    @Test func verifiedFetchDecryptsTheTree() throws {
        let m = try TwoMachines()
        try m.push(["notes/a.txt": "alpha", "b": "beta"])
        let c2 = try m.push(["notes/a.txt": "alpha 2"])
        let head = try #require(try m.reader.fetch())
        #expect(head == c2)
        let v = try m.verifier().verify(head: head, lastVerified: nil, knownSequences: [:])
        #expect(v.newCommits == 2)
        #expect(Set(v.entries.keys) == Set([try PlainPath("notes/a.txt"), try PlainPath("b")]))
        #expect(v.deviceSequences.values.first == 2)
        // The content object decrypts under the SIV its name record pins.
        let entry = try #require(v.entries[try PlainPath("notes/a.txt")])
        guard case .file(let length, let siv, _) = entry.record.kind else { Issue.record("not a file"); return }
        #expect(length == 7)
        let plain = try ContentCipher(keys: try m.keys.requireRead()).decrypt(try m.reader.blob(try #require(entry.contentObject), limit: 1 << 20), expectedSIV: siv)
        #expect(plain == Array("alpha 2".utf8))
        // Incremental: only what is new since the last verified head.
        let c3 = try m.push(["c": "gamma"])
        let v2 = try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: c2, knownSequences: v.deviceSequences)
        #expect(v2.head == c3 && v2.newCommits == 1 && v2.entries.count == 3)
    }

    @Test func rollbackIsRefused() throws {
        let m = try TwoMachines()
        let c1 = try m.push(["a": "1"])
        let c2 = try m.push(["a": "2"])
        _ = try m.serverGit(["-C", m.remote.description, "update-ref", "refs/heads/main", c1.hex])
        let head = try #require(try m.reader.fetch())
        #expect(head == c1)
        let error = caught {
            _ = try m.verifier().verify(head: head, lastVerified: c2, knownSequences: [:])
        }
        #expect(error != nil, "rollback accepted")
        #expect(error?.code == .historyRewritten)
        #expect(error?.message.contains("rolled back") == true)
    }

    @Test func unsignedInjectedCommitIsRefused() throws {
        let m = try TwoMachines()
        let c1 = try m.push(["a": "1"])
        // The server adds a commit with plain git on top of the signed one.
        let clone = m.dir.appending("evil").description
        _ = try m.serverGit(["clone", "-q", m.remote.description, clone])
        try FileManager.default.createDirectory(atPath: clone + "/d/a/a", withIntermediateDirectories: true)
        try Data("junk".utf8).write(to: URL(fileURLWithPath: clone + "/d/a/a/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.n"))
        _ = try m.serverGit(["-C", clone, "add", "-A"])
        _ = try m.serverGit(["-C", clone, "commit", "-q", "-m", "Shdw-Meta: 00"])
        _ = try m.serverGit(["-C", clone, "push", "-q", "origin", "main"])
        let head = try #require(try m.reader.fetch())
        let error = caught {
            _ = try m.verifier().verify(head: head, lastVerified: c1, knownSequences: [:])
        }
        #expect(error != nil, "unsigned commit accepted")
        #expect(error?.code == .signatureInvalid)
        #expect(error?.message.contains("not signed") == true)
    }

    @Test func commitSignedByAnotherKeyIsRefused() throws {
        // What a read-only member (or another vault) can produce: a well-formed commit it signed itself.
        let m = try TwoMachines()
        let c1 = try m.push(["a": "1"])
        let impostor = VaultKeys.generate()
        let tree = try m.writer.stageAll()
        let meta = try CommitMessage.make(CommitMetadata(deviceID: Array(repeating: 9, count: 16), sequence: 1, wallTimeMillis: 0, epoch: 0), keys: m.keys)
        let forged = try m.writer.createCommit(tree: tree, parents: [c1], message: meta) { (b) throws(ShadowError) -> String in
            Signatures.text(try Signatures.sign(b, purpose: .commit, keys: impostor))
        }
        try m.writer.setReference(GitRepository.branch, to: forged, expecting: c1)
        try m.writer.push()
        let error = caught {
            _ = try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: c1, knownSequences: [:])
        }
        #expect(error != nil, "forged commit accepted")
        #expect(error?.code == .signatureInvalid)
        // And the read-only key itself cannot sign at all.
        let ro = try m.keys.attenuated(to: .readOnly)
        #expect(throws: ShadowError.self) { _ = try Signatures.sign([1], purpose: .commit, keys: ro) }
    }

    @Test func replayedSequenceIsRefused() throws {
        let m = try TwoMachines()
        try m.push(["a": "1"])
        m.sequence = 0   // the device "forgets" and reuses sequence 1: exactly what a replayed commit looks like
        try m.push(["a": "2"])
        let error = caught {
            _ = try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:])
        }
        #expect(error != nil, "replayed sequence accepted")
        #expect(error?.code == .replayedCommit)
    }

    /// The walk goes parent by parent from the new head and stops at verified history, also where a
    /// merge reaches below the last verified head through its second parent.
    @Test func theWalkStopsAtVerifiedHistoryBehindAMerge() throws {
        let m = try TwoMachines()
        let c1 = try m.push(["a": "1"])
        try m.push(["a": "2"])
        let c3 = try m.push(["a": "3"])
        let v = try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:])
        #expect(v.newCommits == 3 && v.deviceTimes.values.first == 3000)
        m.sequence += 1
        let merge = try m.committer.commit(parents: [c3, c1], sequence: m.sequence, wallTimeMillis: 1000 * m.sequence)
        try m.writer.setReference(GitRepository.branch, to: merge, expecting: c3)
        try m.writer.push()
        let v2 = try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: c3, knownSequences: v.deviceSequences)
        #expect(v2.newCommits == 1 && v2.deviceSequences.values.first == 4)
    }

    /// More new commits than the bound: refused before the walk goes on, blaming the server.
    @Test func theWalkIsBoundedInCommits() throws {
        let m = try TwoMachines()
        for i in 0..<3 { try m.push(["a": "\(i)"]) }
        var verifier = m.verifier()
        verifier.newCommitLimit = 2
        let error = caught { _ = try verifier.verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:]) }
        #expect(error?.code == .malformedObject && error?.message.contains("more than 2 new commits") == true, "\(String(describing: error))")
        verifier.newCommitLimit = 3
        #expect(try verifier.verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:]).newCommits == 3)
    }

    @Test func treeMustHoldOnlyShadowObjects() throws {
        let m = try TwoMachines()
        let c1 = try m.push(["a": "1"])
        // A properly signed commit (the test holds the key) that moves a name record to another
        // locator: the verifier's own checks, behind the signature, still refuse it.
        let names = try NameCipher(keys: m.keys)
        let from = m.writer.path.appending(names.locator(for: try PlainPath("a")).nameObjectPath)
        let to = m.writer.path.appending(names.locator(for: try PlainPath("z")).nameObjectPath)
        try FileSystem.createDirectories(to.directory)
        try FileSystem.writeAtomically(try FileSystem.readFile(from), to: to, mode: 0o644)
        try FileSystem.removeTree(from)
        try FileSystem.removeTree(m.writer.path.appending(names.locator(for: try PlainPath("a")).contentObjectPath))
        m.sequence += 1
        let moved = try m.committer.commit(parents: [c1], sequence: m.sequence, wallTimeMillis: 0)
        #expect(throws: ShadowError.self) { _ = try m.verifier().decryptTree(of: moved) }
        #expect(caught { _ = try HistoryVerifier(keys: m.keys, store: m.writer).decryptTree(of: moved) }?.code == .locatorMismatch)
    }

    @Test func committerRefusesAnythingButObjects() throws {
        let m = try TwoMachines()
        try m.push(["a": "1"])
        // The key file is excluded; a stray file is not, and must never be committed.
        try FileSystem.writeAtomically(Array("KEY".utf8), to: m.writer.path.appending("vault.key"), mode: 0o600)
        try FileSystem.writeAtomically(Array("oops".utf8), to: m.writer.path.appending("notes.txt"), mode: 0o644)
        let error = caught {
            _ = try m.committer.commit(parents: [try #require(m.head)], sequence: 9, wallTimeMillis: 0)
        }
        #expect(error != nil, "committed a plaintext file")
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("notes.txt") == true)
    }

    @Test func verifyOnlyKeyChecksSignaturesWithoutDecrypting() throws {
        let m = try TwoMachines()
        let c = try m.push(["secret": "s"])
        let vk = try m.keys.attenuated(to: .verifyOnly)
        let v = try m.verifier(vk).verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:])
        #expect(v.head == c && v.entries.isEmpty)
    }

    @Test func commitMessagesAreStrict() throws {
        let keys = VaultKeys.generate()
        let meta = CommitMetadata(deviceID: Array(repeating: 1, count: 16), sequence: 3, wallTimeMillis: 4, epoch: 0)
        let text = try CommitMessage.make(meta, keys: keys)
        let id = try #require(ObjectID(hex: String(repeating: "a", count: 40)))
        #expect(try CommitMessage.parse(text, commit: id, keys: keys) == meta)
        for bad in [text + "x\n", "hello\n", String(text.dropLast()), "\n" + text] {
            #expect(throws: ShadowError.self) { _ = try CommitMessage.parse(bad, commit: id, keys: keys) }
        }
    }
}

/// The ShadowError `body` threw, nil if it did not throw.
func caught(_ body: () throws -> Void) -> ShadowError? {
    do { try body(); return nil } catch let e as ShadowError { return e } catch { return ShadowError(.ioFailure, "unexpected \(error)") }
}

/// When a join calls the server's head stale.
@Suite struct JoinedHeadTests {
    static let day: UInt64 = 86_400_000
    let now: UInt64 = 1_796_000_000_000

    func head(madeAt millis: UInt64) -> JoinedHead {
        JoinedHead(commit: ObjectID(hex: String(repeating: "ab", count: 20))!, deviceID: "0123abcd", wallTimeMillis: millis)
    }

    @Test func aHeadOlderThanThirtyDaysIsStale() {
        #expect(JoinedHead.staleAfterSeconds == 30 * 24 * 3600)
        #expect(!head(madeAt: now).isStale(nowMillis: now))
        #expect(!head(madeAt: now - 29 * Self.day).isStale(nowMillis: now))
        #expect(!head(madeAt: now - 30 * Self.day).isStale(nowMillis: now))
        #expect(head(madeAt: now - 30 * Self.day - 1000).isStale(nowMillis: now))
        #expect(head(madeAt: now - 400 * Self.day).isStale(nowMillis: now))
        #expect(head(madeAt: now - 400 * Self.day).ageDays(nowMillis: now) == 400)
    }

    @Test func aHeadDatedInTheFutureIsNotStale() {
        #expect(!head(madeAt: now + 10 * Self.day).isStale(nowMillis: now))
        #expect(head(madeAt: now + 10 * Self.day).ageDays(nowMillis: now) == 0)
    }
}
