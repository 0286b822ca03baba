import Testing
import ShadowCore
@testable import ShadowCrypto

/// Key epochs (FORMAT.md §1d, §4.7, §4.8): who reaches which epoch, from what.
@Suite struct EpochKeyTests {
    /// The epoch record and grant of FORMAT.md §8.
    static let recordHex = "5348444501000000140cc60fcd4d3ffc0629840d4b1519d529fce6da372851e6cbc114173d7894392067dd769b010000101112131415161718191a1b1c1d1e1f20212223242526276d1f96c379a704efcf28d31ce4d2ed7fc81e1dfb47e5cb1dd1bba34b442f2aa959ceb72a30419ae7bec6b6905c4172e9ac4809f345806d1dd445dc4fc2bfbf6fe67e6dd669847e311df0c94c5be6d92d974976324cd741f2fe20700e07ce868d8e44421dd37773d14949c61dc4eaf3303917d5edbc0448fc06ad4436362a2e51bc9069de864218015be97b95ee60aa7c183381ed45cf41b1f63f0d37fa261d4db730daf7b5de1d2a97db06282a0c8725ae8cc614bf3f9f82f7ba0d4927f3d9962e60930a"
    static let grantHex = "5348444b01000000140cc60fcd4d3ffc0629840d4b1519d529fce6da372851e6cbc114173d78943929fce6da372851e6cbc114173d78943994c2fecffe5fab488b45156ef49c27804427be7a630878079a48196a4004801e5d73a96f1ad3cbbc0edcb547e84dbc0287e18bc249ecd2b2660b38bd70b14a13c7cbba8095487f53086af42cc0bfb2a6157823253554a38e6301667569c29120531f089dc21f4555dddd0b669abd1a835d287afc1b09841ad6524b5656c62e6c534bed119f42298970476f5e3f9dc7076e8cfa06"

    /// A reader that holds the vault secret, a device, or both.
    static func reader(vaultKey: Bool, device: Bool) throws -> VaultKeys {
        let base = try vectorKeys()
        let keys = vaultKey ? base : try base.attenuated(to: .readOnly)
        return device ? try keys.with(device: try vectorDevice()) : keys
    }

    @Test func theDocumentsVectorsOpenWithTheGrantOrTheRecoveryKeyAndChainToEpochZero() throws {
        let vaultID = try vectorKeys().vaultID
        let record = try EpochRecord.parse(try #require(Hex.decode(Self.recordHex)), vaultID: vaultID)
        let grant = try EpochGrant.parse(try #require(Hex.decode(Self.grantHex)), vaultID: vaultID)
        let device = try vectorDevice()
        #expect(record.epoch == 1 && record.starterID == device.id && record.isSigned(by: device.signingPublicKey))
        #expect(grant.deviceID == device.id && grant.isSigned(by: device.signingPublicKey))
        let epoch0 = try vectorKeys().requireRead()
        for (vaultKey, hasDevice) in [(false, true), (true, false)] {
            let reached = try Self.reader(vaultKey: vaultKey, device: hasDevice).reaching([record], grants: [grant])
            let read = try reached.requireRead()
            #expect(read.epoch == 1 && read.reachesEveryEpoch)
            #expect(read.readSecret.exposedCopy() == Array(0xe0...0xff))
            #expect(try read.keys(forEpoch: 0).readSecret == epoch0.readSecret)
            // Locators stay those of epoch 0: a path keeps its place across epochs.
            #expect(read.locator == epoch0.locator)
        }
        // A read key of epoch 0 without a grant (a revoked device) stays at epoch 0.
        let revoked = try Self.reader(vaultKey: false, device: false).reaching([record], grants: [grant])
        #expect(try revoked.requireRead().epoch == 0)
        #expect(thrownCode { _ = try revoked.requireRead().keys(forEpoch: 1) } == .unsupportedVersion)
    }

    @Test func objectsOfEveryEpochOpenAndARevokedKeyOpensNoneOfTheNewOnes() throws {
        let holder = try Self.reader(vaultKey: true, device: true)
        let device = try holder.requireDevice()
        let zero = try holder.requireRead()
        let (record, one) = try EpochRecord.start(after: zero, by: device, vaultID: holder.vaultID,
                                                  recoveryPublicKey: try #require(holder.recoveryPublicKey), atMillis: 1)
        let other = DeviceKeys.generate()
        let otherRecord = try DeviceRecord.make(device: other, role: .readWrite, by: device, keys: holder, atMillis: 2)
        let grant = try EpochGrant.make(one, to: otherRecord, by: device, vaultID: holder.vaultID)
        let later = holder.with(read: one)
        let path = try PlainPath("after.txt")
        let old = try NameCipher(keys: holder).seal(NameRecord(path: path, kind: .directory))
        let new = try NameCipher(keys: later).seal(NameRecord(path: path, kind: .directory))
        #expect(old != new)
        #expect(try NameCipher(keys: later).open(old, at: NameCipher(keys: later).locator(for: path)).path == path)
        // The other device reaches epoch 1 through its grant alone, and epoch 0 through the chain.
        let otherKeys = try VaultKeys(readSecret: SecretBytes(copying: Array(repeating: 9, count: 32)), epoch: 0, rootPublicKey: holder.rootPublicKey)
        #expect(thrownCode { _ = try otherKeys.with(device: other).reaching([record], grants: [grant]) } == .authenticationFailed)
        let invited = VaultKeys.invited(gift: InviteGift(epoch: 1, readSecret: one.readSecret, name: nil), rootPublicKey: holder.rootPublicKey, device: other)
        let reached = try invited.reaching([record], grants: [grant])
        #expect(try NameCipher(keys: reached).open(old, at: NameCipher(keys: reached).locator(for: path)).path == path)
        #expect(try NameCipher(keys: reached).open(new, at: NameCipher(keys: reached).locator(for: path)).path == path)
        // A key of epoch 0 alone opens the old record and refuses the new one.
        let stale = try holder.attenuated(to: .readOnly)
        #expect(thrownCode { _ = try NameCipher(keys: stale).open(new, at: NameCipher(keys: stale).locator(for: path)) } == .unsupportedVersion)
        // Metadata of epoch 1 opens with the chain and names its epoch.
        let meta = try CommitMetadata(deviceID: device.id, sequence: 1, wallTimeMillis: 3, epoch: 1).seal(keys: later)
        #expect(try CommitMetadata.open(meta, keys: reached).epoch == 1)
        #expect(thrownCode { _ = try CommitMetadata.open(meta, keys: stale) } == .authenticationFailed)
    }
}
