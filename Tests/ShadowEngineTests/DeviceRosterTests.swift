import Testing
import Foundation
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// The device rules of FORMAT.md §4.3, §4.4 and §5.3: who may be admitted, who may sign, what a child
/// commit must keep.
@Suite struct DeviceRosterTests {
    let keys = VaultKeys.generate()
    static let time: UInt64 = 1_767_225_600_000

    /// A `devices/` directory of these files (fake blob ids: a roster compares them, never reads them).
    func directory(_ files: [(String, [UInt8])]) -> DirectoryBlobs {
        DirectoryBlobs(tree: ObjectID(hex: String(repeating: "ab", count: 20))!, blobs: files.map { name, bytes in
            DirectoryBlobs.Blob(name: Array(name.utf8), id: ObjectID(hex: hexString(Array(SHA256.hash(bytes).prefix(20))))!, bytes: bytes)
        })
    }

    func recordFile(_ r: DeviceRecord) -> (String, [UInt8]) { ("\(hexString(r.deviceID)).r", r.bytes) }

    @Test func admissionsChainToTheVaultKey() throws {
        let first = DeviceKeys.generate(), second = DeviceKeys.generate(), reader = DeviceKeys.generate(), third = DeviceKeys.generate()
        let r1 = try DeviceRecord.make(device: first, role: .readWrite, by: nil, keys: keys, atMillis: Self.time)
        let r2 = try DeviceRecord.make(device: second, role: .readWrite, by: first, keys: keys, atMillis: Self.time)
        let r3 = try DeviceRecord.make(device: reader, role: .readOnly, by: second, keys: keys, atMillis: Self.time)
        let name = try DeviceName(deviceID: second.id, sequence: 1, name: "desktop").seal(device: second, keys: keys)
        let roster = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), recordFile(r3), ("\(hexString(second.id)).name", name)]), keys: keys)
        #expect(roster.devices.count == 3)
        #expect(roster.names(keys: keys)[second.id]?.name == "desktop")
        // A read-only device admits nobody: a record it signed is refused with the whole tree.
        let r4 = try DeviceRecord.make(device: third, role: .readWrite, by: reader, keys: keys, atMillis: Self.time)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), recordFile(r3), recordFile(r4)]), keys: keys) } == .signatureInvalid)
        // A device whose admitter is not in the tree.
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r2)]), keys: keys) } == .signatureInvalid)
        // A record claiming the vault key that another vault's key signed.
        let stranger = try DeviceRecord.make(device: third, role: .readWrite, by: nil, keys: VaultKeys.generate(), atMillis: Self.time)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), (recordFile(r4).0, stranger.bytes)]), keys: keys) } == .malformedObject)
        // A record filed under another device's id, and a stray file.
        #expect(thrownCode { _ = try DeviceRoster.check(directory([(recordFile(r1).0, r2.bytes)]), keys: keys) } == .malformedObject)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), ("notes.txt", [1])]), keys: keys) } == .malformedObject)
        // A name signed by another device than the one it names.
        let forged = try DeviceName(deviceID: second.id, sequence: 2, name: "mine now").seal(device: first, keys: keys)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), ("\(hexString(second.id)).name", forged)]), keys: keys) } == .signatureInvalid)
    }

    @Test func anInviteAdmitsOneDeviceOfItsRoleBeforeItExpires() throws {
        let inviter = DeviceKeys.generate(), invite = InviteKeys.generate(), reader = DeviceKeys.generate()
        let r1 = try DeviceRecord.make(device: inviter, role: .readWrite, by: nil, keys: keys, atMillis: Self.time)
        let expires = Self.time + 3_600_000
        let inv = try InviteRecord.make(invite: invite, role: .readWrite, name: nil, inviter: inviter, keys: keys, createdAtMillis: Self.time, expiresAtMillis: expires)
        let inviteFile = ("\(hexString(invite.id)).i", inv.bytes)
        let joined = DeviceKeys.generate(), second = DeviceKeys.generate()
        let a = try DeviceRecord.make(device: joined, role: .readWrite, invite: invite, keys: keys, atMillis: Self.time + 1)
        let roster = try DeviceRoster.check(directory([recordFile(r1), inviteFile, recordFile(a)]), keys: keys)
        #expect(roster.device(admittedBy: invite.id)?.id == joined.id && roster.invites.count == 1)
        // Used twice.
        let b = try DeviceRecord.make(device: second, role: .readWrite, invite: invite, keys: keys, atMillis: Self.time + 2)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), inviteFile, recordFile(a), recordFile(b)]), keys: keys) } == .signatureInvalid)
        // Another role than the invite's, or admitted after it expired.
        let wrongRole = try DeviceRecord.make(device: second, role: .readOnly, invite: invite, keys: keys, atMillis: Self.time + 2)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), inviteFile, recordFile(wrongRole)]), keys: keys) } == .signatureInvalid)
        let late = try DeviceRecord.make(device: second, role: .readWrite, invite: invite, keys: keys, atMillis: expires + 1)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), inviteFile, recordFile(late)]), keys: keys) } == .signatureInvalid)
        // An invite made by a read-only device, or whose inviter is not in the tree, admits nobody.
        let ro = try DeviceRecord.make(device: reader, role: .readOnly, by: inviter, keys: keys, atMillis: Self.time)
        let byReader = try InviteRecord.make(invite: invite, role: .readWrite, name: nil, inviter: reader, keys: keys, createdAtMillis: Self.time, expiresAtMillis: expires)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), recordFile(ro), ("\(hexString(invite.id)).i", byReader.bytes)]), keys: keys) } == .signatureInvalid)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([inviteFile]), keys: keys) } == .signatureInvalid)
        // A child that drops the invite record is refused.
        let without = try DeviceRoster.check(directory([recordFile(r1)]), keys: keys)
        let with = try DeviceRoster.check(directory([recordFile(r1), inviteFile]), keys: keys)
        #expect(with.successorFault(without)?.contains("drops or changes invite") == true)
    }

    @Test func aRevokedDeviceSignsAndVouchesForNothing() throws {
        let laptop = DeviceKeys.generate(), stolen = DeviceKeys.generate(), accomplice = DeviceKeys.generate()
        let r1 = try DeviceRecord.make(device: laptop, role: .readWrite, by: nil, keys: keys, atMillis: Self.time)
        let r2 = try DeviceRecord.make(device: stolen, role: .readWrite, by: laptop, keys: keys, atMillis: Self.time)
        let x = try RevocationRecord.make(stolen.id, by: laptop, vaultID: keys.vaultID, atMillis: Self.time)
        let xFile = ("\(hexString(stolen.id)).x", x.bytes)
        let before = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2)]), keys: keys)
        let after = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), xFile]), keys: keys)
        let body = Array("tree 0".utf8)
        let bySto = Signatures.sign(body, purpose: .commit, device: stolen, vaultID: keys.vaultID)
        #expect(before.commitSigner(bySto, of: body)?.id == stolen.id)
        #expect(after.commitSigner(bySto, of: body) == nil && after.devices[stolen.id]?.isActive == false)
        // The revocation is never dropped, and the revoked device vouches for no one new.
        #expect(after.successorFault(before)?.contains("revocation") == true)
        #expect(DeviceRoster.additionsFault(after, parents: [before]) == nil)
        let r3 = try DeviceRecord.make(device: accomplice, role: .readWrite, by: stolen, keys: keys, atMillis: Self.time)
        let withAccomplice = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), xFile, recordFile(r3)]), keys: keys)
        #expect(DeviceRoster.additionsFault(withAccomplice, parents: [after])?.contains("by revoked device") == true)
        // A revocation signed by a stranger, or of a device not in the tree, is refused.
        let forged = try RevocationRecord.make(laptop.id, by: accomplice, vaultID: keys.vaultID, atMillis: Self.time)
        #expect(thrownCode { _ = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), ("\(hexString(laptop.id)).x", forged.bytes)]), keys: keys) } == .signatureInvalid)
        // Mutual revocation: both end revoked, and a revocation by a device revoked in the same commit is refused as new.
        let back = try RevocationRecord.make(laptop.id, by: stolen, vaultID: keys.vaultID, atMillis: Self.time)
        let both = try DeviceRoster.check(directory([recordFile(r1), recordFile(r2), xFile, ("\(hexString(laptop.id)).x", back.bytes)]), keys: keys)
        #expect(both.devices.values.allSatisfy { !$0.isActive })
        #expect(DeviceRoster.additionsFault(both, parents: [after]) != nil)
    }

    @Test func onlyAdmittedWritersSignCommitsAndChildrenKeepEveryRecord() throws {
        let writer = DeviceKeys.generate(), reader = DeviceKeys.generate(), outsider = DeviceKeys.generate()
        let rw = try DeviceRecord.make(device: writer, role: .readWrite, by: nil, keys: keys, atMillis: Self.time)
        let ro = try DeviceRecord.make(device: reader, role: .readOnly, by: writer, keys: keys, atMillis: Self.time)
        let roster = try DeviceRoster.check(directory([recordFile(rw), recordFile(ro)]), keys: keys)
        let body = Array("tree 0".utf8)
        #expect(roster.commitSigner(Signatures.sign(body, purpose: .commit, device: writer, vaultID: keys.vaultID), of: body)?.id == writer.id)
        #expect(roster.commitSigner(Signatures.sign(body, purpose: .commit, device: reader, vaultID: keys.vaultID), of: body) == nil)
        #expect(roster.commitSigner(Signatures.sign(body, purpose: .commit, device: outsider, vaultID: keys.vaultID), of: body) == nil)
        // A device name signature is no commit signature.
        #expect(roster.commitSigner(Signatures.sign(body, purpose: .deviceName, device: writer, vaultID: keys.vaultID), of: body) == nil)

        let smaller = try DeviceRoster.check(directory([recordFile(rw)]), keys: keys)
        #expect(roster.successorFault(smaller)?.contains("drops or changes the record") == true)
        #expect(smaller.successorFault(roster) == nil)
        let n1 = try DeviceName(deviceID: writer.id, sequence: 1, name: "laptop").seal(device: writer, keys: keys)
        let n2 = try DeviceName(deviceID: writer.id, sequence: 2, name: "old laptop").seal(device: writer, keys: keys)
        let named1 = try DeviceRoster.check(directory([recordFile(rw), ("\(hexString(writer.id)).name", n1)]), keys: keys)
        let named2 = try DeviceRoster.check(directory([recordFile(rw), ("\(hexString(writer.id)).name", n2)]), keys: keys)
        #expect(named1.successorFault(named2) == nil)
        #expect(named2.successorFault(named1)?.contains("older one") == true)
    }

    /// An admitted device that signs a commit dropping another device's record is refused by every reader.
    @Test func aCommitDroppingAnotherDevicesRecordIsRefused() throws {
        let m = try TwoMachines()
        try m.push(["a.txt": "from the first device"])
        // A second device, admitted by the vault key, commits in the same work tree.
        let other = try m.keys.with(device: DeviceKeys.generate())
        let second = try ShadowCommitter(keys: other, store: m.writer, shadowRoot: m.writer.path, deviceName: "second")
        m.sequence += 1
        let c2 = try second.commit(parents: [m.head!], sequence: 1, wallTimeMillis: 2000)
        try m.writer.setReference(GitRepository.branch, to: c2, expecting: m.head)
        try m.writer.push()
        m.head = c2
        #expect(try m.verifier().verify(head: try #require(try m.reader.fetch()), lastVerified: nil, knownSequences: [:]).entries.count == 1)
        // Now the second device removes the first one's record and signs the result with its own key.
        try FileSystem.removeTree(m.writer.path.appending(DevicePaths.record(try m.keys.requireDevice().id)))
        let tree = try m.writer.stageAll()
        let message = try CommitMessage.make(CommitMetadata(deviceID: try other.requireDevice().id, sequence: 2, wallTimeMillis: 3000, epoch: 0), keys: other)
        let c3 = try m.writer.createCommit(tree: tree, parents: [c2], message: message) { (buffer) throws(ShadowError) -> String in
            Signatures.text(Signatures.sign(buffer, purpose: .commit, device: try other.requireDevice(), vaultID: other.vaultID))
        }
        // Checked where the objects are: the writer's own repository.
        let local = HistoryVerifier(keys: m.keys, store: m.writer)
        do {
            _ = try local.verify(head: c3, lastVerified: c2, knownSequences: [:])
            Issue.record("a commit dropping a device record verified")
        } catch {
            #expect(error.code == .signatureInvalid)
            #expect(error.message.contains("drops or changes the record of device"), "\(error.message)")
        }
        // Metadata naming another device than the signer is refused too.
        let lying = try CommitMessage.make(CommitMetadata(deviceID: try m.keys.requireDevice().id, sequence: 9, wallTimeMillis: 4000, epoch: 0), keys: other)
        let c4 = try m.writer.createCommit(tree: try m.writer.commit(c2).tree, parents: [c2], message: lying) { (buffer) throws(ShadowError) -> String in
            Signatures.text(Signatures.sign(buffer, purpose: .commit, device: try other.requireDevice(), vaultID: other.vaultID))
        }
        do {
            _ = try local.verify(head: c4, lastVerified: c2, knownSequences: [:])
            Issue.record("a commit whose metadata names another device verified")
        } catch {
            #expect(error.message.contains("is signed by another device"), "\(error.message)")
        }
    }

    /// Key epochs (FORMAT.md §4.7, §4.8, §5.3): signed by a read-write device of the tree, numbered
    /// without a gap, kept forever, and never started or granted by (or granted to) a revoked device.
    @Test func epochsAreSignedContiguousKeptAndNeverFromOrToARevokedDevice() throws {
        let first = DeviceKeys.generate(), second = DeviceKeys.generate(), reader = DeviceKeys.generate()
        let r1 = try DeviceRecord.make(device: first, role: .readWrite, by: nil, keys: keys, atMillis: Self.time)
        let r2 = try DeviceRecord.make(device: second, role: .readWrite, by: first, keys: keys, atMillis: Self.time)
        let r3 = try DeviceRecord.make(device: reader, role: .readOnly, by: first, keys: keys, atMillis: Self.time)
        let recovery = try #require(keys.recoveryPublicKey)
        let (e1, one) = try EpochRecord.start(after: try keys.requireRead(), by: first, vaultID: keys.vaultID, recoveryPublicKey: recovery, atMillis: Self.time)
        let g2 = try EpochGrant.make(one, to: r2, by: first, vaultID: keys.vaultID)
        let base = [recordFile(r1), recordFile(r2), recordFile(r3)]
        let epochFile = ("00000001.e", e1.bytes), grantFile = ("\(hexString(second.id))-00000001.k", g2.bytes)
        let roster = try DeviceRoster.check(directory(base + [epochFile, grantFile]), keys: keys)
        #expect(roster.newestEpoch == 1 && roster.devicesLacking(epoch: 1).map(\.id).sorted { hexString($0) < hexString($1) }
                == [first.id, reader.id].sorted { hexString($0) < hexString($1) })
        // The second device reaches epoch 1 with its grant; a key without one stays at epoch 0.
        let reached = try roster.keys(try keys.attenuated(to: .readOnly).with(device: second))
        #expect(try reached.requireRead().epoch == 1)
        #expect(try roster.keys(try keys.attenuated(to: .readOnly).with(device: reader)).requireRead().epoch == 0)
        // A read-only device starts no epoch; a record or a grant filed under another epoch or device.
        let (byReader, _) = try EpochRecord.start(after: try keys.requireRead(), by: reader, vaultID: keys.vaultID, recoveryPublicKey: recovery, atMillis: Self.time)
        #expect(thrownCode { _ = try DeviceRoster.check(directory(base + [("00000001.e", byReader.bytes)]), keys: keys) } == .signatureInvalid)
        #expect(thrownCode { _ = try DeviceRoster.check(directory(base + [("00000002.e", e1.bytes)]), keys: keys) } == .malformedObject)
        #expect(thrownCode { _ = try DeviceRoster.check(directory(base + [epochFile, ("\(hexString(reader.id))-00000001.k", g2.bytes)]), keys: keys) } == .malformedObject)
        // A child that drops the epoch or a grant; a grant to a device revoked in the same commit.
        let parent = roster
        #expect(parent.successorFault(try DeviceRoster.check(directory(base), keys: keys)) != nil)
        #expect(parent.successorFault(try DeviceRoster.check(directory(base + [epochFile]), keys: keys)) != nil)
        let revoke = try RevocationRecord.make(second.id, by: first, vaultID: keys.vaultID, atMillis: Self.time)
        let before = try DeviceRoster.check(directory(base + [epochFile]), keys: keys)
        let after = try DeviceRoster.check(directory(base + [epochFile, grantFile, ("\(hexString(second.id)).x", revoke.bytes)]), keys: keys)
        #expect(DeviceRoster.additionsFault(after, parents: [before])?.contains("to revoked device") == true)
    }

}
