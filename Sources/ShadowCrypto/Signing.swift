public import ShadowCore

/// What a signature is for. The label is prepended to the signed bytes (with the vault id), so a
/// signature made for one purpose or one vault never verifies for another.
public enum SignaturePurpose: Sendable, CaseIterable {
    case commit
    case vaultDescriptor
    case deviceRecord
    case deviceName
    case invite
    case revocation
    case epoch
    case epochGrant

    var label: [UInt8] {
        switch self {
        case .commit: return Array("shdw-commit-v3".utf8) + [0]
        case .vaultDescriptor: return Array("shdw-vault-json-v1".utf8) + [0]
        case .deviceRecord: return Array("shdw-device-v1".utf8) + [0]
        case .deviceName: return Array("shdw-device-name-v1".utf8) + [0]
        case .invite: return Array("shdw-invite-v1".utf8) + [0]
        case .revocation: return Array("shdw-revoke-v1".utf8) + [0]
        case .epoch: return Array("shdw-epoch-v1".utf8) + [0]
        case .epochGrant: return Array("shdw-epoch-grant-v1".utf8) + [0]
        }
    }
}

public enum Signatures {
    public static let size = 64

    static func message(_ content: [UInt8], purpose: SignaturePurpose, vaultID: [UInt8]) -> [UInt8] {
        purpose.label + vaultID + content
    }

    /// Ed25519 over label ‖ vault_id ‖ content with the vault's root key (vault.json, and devices the
    /// vault key admits). Only read-write holders can.
    public static func sign(_ content: [UInt8], purpose: SignaturePurpose, keys: VaultKeys) throws(ShadowError) -> [UInt8] {
        guard let sk = keys.signingKey else {
            throw ShadowError(.insufficientCapability, "a \(keys.level) key cannot sign: its changes would be refused by every reader",
                              advice: "this machine can only read; use a read-write key to make changes")
        }
        return Ed25519.sign(message(content, purpose: purpose, vaultID: keys.vaultID), secretKey: sk)
    }

    /// Ed25519 over label ‖ vault_id ‖ content with a device's own key (commits, admissions, names).
    public static func sign(_ content: [UInt8], purpose: SignaturePurpose, device: DeviceKeys, vaultID: [UInt8]) -> [UInt8] {
        Ed25519.sign(message(content, purpose: purpose, vaultID: vaultID), secretKey: device.signingKey)
    }

    /// True when `signature` is `publicKey`'s signature of `content` for `purpose` in vault `vaultID`.
    public static func isValid(_ signature: [UInt8], of content: [UInt8], purpose: SignaturePurpose, publicKey: [UInt8], vaultID: [UInt8]) -> Bool {
        Ed25519.verify(signature, message: message(content, purpose: purpose, vaultID: vaultID), publicKey: publicKey)
    }

    /// Throws `.signatureInvalid` unless `signature` is the root key's signature of `content` for `purpose`.
    public static func verify(_ signature: [UInt8], of content: [UInt8], purpose: SignaturePurpose, keys: VaultKeys) throws(ShadowError) {
        guard isValid(signature, of: content, purpose: purpose, publicKey: keys.rootPublicKey, vaultID: keys.vaultID) else {
            throw ShadowError(.signatureInvalid, "signature does not verify with this vault's root key: not made by a writer of this vault")
        }
    }

    /// Text form for git headers: lowercase hex, one line.
    public static func text(_ signature: [UInt8]) -> String { Hex.encode(signature) }

    public static func parse(text: String) throws(ShadowError) -> [UInt8] {
        guard let b = Hex.decode(text), b.count == size else {
            throw ShadowError(.signatureInvalid, "signature field is not 128 hex digits")
        }
        return b
    }
}

/// Per-commit facts kept from the server: which device made it, its sequence and clock.
public struct CommitMetadata: Equatable, Sendable {
    public let deviceID: [UInt8]
    /// Strictly increasing per device along history; a repeat or decrease betrays a replay.
    public let sequence: UInt64
    public let wallTimeMillis: UInt64
    public let epoch: UInt32

    public init(deviceID: [UInt8], sequence: UInt64, wallTimeMillis: UInt64, epoch: UInt32) {
        self.deviceID = deviceID
        self.sequence = sequence
        self.wallTimeMillis = wallTimeMillis
        self.epoch = epoch
    }

    static let version: UInt8 = 1
    static let plainSize = 1 + KeySizes.deviceID + 8 + 8 + 4
    static let adLabel = Array("shdw-commit-meta-v1".utf8)

    /// hex(nonce(24) ‖ XChaCha20-Poly1305(K_meta, version ‖ device ‖ seq ‖ time ‖ epoch, ad = label ‖ vault_id)).
    public func seal(keys: VaultKeys) throws(ShadowError) -> String {
        let read = try keys.requireRead()
        guard deviceID.count == KeySizes.deviceID else { throw ShadowError(.invalidArgument, "device id must be 16 bytes") }
        let m = [CommitMetadata.version] + deviceID + LittleEndian.bytes(sequence) + LittleEndian.bytes(wallTimeMillis) + LittleEndian.bytes(epoch)
        let nonce = Sodium.random(XChaCha20Poly1305.nonceBytes)
        return Hex.encode(nonce + XChaCha20Poly1305.seal(key: read.metadata, nonce: nonce, ad: CommitMetadata.adLabel + keys.vaultID, plaintext: m))
    }

    public static func open(_ text: String, keys: VaultKeys) throws(ShadowError) -> CommitMetadata {
        let read = try keys.requireRead()
        let n = XChaCha20Poly1305.nonceBytes
        guard let b = Hex.decode(text), b.count == n + plainSize + XChaCha20Poly1305.tagBytes else {
            throw ShadowError(.malformedObject, "commit metadata has the wrong size or is not hex")
        }
        // The epoch is sealed inside: try the newest epoch's key first, then the earlier ones (a handful).
        var opened: (m: [UInt8], epoch: UInt32)?
        for epochKeys in ([read] + read.earlier.reversed()) {
            if let m = XChaCha20Poly1305.open(key: epochKeys.metadata, nonce: Array(b[0..<n]), ad: adLabel + keys.vaultID, ciphertext: Array(b[n...])) {
                opened = (m, epochKeys.epoch)
                break
            }
        }
        guard let (m, keyEpoch) = opened else {
            throw ShadowError(.authenticationFailed, "commit metadata failed authentication (altered, from another vault, or sealed under a key epoch this key does not reach)")
        }
        guard m[0] == version else { throw ShadowError(.unsupportedVersion, "commit metadata version \(m[0]) is unknown") }
        guard LittleEndian.read(UInt32.self, m, at: 33) == keyEpoch else {
            throw ShadowError(.malformedObject, "commit metadata names key epoch \(LittleEndian.read(UInt32.self, m, at: 33)) but is sealed under epoch \(keyEpoch)")
        }
        return CommitMetadata(deviceID: Array(m[1..<17]), sequence: LittleEndian.read(UInt64.self, m, at: 17),
                              wallTimeMillis: LittleEndian.read(UInt64.self, m, at: 25), epoch: LittleEndian.read(UInt32.self, m, at: 33))
    }

    /// A fresh random device identifier.
    public static func newDeviceID() -> [UInt8] { Sodium.random(KeySizes.deviceID) }
}
