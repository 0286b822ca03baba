public import ShadowCore

/// Sizes of the key hierarchy (docs/FORMAT.md §Keys).
public enum KeySizes {
    public static let vaultSecret = 32   // crypto_kdf_KEYBYTES
    public static let readSecret = 32
    public static let vaultID = 16       // enough for a public identifier; collisions only confuse, never weaken
    public static let rootPublicKey = 32 // Ed25519
    public static let deviceID = 16
    public static let inviteSecret = 32
}

/// What a key holder can do. The three levels follow Tahoe-LAFS's write → read → verify chain.
public enum CapabilityLevel: UInt8, Sendable, CustomStringConvertible {
    case readWrite = 1
    case readOnly = 2
    case verifyOnly = 3

    public var description: String {
        switch self {
        case .readWrite: return "read-write"
        case .readOnly: return "read-only"
        case .verifyOnly: return "verify-only"
        }
    }

    var textPrefix: String {
        switch self {
        case .readWrite: return "shdw1-rw-"
        case .readOnly: return "shdw1-ro-"
        case .verifyOnly: return "shdw1-vk-"
        }
    }
}

/// The symmetric keys of one read epoch: everything needed to decrypt and to encrypt deterministically.
/// Each comes from crypto_kdf over the epoch's read secret with its own 8-byte context and id, except
/// the locator and doorbell keys, which epoch 0 fixes for the vault's life (FORMAT.md §1d).
public final class ReadKeys: Sendable {
    public let epoch: UInt32
    /// The keys of every earlier epoch, oldest first (epoch 0 … epoch − 1), when the holder reached them
    /// through the epoch chain; empty otherwise.
    let earlier: [ReadKeys]
    let contentSIV: SecretBytes     // kdf(RS, 1, "shdwcont")
    let contentAEAD: SecretBytes    // kdf(RS, 2, "shdwcont")
    let fileID: SecretBytes         // kdf(RS, 3, "shdwcont")
    let gear: SecretBytes           // kdf(RS, 4, "shdwcont"): the segment boundaries' gear table
    let nameMAC: SecretBytes        // kdf(RS, 1, "shdwname")
    let nameStream: SecretBytes     // kdf(RS, 2, "shdwname")
    let locator: SecretBytes        // kdf(RS, 3, "shdwname")
    let metadata: SecretBytes       // kdf(RS, 1, "shdwmeta")
    /// For the XMPP doorbell: seals doorbell payloads.
    public let doorbell: SecretBytes  // kdf(RS, 1, "shdwbell")
    /// Opaque folder tag the doorbell carries so a receiver can tell vaults apart without naming them.
    public let doorbellTag: SecretBytes // kdf(RS, 2, "shdwbell")
    let deviceName: SecretBytes     // kdf(RS, 1, "shdwdevn")
    let readSecret: SecretBytes

    init(readSecret: SecretBytes, epoch: UInt32, earlier: [ReadKeys] = []) {
        self.readSecret = readSecret
        self.epoch = epoch
        self.earlier = earlier
        contentSIV = KDF.derive(from: readSecret, id: 1, context: "shdwcont")
        contentAEAD = KDF.derive(from: readSecret, id: 2, context: "shdwcont")
        fileID = KDF.derive(from: readSecret, id: 3, context: "shdwcont")
        gear = KDF.derive(from: readSecret, id: 4, context: "shdwcont")
        nameMAC = KDF.derive(from: readSecret, id: 1, context: "shdwname")
        nameStream = KDF.derive(from: readSecret, id: 2, context: "shdwname")
        metadata = KDF.derive(from: readSecret, id: 1, context: "shdwmeta")
        if let first = earlier.first, first.epoch == 0 {
            locator = first.locator
            doorbell = first.doorbell
            doorbellTag = first.doorbellTag
        } else {
            locator = KDF.derive(from: readSecret, id: 3, context: "shdwname")
            doorbell = KDF.derive(from: readSecret, id: 1, context: "shdwbell")
            doorbellTag = KDF.derive(from: readSecret, id: 2, context: "shdwbell", length: 16)
        }
        deviceName = KDF.derive(from: readSecret, id: 1, context: "shdwdevn")
    }

    /// The keys of every epoch reached, newest (these) first.
    public var reachedEpochs: [ReadKeys] { [self] + earlier.reversed() }

    /// True when these keys reach every epoch from 0 to their own.
    public var reachesEveryEpoch: Bool { earlier.count == Int(epoch) }

    /// The keys of `other`, an epoch these keys reach (their own or an earlier one of the chain).
    public func keys(forEpoch other: UInt32) throws(ShadowError) -> ReadKeys {
        if other == epoch { return self }
        if other < epoch, reachesEveryEpoch { return earlier[Int(other)] }
        throw ShadowError(.unsupportedVersion, "the object is sealed under key epoch \(other); this key reaches \(reachesEveryEpoch ? "epochs 0 to \(epoch)" : "epoch \(epoch) only")",
                          advice: other > epoch
                              ? "this device holds no key for that epoch: a device revoked before it began never does; otherwise sync once more so a read-write device can grant it"
                              : "open the vault's history first (the epoch chain of its devices/ files reaches older epochs)")
    }
}

/// A vault's keys as far as a capability reaches. Built from a capability; never from parts.
public final class VaultKeys: Sendable {
    public let level: CapabilityLevel
    public let vaultID: [UInt8]
    public let rootPublicKey: [UInt8]
    /// Present for read-write and read-only holders.
    public let read: ReadKeys?
    let signingKey: SecretBytes?      // Ed25519 secret key, read-write only
    let capabilityPayload: SecretBytes
    /// This machine's own keys (from its key file); nil for a capability string alone.
    public let device: DeviceKeys?

    public var canDecrypt: Bool { read != nil }
    public var canSign: Bool { signingKey != nil }

    /// Generates a new vault (32 random bytes are the whole vault secret), held by a new device.
    public static func generate() -> VaultKeys {
        let vs = Sodium.randomSecret(KeySizes.vaultSecret)
        return VaultKeys(VaultKeys(vaultSecret: vs), device: DeviceKeys.generate())
    }

    /// Deterministic construction from a known vault secret (test vectors, recovery).
    public convenience init(vaultSecretBytes: [UInt8]) throws(ShadowError) {
        guard vaultSecretBytes.count == KeySizes.vaultSecret else {
            throw ShadowError(.badCapability, "a vault secret is \(KeySizes.vaultSecret) bytes, got \(vaultSecretBytes.count)")
        }
        self.init(vaultSecret: SecretBytes(copying: vaultSecretBytes))
    }

    init(vaultSecret vs: SecretBytes) {
        let seed = KDF.derive(from: vs, id: 1, context: "shdwroot")
        let rs0 = KDF.derive(from: vs, id: 2, context: "shdwroot")
        let (pk, sk) = Ed25519.keypair(seed: seed)
        level = .readWrite
        rootPublicKey = pk
        vaultID = VaultKeys.vaultID(for: pk)
        read = ReadKeys(readSecret: rs0, epoch: 0)
        signingKey = sk
        var payload = [CapabilityLevel.readWrite.rawValue] + vs.exposedCopy()
        capabilityPayload = SecretBytes(copying: payload)
        Sodium.wipe(&payload)
        device = nil
    }

    init(readSecret: SecretBytes, epoch: UInt32, rootPublicKey pk: [UInt8]) {
        level = .readOnly
        rootPublicKey = pk
        vaultID = VaultKeys.vaultID(for: pk)
        read = ReadKeys(readSecret: readSecret, epoch: epoch)
        signingKey = nil
        var payload = [CapabilityLevel.readOnly.rawValue] + LittleEndian.bytes(epoch) + readSecret.exposedCopy() + pk
        capabilityPayload = SecretBytes(copying: payload)
        Sodium.wipe(&payload)
        device = nil
    }

    public init(rootPublicKey pk: [UInt8]) {
        level = .verifyOnly
        rootPublicKey = pk
        vaultID = VaultKeys.vaultID(for: pk)
        read = nil
        signingKey = nil
        capabilityPayload = SecretBytes(copying: [CapabilityLevel.verifyOnly.rawValue] + pk)
        device = nil
    }

    /// The same capability held by a machine with its own device keys.
    init(_ other: VaultKeys, device: DeviceKeys?) {
        level = other.level
        rootPublicKey = other.rootPublicKey
        vaultID = other.vaultID
        read = other.read
        signingKey = other.signingKey
        capabilityPayload = other.capabilityPayload
        self.device = device
    }

    /// The same capability and device with the read keys of a later epoch (and its chain).
    init(_ other: VaultKeys, read: ReadKeys) {
        level = other.level
        rootPublicKey = other.rootPublicKey
        vaultID = other.vaultID
        self.read = read
        signingKey = other.signingKey
        capabilityPayload = other.capabilityPayload
        device = other.device
    }

    /// These keys writing with `read`, a later epoch this holder started (`EpochRecord.start`).
    public func with(read: ReadKeys) -> VaultKeys { VaultKeys(self, read: read) }

    /// The recovery key pair (FORMAT.md §1d): X25519 from the vault secret, so only the vault key's
    /// holder opens the copy of each epoch's secret sealed to it. Nil below read-write.
    var recoverySecret: SecretBytes? {
        guard level == .readWrite else { return nil }
        return capabilityPayload.withBytes { b in
            KDF.derive(from: SecretBytes(copying: UnsafeRawBufferPointer(rebasing: b[1..<(1 + KeySizes.vaultSecret)])), id: 3, context: "shdwroot")
        }
    }

    /// The public half of the recovery key, which `vault.json` carries for every device to seal to.
    public var recoveryPublicKey: [UInt8]? { recoverySecret.map { X25519.publicKey(secret: $0) } }

    /// These keys with `device` as this machine's own (init and join make a new one; verify-only keys have none).
    public func with(device: DeviceKeys) throws(ShadowError) -> VaultKeys {
        guard level != .verifyOnly else { throw ShadowError(.insufficientCapability, "a verify-only key belongs to no device") }
        return VaultKeys(self, device: device)
    }

    /// The device keys, or an error a user understands.
    public func requireDevice() throws(ShadowError) -> DeviceKeys {
        guard let device else {
            throw ShadowError(.insufficientCapability, "this key has no device keys of its own",
                              advice: "use the folder's key file, made by 'shadowsync init' or 'shadowsync join'")
        }
        return device
    }

    /// vault_id = BLAKE2b-128(personal "SHDW-vaultid-v1", PK_root): public, names the vault in signed data.
    static func vaultID(for rootPublicKey: [UInt8]) -> [UInt8] {
        Blake2b.hash(rootPublicKey, key: nil, outputLength: KeySizes.vaultID, personal: Personal("SHDW-vaultid-v1"))
    }

    /// The same vault seen through a lesser capability (read-write → read-only → verify-only).
    public func attenuated(to target: CapabilityLevel) throws(ShadowError) -> VaultKeys {
        guard target.rawValue >= level.rawValue else {
            throw ShadowError(.insufficientCapability, "a \(level) key cannot produce a \(target) key")
        }
        switch target {
        case .readWrite: return self
        case .readOnly:
            guard let read else { throw ShadowError(.insufficientCapability, "a \(level) key has no read secret") }
            return VaultKeys(VaultKeys(readSecret: read.readSecret, epoch: read.epoch, rootPublicKey: rootPublicKey), device: device)
        case .verifyOnly:
            return VaultKeys(rootPublicKey: rootPublicKey)
        }
    }

    /// The read keys, or an error a user understands.
    public func requireRead() throws(ShadowError) -> ReadKeys {
        guard let read else {
            throw ShadowError(.insufficientCapability, "this is a verify-only key: it can check signatures but not decrypt",
                              advice: "use a read-only or read-write key (shadowsync key export on a machine that has one)")
        }
        return read
    }
}
