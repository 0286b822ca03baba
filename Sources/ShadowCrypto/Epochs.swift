public import ShadowCore

/// An epoch's start (FORMAT.md §4.7), at `devices/<8 hex epoch>.e`: the previous epoch's read secret
/// sealed under the new one (so whoever holds an epoch reaches every earlier one), the new secret sealed
/// to the recovery key, signed by the read-write device that started the epoch. Public apart from
/// the two sealed secrets; never changes once committed.
public struct EpochRecord: Equatable, Sendable {
    public let epoch: UInt32
    public let vaultID: [UInt8]
    public let starterID: [UInt8]
    public let startedAtMillis: UInt64
    public let bytes: [UInt8]

    static let magic = Array("SHDE".utf8)
    static let headerBytes = 48
    static let chainBytes = XChaCha20Poly1305.nonceBytes + KeySizes.readSecret + XChaCha20Poly1305.tagBytes
    /// LE32 epoch ‖ RS: what is sealed to a recipient's X25519 key.
    static let wrappedSecretBytes = 4 + KeySizes.readSecret
    static let recoveryBytes = SealedBox.overheadBytes + wrappedSecretBytes
    static let signedBytes = headerBytes + chainBytes + recoveryBytes
    public static let size = signedBytes + Signatures.size

    /// Starts epoch `previous.epoch + 1` with a fresh random secret; returns the record and the new keys
    /// (reaching every earlier epoch through `previous`'s chain).
    public static func start(after previous: ReadKeys, by starter: DeviceKeys, vaultID: [UInt8], recoveryPublicKey: [UInt8],
                             atMillis: UInt64) throws(ShadowError) -> (record: EpochRecord, keys: ReadKeys) {
        guard previous.reachesEveryEpoch else {
            throw ShadowError(.insufficientCapability, "this key does not reach every earlier epoch, so it cannot start a new one",
                              advice: "sync first, so the vault's epoch chain is read")
        }
        guard recoveryPublicKey.count == X25519.keyBytes else { throw ShadowError(.invalidArgument, "a recovery public key is \(X25519.keyBytes) bytes") }
        let epoch = previous.epoch + 1
        let secret = Sodium.randomSecret(KeySizes.readSecret)
        let header = magic + LittleEndian.bytes(epoch) + vaultID + starter.id + LittleEndian.bytes(atMillis)
        let nonce = Sodium.random(XChaCha20Poly1305.nonceBytes)
        var old = previous.readSecret.exposedCopy()
        defer { Sodium.wipe(&old) }
        let chain = nonce + XChaCha20Poly1305.seal(key: chainKey(secret), nonce: nonce, ad: header, plaintext: old)
        let body = header + chain + seal(secret, epoch: epoch, to: recoveryPublicKey)
        let record = try parse(body + Signatures.sign(body, purpose: .epoch, device: starter, vaultID: vaultID), vaultID: vaultID)
        return (record, ReadKeys(readSecret: secret, epoch: epoch, earlier: previous.earlier + [previous]))
    }

    /// K_chain = kdf(RS_n, 1, "shdwepch"): seals RS_{n−1} inside epoch n's record.
    static func chainKey(_ secret: SecretBytes) -> SecretBytes { KDF.derive(from: secret, id: 1, context: "shdwepch") }

    /// crypto_box_seal(LE32 epoch ‖ RS, publicKey).
    static func seal(_ secret: SecretBytes, epoch: UInt32, to publicKey: [UInt8]) -> [UInt8] {
        var plain = LittleEndian.bytes(epoch) + secret.exposedCopy()
        defer { Sodium.wipe(&plain) }
        return SealedBox.seal(plain, to: publicKey)
    }

    /// Opens a sealed LE32 epoch ‖ RS; nil unless it was sealed to this key pair for `epoch`.
    static func open(_ box: [UInt8], epoch: UInt32, publicKey: [UInt8], secretKey: SecretBytes) -> SecretBytes? {
        guard var plain = SealedBox.open(box, publicKey: publicKey, secretKey: secretKey) else { return nil }
        defer { Sodium.wipe(&plain) }
        guard plain.count == wrappedSecretBytes, LittleEndian.read(UInt32.self, plain, at: 0) == epoch else { return nil }
        return SecretBytes(copying: Array(plain[4...]))
    }

    public static func parse(_ b: [UInt8], vaultID: [UInt8]) throws(ShadowError) -> EpochRecord {
        guard b.count == size, Array(b[0..<4]) == magic else { throw ShadowError(.malformedObject, "an epoch record has the wrong size or magic") }
        let epoch = LittleEndian.read(UInt32.self, b, at: 4)
        guard epoch >= 1 else { throw ShadowError(.malformedObject, "an epoch record starts epoch 0, which the vault key defines") }
        guard Array(b[8..<24]) == vaultID else { throw ShadowError(.malformedObject, "an epoch record belongs to another vault") }
        return EpochRecord(epoch: epoch, vaultID: vaultID, starterID: Array(b[24..<40]), startedAtMillis: LittleEndian.read(UInt64.self, b, at: 40), bytes: b)
    }

    /// True when the device whose key is `publicKey` signed this record.
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Signatures.isValid(Array(bytes[EpochRecord.signedBytes...]), of: Array(bytes[0..<EpochRecord.signedBytes]), purpose: .epoch,
                           publicKey: publicKey, vaultID: vaultID)
    }

    /// The previous epoch's keys, from this epoch's (`keys.epoch` must be this record's). Throws when the
    /// chain does not open: `keys` is not this epoch's secret, or the record was altered.
    func previous(of keys: ReadKeys) throws(ShadowError) -> SecretBytes {
        precondition(keys.epoch == epoch)
        let h = EpochRecord.headerBytes, n = XChaCha20Poly1305.nonceBytes
        guard var old = XChaCha20Poly1305.open(key: EpochRecord.chainKey(keys.readSecret), nonce: Array(bytes[h..<(h + n)]), ad: Array(bytes[0..<h]),
                                               ciphertext: Array(bytes[(h + n)..<(h + EpochRecord.chainBytes)])) else {
            throw ShadowError(.authenticationFailed, "the epoch chain of epoch \(epoch) does not open with that epoch's key: the key or the record is wrong")
        }
        defer { Sodium.wipe(&old) }
        return SecretBytes(copying: old)
    }

    /// This epoch's secret, opened with the recovery key.
    func openRecovery(_ keys: VaultKeys) -> SecretBytes? {
        guard let secret = keys.recoverySecret else { return nil }
        let start = EpochRecord.headerBytes + EpochRecord.chainBytes
        return EpochRecord.open(Array(bytes[start..<(start + EpochRecord.recoveryBytes)]), epoch: epoch,
                                publicKey: X25519.publicKey(secret: secret), secretKey: secret)
    }
}

/// An epoch's secret sealed to one device (FORMAT.md §4.8), at `devices/<32 hex device>-<8 hex epoch>.k`,
/// signed by the read-write device that granted it. Never changes once committed.
public struct EpochGrant: Equatable, Sendable {
    public let epoch: UInt32
    public let vaultID: [UInt8]
    public let deviceID: [UInt8]
    public let granterID: [UInt8]
    public let bytes: [UInt8]

    static let magic = Array("SHDK".utf8)
    static let headerBytes = 56
    static let signedBytes = headerBytes + EpochRecord.recoveryBytes
    public static let size = signedBytes + Signatures.size

    /// Seals `keys` (the epoch's) to `recipient` (its device record).
    public static func make(_ keys: ReadKeys, to recipient: DeviceRecord, by granter: DeviceKeys, vaultID: [UInt8]) throws(ShadowError) -> EpochGrant {
        let body = magic + LittleEndian.bytes(keys.epoch) + vaultID + recipient.deviceID + granter.id
            + EpochRecord.seal(keys.readSecret, epoch: keys.epoch, to: recipient.agreementPublicKey)
        return try parse(body + Signatures.sign(body, purpose: .epochGrant, device: granter, vaultID: vaultID), vaultID: vaultID)
    }

    public static func parse(_ b: [UInt8], vaultID: [UInt8]) throws(ShadowError) -> EpochGrant {
        guard b.count == size, Array(b[0..<4]) == magic else {
            throw ShadowError(.malformedObject, "an epoch grant has the wrong size or magic")
        }
        let epoch = LittleEndian.read(UInt32.self, b, at: 4)
        guard epoch >= 1 else { throw ShadowError(.malformedObject, "an epoch grant is for epoch 0, which the vault key defines") }
        guard Array(b[8..<24]) == vaultID else { throw ShadowError(.malformedObject, "an epoch grant belongs to another vault") }
        return EpochGrant(epoch: epoch, vaultID: vaultID, deviceID: Array(b[24..<40]), granterID: Array(b[40..<56]), bytes: b)
    }

    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Signatures.isValid(Array(bytes[EpochGrant.signedBytes...]), of: Array(bytes[0..<EpochGrant.signedBytes]), purpose: .epochGrant,
                           publicKey: publicKey, vaultID: vaultID)
    }

    /// The epoch's secret, opened with the recipient device's own X25519 key.
    func open(with device: DeviceKeys) -> SecretBytes? {
        guard device.id == deviceID else { return nil }
        return EpochRecord.open(Array(bytes[EpochGrant.headerBytes..<EpochGrant.signedBytes]), epoch: epoch,
                                publicKey: device.agreementPublicKey, secretKey: device.agreementSecret)
    }
}

extension VaultKeys {
    /// These keys reaching every epoch the (already verified) `records` start, as far as this holder can
    /// open them: its own grants with its device key, the recovery copies with the vault key, or the
    /// epoch its capability names; from the newest epoch reached, each record's chain opens the one
    /// before, down to epoch 0. `read` is then the newest epoch reached (FORMAT.md §1d).
    public func reaching(_ records: [EpochRecord], grants: [EpochGrant]) throws(ShadowError) -> VaultKeys {
        guard let own = read else { return self }
        let byEpoch = Dictionary(records.map { ($0.epoch, $0) }, uniquingKeysWith: { a, _ in a })
        var secrets: [UInt32: SecretBytes] = [own.epoch: own.readSecret]
        if let device {
            for grant in grants where grant.deviceID == device.id {
                if let s = grant.open(with: device) { secrets[grant.epoch] = s }
            }
        }
        for record in records {
            if let s = record.openRecovery(self) { secrets[record.epoch] = s }
        }
        // The newest epoch reached whose chain runs unbroken down to 0.
        guard let top = secrets.keys.filter({ $0 == 0 || byEpoch[$0] != nil }).max() else { return self }
        // Keys that already reach every epoch up to the top (an older tree's records add nothing).
        if own.reachesEveryEpoch, top <= own.epoch { return self }
        var chain: [ReadKeys] = []
        var secret = secrets[top]!
        var epoch = top
        var descending: [(UInt32, SecretBytes)] = [(top, secret)]
        while epoch > 0 {
            guard let record = byEpoch[epoch] else {
                throw ShadowError(.malformedObject, "the vault's history lacks the record of key epoch \(epoch)")
            }
            let older = try record.previous(of: ReadKeys(readSecret: secret, epoch: epoch))
            epoch -= 1
            if let known = secrets[epoch], known != older {
                throw ShadowError(.authenticationFailed, "the epoch chain gives another key for epoch \(epoch) than this machine holds: the history's epoch records were forged")
            }
            secret = older
            descending.append((epoch, secret))
        }
        for (e, s) in descending.reversed() { chain.append(ReadKeys(readSecret: s, epoch: e, earlier: chain)) }
        return VaultKeys(self, read: chain.last!)
    }
}
