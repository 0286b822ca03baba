public import ShadowCore

/// One machine's own keys (FORMAT.md §1b): an Ed25519 pair that signs its commits and the devices it
/// admits, and an X25519 pair that later epochs' secrets are sealed to. Made at init or join, kept in
/// the machine's key file, never shared: a stolen machine is removed by revoking this device alone.
public final class DeviceKeys: Sendable {
    /// BLAKE2b-16(personal "SHDW-deviceid-v1", PK_sign): public, names the device in history.
    public let id: [UInt8]
    public let signingPublicKey: [UInt8]
    public let agreementPublicKey: [UInt8]
    let signingSeed: SecretBytes
    let signingKey: SecretBytes
    let agreementSecret: SecretBytes

    /// Bytes of the device part of a key file: the signing seed, then the X25519 secret.
    static let secretPayloadBytes = Ed25519.seedBytes + X25519.keyBytes

    /// Fresh random keys for a new device.
    public static func generate() -> DeviceKeys {
        DeviceKeys(signingSeed: Sodium.randomSecret(Ed25519.seedBytes), agreementSecret: Sodium.randomSecret(X25519.keyBytes))
    }

    init(signingSeed: SecretBytes, agreementSecret: SecretBytes) {
        self.signingSeed = signingSeed
        self.agreementSecret = agreementSecret
        let (pk, sk) = Ed25519.keypair(seed: signingSeed)
        signingPublicKey = pk
        signingKey = sk
        agreementPublicKey = X25519.publicKey(secret: agreementSecret)
        id = DeviceKeys.id(for: pk)
    }

    /// Deterministic keys from known secrets (test vectors).
    public convenience init(signingSeedBytes: [UInt8], agreementSecretBytes: [UInt8]) throws(ShadowError) {
        guard signingSeedBytes.count == Ed25519.seedBytes, agreementSecretBytes.count == X25519.keyBytes else {
            throw ShadowError(.invalidArgument, "device secrets are \(Ed25519.seedBytes) + \(X25519.keyBytes) bytes")
        }
        self.init(signingSeed: SecretBytes(copying: signingSeedBytes), agreementSecret: SecretBytes(copying: agreementSecretBytes))
    }

    /// From a key file's device part (seed ‖ X25519 secret).
    convenience init(secretPayload: [UInt8]) {
        precondition(secretPayload.count == DeviceKeys.secretPayloadBytes)
        self.init(signingSeed: SecretBytes(copying: Array(secretPayload[0..<Ed25519.seedBytes])),
                  agreementSecret: SecretBytes(copying: Array(secretPayload[Ed25519.seedBytes...])))
    }

    /// The device part of a key file; the caller wipes it.
    func secretPayload() -> [UInt8] { signingSeed.exposedCopy() + agreementSecret.exposedCopy() }

    public static func id(for signingPublicKey: [UInt8]) -> [UInt8] {
        Blake2b.hash(signingPublicKey, key: nil, outputLength: KeySizes.deviceID, personal: Personal("SHDW-deviceid-v1"))
    }
}

/// What an admitted device may do.
public enum DeviceRole: UInt8, Sendable, CustomStringConvertible {
    case readWrite = 1
    case readOnly = 2

    public var description: String { self == .readWrite ? "read-write" : "read-only" }
}

/// Who vouches for a device: the vault key (the first device, and any machine that joined with the
/// read-write capability), or an admitted read-write device.
public enum Admitter: Sendable, Equatable {
    case vaultKey
    case device([UInt8])
    /// A one-time invite (its id), which a read-write device recorded in history.
    case invite([UInt8])
}

/// A device's admission record (FORMAT.md §4.3), at `devices/<hex id>.r` in every tree from the commit
/// that admits it on. Public (a verify-only server hook checks commits against it); never changes once
/// committed.
public struct DeviceRecord: Equatable, Sendable {
    public let role: DeviceRole
    public let admitter: Admitter
    public let vaultID: [UInt8]
    public let deviceID: [UInt8]
    public let signingPublicKey: [UInt8]
    public let agreementPublicKey: [UInt8]
    public let admittedAtMillis: UInt64
    /// Ed25519 of the admitter over the record's first 128 bytes (§5).
    public let signature: [UInt8]
    public let bytes: [UInt8]

    static let magic = Array("SHDR".utf8)
    static let signedBytes = 128
    public static let size = signedBytes + Signatures.size
    static let admittedByVaultKey: UInt8 = 1
    static let admittedByDevice: UInt8 = 2
    static let admittedByInvite: UInt8 = 3

    /// Admits `device` in the vault of `keys`, signed by the vault key (`by` nil) or by the admitting device.
    public static func make(device: DeviceKeys, role: DeviceRole, by admitting: DeviceKeys?, keys: VaultKeys,
                            atMillis: UInt64) throws(ShadowError) -> DeviceRecord {
        let kind = admitting == nil ? admittedByVaultKey : admittedByDevice
        let admitterID = admitting?.id ?? [UInt8](repeating: 0, count: KeySizes.deviceID)
        let body = magic + [role.rawValue, kind, 0, 0] + keys.vaultID + device.id + device.signingPublicKey
            + device.agreementPublicKey + admitterID + LittleEndian.bytes(atMillis)
        let signature: [UInt8]
        if let admitting {
            signature = Signatures.sign(body, purpose: .deviceRecord, device: admitting, vaultID: keys.vaultID)
        } else {
            signature = try Signatures.sign(body, purpose: .deviceRecord, keys: keys)
        }
        return try parse(body + signature, vaultID: keys.vaultID)
    }

    /// Parses a record strictly (layout, vault, id bound to the key); the signature is checked by whoever
    /// knows the admitter's key (`verify`).
    public static func parse(_ b: [UInt8], vaultID: [UInt8]) throws(ShadowError) -> DeviceRecord {
        func bad(_ why: String) -> ShadowError {
            ShadowError(.malformedObject, "a device record is malformed: \(why)")
        }
        guard b.count == size, Array(b[0..<4]) == magic else { throw bad("wrong size or magic") }
        guard let role = DeviceRole(rawValue: b[4]) else { throw bad("unknown role \(b[4])") }
        guard b[6] == 0, b[7] == 0 else { throw bad("reserved bytes are set") }
        guard Array(b[8..<24]) == vaultID else { throw bad("it belongs to another vault") }
        let id = Array(b[24..<40]), pk = Array(b[40..<72])
        guard DeviceKeys.id(for: pk) == id else { throw bad("its device id does not match its key") }
        let admitterID = Array(b[104..<120])
        let admitter: Admitter
        switch b[5] {
        case admittedByVaultKey:
            guard admitterID.allSatisfy({ $0 == 0 }) else { throw bad("a record admitted by the vault key names a device") }
            admitter = .vaultKey
        case admittedByDevice:
            guard admitterID != id else { throw bad("a device cannot admit itself") }
            admitter = .device(admitterID)
        case admittedByInvite:
            admitter = .invite(admitterID)
        default: throw bad("unknown admitter kind \(b[5])")
        }
        return DeviceRecord(role: role, admitter: admitter, vaultID: vaultID, deviceID: id, signingPublicKey: pk,
                            agreementPublicKey: Array(b[72..<104]), admittedAtMillis: LittleEndian.read(UInt64.self, b, at: 120),
                            signature: Array(b[signedBytes...]), bytes: b)
    }

    /// Admits `device` through an invite: the record is signed with the invite's key.
    public static func make(device: DeviceKeys, role: DeviceRole, invite: InviteKeys, keys: VaultKeys, atMillis: UInt64) throws(ShadowError) -> DeviceRecord {
        let body = magic + [role.rawValue, admittedByInvite, 0, 0] + keys.vaultID + device.id + device.signingPublicKey
            + device.agreementPublicKey + invite.id + LittleEndian.bytes(atMillis)
        let signature = Ed25519.sign(Signatures.message(body, purpose: .deviceRecord, vaultID: keys.vaultID), secretKey: invite.signingKey)
        return try parse(body + signature, vaultID: keys.vaultID)
    }

    /// True when `publicKey` (the vault's root key, or the admitting device's) signed this record.
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Signatures.isValid(signature, of: Array(bytes[0..<DeviceRecord.signedBytes]), purpose: .deviceRecord, publicKey: publicKey, vaultID: vaultID)
    }
}

/// A device's name (FORMAT.md §4.4), at `devices/<hex id>.name`: sealed under the epoch's read keys (the
/// server never sees it) and signed by the device it names, so only that device (or a rename it
/// signs) sets it. The sequence orders renames: a merge keeps the higher one.
public struct DeviceName: Equatable, Sendable {
    public let deviceID: [UInt8]
    public let sequence: UInt64
    public let name: String

    static let magic = Array("SHDN".utf8)
    /// The longest name, in UTF-8 bytes.
    public static let maximumBytes = 63
    static let paddedBytes = 64
    static let headerBytes = 32
    static let sealedBytes = XChaCha20Poly1305.nonceBytes + paddedBytes + XChaCha20Poly1305.tagBytes
    public static let size = headerBytes + sealedBytes + Signatures.size

    /// The name in the form every device shows: valid UTF-8, no control characters, 1…63 bytes.
    public static func validate(_ name: String) throws(ShadowError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumBytes, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw ShadowError(.invalidArgument, "a device name is 1 to \(maximumBytes) bytes of printable text, got '\(name)'",
                              advice: "choose a short name such as laptop or desktop")
        }
    }

    public init(deviceID: [UInt8], sequence: UInt64, name: String) {
        self.deviceID = deviceID
        self.sequence = sequence
        self.name = name
    }

    /// Seals and signs the name. `nonce` is random except in test vectors.
    public func seal(device: DeviceKeys, keys: VaultKeys, nonce: [UInt8]? = nil) throws(ShadowError) -> [UInt8] {
        try DeviceName.validate(name)
        let read = try keys.requireRead()
        let header = DeviceName.magic + LittleEndian.bytes(read.epoch) + LittleEndian.bytes(sequence) + deviceID
        let n = nonce ?? Sodium.random(XChaCha20Poly1305.nonceBytes)
        var plain = [UInt8(name.utf8.count)] + Array(name.utf8)
        plain += [UInt8](repeating: 0, count: DeviceName.paddedBytes - plain.count)
        let body = header + n + XChaCha20Poly1305.seal(key: read.deviceName, nonce: n, ad: header + keys.vaultID, plaintext: plain)
        return body + Signatures.sign(body, purpose: .deviceName, device: device, vaultID: keys.vaultID)
    }

    /// The device id and sequence of a name object, unverified (to find the record whose key checks it).
    public static func peek(_ b: [UInt8]) throws(ShadowError) -> (deviceID: [UInt8], sequence: UInt64) {
        guard b.count == size, Array(b[0..<4]) == magic else {
            throw ShadowError(.malformedObject, "a device name object has the wrong size or magic")
        }
        return (Array(b[16..<32]), LittleEndian.read(UInt64.self, b, at: 8))
    }

    /// Checks the signature with the named device's key, then opens the name (`keys` nil: verify only).
    public static func open(_ b: [UInt8], record: DeviceRecord, keys: VaultKeys) throws(ShadowError) -> DeviceName? {
        let (id, sequence) = try peek(b)
        guard id == record.deviceID else { throw ShadowError(.malformedObject, "a device name object names another device") }
        let body = Array(b[0..<(headerBytes + sealedBytes)])
        guard Signatures.isValid(Array(b[(headerBytes + sealedBytes)...]), of: body, purpose: .deviceName,
                                 publicKey: record.signingPublicKey, vaultID: record.vaultID) else {
            throw ShadowError(.signatureInvalid, "the name of device \(hexString(id).prefix(8)) is not signed by that device")
        }
        guard let newest = keys.read else { return nil }
        let read = try newest.keys(forEpoch: LittleEndian.read(UInt32.self, b, at: 4))
        let n = XChaCha20Poly1305.nonceBytes
        guard var plain = XChaCha20Poly1305.open(key: read.deviceName, nonce: Array(b[32..<(32 + n)]), ad: Array(b[0..<32]) + keys.vaultID,
                                                 ciphertext: Array(b[(32 + n)..<(headerBytes + sealedBytes)])) else {
            throw ShadowError(.authenticationFailed, "the name of device \(hexString(id).prefix(8)) failed authentication")
        }
        defer { Sodium.wipe(&plain) }
        let length = Int(plain[0])
        guard length >= 1, length <= maximumBytes, plain[(1 + length)...].allSatisfy({ $0 == 0 }),
              let name = String(validating: plain[1..<(1 + length)], as: UTF8.self) else {
            throw ShadowError(.nonCanonical, "the name of device \(hexString(id).prefix(8)) is not a valid name")
        }
        return DeviceName(deviceID: id, sequence: sequence, name: name)
    }
}

/// A device's revocation (FORMAT.md §4.6), at `devices/<hex device_id>.x`: signed by the read-write
/// device that revoked it; never removed, so the device's signatures are refused in every later commit.
public struct RevocationRecord: Equatable, Sendable {
    public let vaultID: [UInt8]
    public let deviceID: [UInt8]
    public let revokerID: [UInt8]
    public let revokedAtMillis: UInt64
    public let bytes: [UInt8]

    static let magic = Array("SHDX".utf8)
    static let signedBytes = 64
    public static let size = signedBytes + Signatures.size

    public static func make(_ deviceID: [UInt8], by revoker: DeviceKeys, vaultID: [UInt8], atMillis: UInt64) throws(ShadowError) -> RevocationRecord {
        let body = magic + [0, 0, 0, 0] + vaultID + deviceID + revoker.id + LittleEndian.bytes(atMillis)
        return try parse(body + Signatures.sign(body, purpose: .revocation, device: revoker, vaultID: vaultID), vaultID: vaultID)
    }

    public static func parse(_ b: [UInt8], vaultID: [UInt8]) throws(ShadowError) -> RevocationRecord {
        guard b.count == size, Array(b[0..<4]) == magic, b[4..<8].allSatisfy({ $0 == 0 }) else {
            throw ShadowError(.malformedObject, "a revocation record is malformed (size, magic or reserved bytes)")
        }
        guard Array(b[8..<24]) == vaultID else { throw ShadowError(.malformedObject, "a revocation record belongs to another vault") }
        return RevocationRecord(vaultID: vaultID, deviceID: Array(b[24..<40]), revokerID: Array(b[40..<56]),
                                revokedAtMillis: LittleEndian.read(UInt64.self, b, at: 56), bytes: b)
    }

    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Signatures.isValid(Array(bytes[RevocationRecord.signedBytes...]), of: Array(bytes[0..<RevocationRecord.signedBytes]),
                           purpose: .revocation, publicKey: publicKey, vaultID: vaultID)
    }
}
