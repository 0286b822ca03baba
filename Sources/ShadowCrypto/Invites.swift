public import ShadowCore

/// The keys behind a one-time invite (FORMAT.md §1c): everything comes from the 32-byte invite secret
/// the invite string carries, so the inviting machine keeps nothing and need not be online.
public final class InviteKeys: Sendable {
    /// BLAKE2b-16(personal "SHDW-inviteid-v1", PK_inv): names the invite in history.
    public let id: [UInt8]
    public let signingPublicKey: [UInt8]
    public let agreementPublicKey: [UInt8]
    let secret: SecretBytes
    let signingKey: SecretBytes
    let agreementSecret: SecretBytes

    public static func generate() -> InviteKeys { InviteKeys(secret: Sodium.randomSecret(KeySizes.inviteSecret)) }

    init(secret: SecretBytes) {
        self.secret = secret
        let (pk, sk) = Ed25519.keypair(seed: KDF.derive(from: secret, id: 1, context: "shdwinvt"))
        signingPublicKey = pk
        signingKey = sk
        agreementSecret = KDF.derive(from: secret, id: 2, context: "shdwinvt")
        agreementPublicKey = X25519.publicKey(secret: agreementSecret)
        id = Blake2b.hash(pk, key: nil, outputLength: KeySizes.deviceID, personal: Personal("SHDW-inviteid-v1"))
    }

    /// Deterministic keys from a known secret (test vectors).
    public convenience init(secretBytes: [UInt8]) throws(ShadowError) {
        guard secretBytes.count == KeySizes.inviteSecret else { throw ShadowError(.invalidArgument, "an invite secret is \(KeySizes.inviteSecret) bytes") }
        self.init(secret: SecretBytes(copying: secretBytes))
    }
}

/// Text form of an invite: `shdw1-in-` then base32(0x04 ‖ invite secret(32) ‖ PK_root(32) ‖ checksum(4)),
/// the checksum as for capabilities (§2). PK_root pins the vault: a join refuses a repository of any
/// other vault before it trusts a byte of it.
public enum InviteText {
    public static let prefix = "shdw1-in-"
    static let kind: UInt8 = 4
    static let payloadLength = 1 + KeySizes.inviteSecret + KeySizes.rootPublicKey

    public static func encode(_ invite: InviteKeys, rootPublicKey: [UInt8]) -> String {
        var payload = [kind] + invite.secret.exposedCopy() + rootPublicKey
        defer { Sodium.wipe(&payload) }
        var body = payload + CapabilityText.checksum(prefix: prefix, payload: payload)
        defer { Sodium.wipe(&body) }
        return prefix + Base32.encode(body)
    }

    /// True when `text` looks like an invite (for `join --key`, which takes both).
    /// Whitespace anywhere is ignored, as `decode` ignores it (a string read out may be split in the prefix).
    public static func isInvite(_ text: String) -> Bool {
        String(text.unicodeScalars.filter { !" \t\r\n".unicodeScalars.contains($0) }).lowercased().hasPrefix(prefix)
    }

    /// The invite's keys and the vault's verify-only keys; typos are reported as for capabilities.
    public static func decode(_ text: String) throws(ShadowError) -> (invite: InviteKeys, vault: VaultKeys) {
        let cleaned = Array(text.lowercased().utf8.filter { $0 != UInt8(ascii: " ") && $0 != 10 && $0 != 13 && $0 != 9 })
        guard cleaned.starts(with: Array(prefix.utf8)) else {
            throw ShadowError(.badCapability, "this is not a ShadowSync invite (it should start with \(prefix))",
                              advice: "copy the whole string printed by 'shadowsync device invite'")
        }
        let bodyText = cleaned.dropFirst(prefix.utf8.count)
        let expected = ((payloadLength + CapabilityText.checksumBytes) * 8 + 4) / 5
        guard bodyText.count == expected else {
            throw ShadowError(.badCapability, "the invite is \(bodyText.count < expected ? "too short (truncated?)" : "too long"): \(bodyText.count) characters after the prefix, expected \(expected)",
                              advice: "copy the whole string printed by 'shadowsync device invite'")
        }
        guard bodyText.allSatisfy({ Base32.alphabet.contains($0) }), var body = Base32.decode(bodyText) else {
            throw ShadowError(.badCapability, "the invite has an invalid character (only a-z and 2-7 occur)", advice: "check for a mistyped 0/o, 1/l or 8/b")
        }
        defer { Sodium.wipe(&body) }
        var payload = Array(body.prefix(payloadLength))
        defer { Sodium.wipe(&payload) }
        guard Sodium.equal(Array(body.suffix(CapabilityText.checksumBytes)), CapabilityText.checksum(prefix: prefix, payload: payload)) else {
            throw ShadowError(.badCapability, "the invite's checksum does not match: it has a typo", advice: "copy the string again")
        }
        guard payload[0] == kind else { throw ShadowError(.badCapability, "the invite payload is malformed") }
        let invite = InviteKeys(secret: SecretBytes(copying: Array(payload[1..<(1 + KeySizes.inviteSecret)])))
        return (invite, VaultKeys(rootPublicKey: Array(payload[(1 + KeySizes.inviteSecret)...])))
    }
}

/// What an invite hands the new device, sealed to the invite's X25519 key inside its record.
public struct InviteGift: Sendable {
    public let epoch: UInt32
    let readSecret: SecretBytes
    /// The name the inviter suggested for the new device (nil: none).
    public let name: String?
}

/// An invite's record (FORMAT.md §4.5), at `devices/<hex invite id>.i`: public apart from the sealed
/// gift, signed by the read-write device that made it. It admits exactly one device, before it expires.
public struct InviteRecord: Equatable, Sendable {
    public let role: DeviceRole
    public let vaultID: [UInt8]
    public let inviteID: [UInt8]
    public let signingPublicKey: [UInt8]
    public let inviterID: [UInt8]
    public let createdAtMillis: UInt64
    public let expiresAtMillis: UInt64
    public let epoch: UInt32
    public let bytes: [UInt8]

    static let magic = Array("SHDI".utf8)
    static let giftBytes = 4 + KeySizes.readSecret + 1 + DeviceName.maximumBytes
    static let signedBytes = 108 + giftBytes + SealedBox.overheadBytes
    public static let size = signedBytes + Signatures.size

    public static func make(invite: InviteKeys, role: DeviceRole, name: String?, inviter: DeviceKeys, keys: VaultKeys,
                            createdAtMillis: UInt64, expiresAtMillis: UInt64) throws(ShadowError) -> InviteRecord {
        let read = try keys.requireRead()
        if let name { try DeviceName.validate(name) }
        let nameBytes = Array((name ?? "").utf8)
        var gift = LittleEndian.bytes(read.epoch) + read.readSecret.exposedCopy() + [UInt8(nameBytes.count)] + nameBytes
        gift += [UInt8](repeating: 0, count: giftBytes - gift.count)
        defer { Sodium.wipe(&gift) }
        let body = magic + [role.rawValue, 0, 0, 0] + keys.vaultID + invite.id + invite.signingPublicKey + inviter.id
            + LittleEndian.bytes(createdAtMillis) + LittleEndian.bytes(expiresAtMillis) + LittleEndian.bytes(read.epoch)
            + SealedBox.seal(gift, to: invite.agreementPublicKey)
        return try parse(body + Signatures.sign(body, purpose: .invite, device: inviter, vaultID: keys.vaultID), vaultID: keys.vaultID)
    }

    public static func parse(_ b: [UInt8], vaultID: [UInt8]) throws(ShadowError) -> InviteRecord {
        func bad(_ why: String) -> ShadowError { ShadowError(.malformedObject, "an invite record is malformed: \(why)") }
        guard b.count == size, Array(b[0..<4]) == magic else { throw bad("wrong size or magic") }
        guard let role = DeviceRole(rawValue: b[4]) else { throw bad("unknown role \(b[4])") }
        guard b[5] == 0, b[6] == 0, b[7] == 0 else { throw bad("reserved bytes are set") }
        guard Array(b[8..<24]) == vaultID else { throw bad("it belongs to another vault") }
        let id = Array(b[24..<40]), pk = Array(b[40..<72])
        guard Blake2b.hash(pk, key: nil, outputLength: KeySizes.deviceID, personal: Personal("SHDW-inviteid-v1")) == id else {
            throw bad("its invite id does not match its key")
        }
        return InviteRecord(role: role, vaultID: vaultID, inviteID: id, signingPublicKey: pk, inviterID: Array(b[72..<88]),
                            createdAtMillis: LittleEndian.read(UInt64.self, b, at: 88), expiresAtMillis: LittleEndian.read(UInt64.self, b, at: 96),
                            epoch: LittleEndian.read(UInt32.self, b, at: 104), bytes: b)
    }

    /// True when the inviting device (whose key is `publicKey`) signed this record.
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Signatures.isValid(Array(bytes[InviteRecord.signedBytes...]), of: Array(bytes[0..<InviteRecord.signedBytes]), purpose: .invite,
                           publicKey: publicKey, vaultID: vaultID)
    }

    /// Opens the gift with the invite's keys (only the invite string's holder can).
    public func openGift(with invite: InviteKeys) throws(ShadowError) -> InviteGift {
        guard invite.id == inviteID,
              var gift = SealedBox.open(Array(bytes[108..<InviteRecord.signedBytes]), publicKey: invite.agreementPublicKey, secretKey: invite.agreementSecret) else {
            throw ShadowError(.authenticationFailed, "the invite's sealed read key does not open with this invite")
        }
        defer { Sodium.wipe(&gift) }
        let n = Int(gift[36])
        guard n <= DeviceName.maximumBytes else { throw ShadowError(.nonCanonical, "the invite's suggested name is malformed") }
        let name = n == 0 ? nil : String(validating: gift[37..<(37 + n)], as: UTF8.self)
        return InviteGift(epoch: LittleEndian.read(UInt32.self, gift, at: 0), readSecret: SecretBytes(copying: Array(gift[4..<36])), name: name)
    }
}

extension VaultKeys {
    /// A device's keys from an invite's gift: the epoch's read keys, the vault's root public key, and the
    /// new device's own keys. It holds no vault key: it signs only as itself.
    public static func invited(gift: InviteGift, rootPublicKey: [UInt8], device: DeviceKeys) -> VaultKeys {
        VaultKeys(VaultKeys(readSecret: gift.readSecret, epoch: gift.epoch, rootPublicKey: rootPublicKey), device: device)
    }
}
