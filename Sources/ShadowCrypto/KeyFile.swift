public import ShadowCore
@preconcurrency import Glibc

/// A passphrase as secret bytes. Valid UTF-8 is NFC-normalised first, so the same passphrase typed on
/// a system that produces decomposed characters still unlocks the file (as Cryptomator does).
public final class Passphrase: Sendable {
    let secret: SecretBytes

    public init(bytes: [UInt8]) throws(ShadowError) {
        var raw = bytes
        defer { Sodium.wipe(&raw) }
        // A passphrase file's trailing newline is an artefact of editors and `echo`, not part of it.
        while let last = raw.last, last == 10 || last == 13 { raw.removeLast() }
        guard !raw.isEmpty else {
            throw ShadowError(.invalidArgument, "the passphrase is empty", advice: "put a passphrase in the file, or choose --no-passphrase explicitly")
        }
        if let s = String(validating: raw, as: UTF8.self) {
            // The standard library's own NFC (what String comparison uses), not Foundation's: linking
            // Foundation proper (with ICU) would cost every start of the binary about 5 ms.
            var normalized = s._nfcCodeUnits
            defer { Sodium.wipe(&normalized) }
            secret = SecretBytes(copying: normalized)
        } else {
            secret = SecretBytes(copying: raw)
        }
    }
}

/// Cost of the Argon2id passphrase hash.
public struct KDFProfile: Sendable, Equatable {
    public let opsLimit: UInt32
    public let memoryKiB: UInt32

    public init(opsLimit: UInt32, memoryKiB: UInt32) {
        self.opsLimit = opsLimit
        self.memoryKiB = memoryKiB
    }

    /// libsodium's OPSLIMIT/MEMLIMIT_MODERATE: 3 passes over 256 MiB, 0.4–0.9 s on a 2-core machine.
    public static let moderate = KDFProfile(opsLimit: 3, memoryKiB: 256 * 1024)
    /// libsodium's INTERACTIVE: 2 passes over 64 MiB, about 0.1 s; for tests and small machines.
    public static let interactive = KDFProfile(opsLimit: 2, memoryKiB: 64 * 1024)

    /// Readers refuse costs beyond these, so a damaged file cannot demand terabytes of memory.
    static let maxOps: UInt32 = 16
    static let maxMemoryKiB: UInt32 = 4 * 1024 * 1024   // 4 GiB, above libsodium's SENSITIVE (1 GiB)
}

public enum KeyFileProtection: Sendable {
    /// Argon2id-wrapped; the normal case.
    case passphrase(Passphrase, KDFProfile)
    /// Stored unwrapped, for unattended agents on encrypted disks; must be chosen explicitly.
    case none
}

/// The local key file (FORMAT.md §Key file). Encoding only; writing it atomically with mode 0600 is the
/// file-system layer's job.
public enum KeyFile {
    static let magic = Array("SHDWKEY2".utf8)
    static let headerSize = 76
    static let kdfRaw: UInt8 = 0
    static let kdfArgon2id: UInt8 = 1
    static let checksumPersonal = Personal("SHDW-keyfile-v1")

    /// Bytes of a key file's payload: the capability, then (read-write and read-only) the device's secrets.
    static func payloadLength(_ level: CapabilityLevel) -> Int {
        CapabilityText.payloadLength(level) + (level == .verifyOnly ? 0 : DeviceKeys.secretPayloadBytes)
    }

    public static func encode(_ keys: VaultKeys, protection: KeyFileProtection) throws(ShadowError) -> [UInt8] {
        var payload = keys.capabilityPayload.exposedCopy()
        defer { Sodium.wipe(&payload) }
        if keys.level != .verifyOnly {
            var device = try keys.requireDevice().secretPayload()
            defer { Sodium.wipe(&device) }
            payload += device
        }
        switch protection {
        case .none:
            let header = makeHeader(kdf: kdfRaw, level: keys.level, ops: 0, memoryKiB: 0,
                                    salt: [UInt8](repeating: 0, count: Argon2id.saltBytes),
                                    nonce: [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceBytes), vaultID: keys.vaultID)
            return header + payload + Blake2b.hash(header + payload, key: nil, outputLength: 16, personal: checksumPersonal)
        case .passphrase(let passphrase, let profile):
            let salt = Sodium.random(Argon2id.saltBytes)
            let nonce = Sodium.random(XChaCha20Poly1305.nonceBytes)
            let header = makeHeader(kdf: kdfArgon2id, level: keys.level, ops: profile.opsLimit, memoryKiB: profile.memoryKiB,
                                    salt: salt, nonce: nonce, vaultID: keys.vaultID)
            let wrapKey = try Argon2id.deriveKey(passphrase: passphrase.secret, salt: salt, ops: profile.opsLimit, memoryKiB: profile.memoryKiB)
            return header + XChaCha20Poly1305.seal(key: wrapKey, nonce: nonce, ad: header, plaintext: payload)
        }
    }

    private static func makeHeader(kdf: UInt8, level: CapabilityLevel, ops: UInt32, memoryKiB: UInt32,
                                   salt: [UInt8], nonce: [UInt8], vaultID: [UInt8]) -> [UInt8] {
        magic + [kdf, level.rawValue, 0, 0] + LittleEndian.bytes(ops) + LittleEndian.bytes(memoryKiB) + salt + nonce + vaultID
    }

    /// A key file's bytes under a new protection, for `key passwd`: opens `bytes` with `old` (a wrong
    /// passphrase throws and nothing is produced), wraps the same capability anew, and opens the result
    /// again to prove the new protection unlocks exactly the old key before anyone replaces the file.
    public static func rewrap(_ bytes: [UInt8], old: Passphrase?, new protection: KeyFileProtection) throws(ShadowError) -> [UInt8] {
        let keys = try decode(bytes, passphrase: old)
        let rewrapped = try encode(keys, protection: protection)
        let newPassphrase: Passphrase?
        switch protection {
        case .none: newPassphrase = nil
        case .passphrase(let p, _): newPassphrase = p
        }
        let check = try decode(rewrapped, passphrase: newPassphrase)
        guard check.capabilityPayload == keys.capabilityPayload, check.device?.id == keys.device?.id else {
            throw ShadowError(.corruptKeyFile, "the re-wrapped key file does not hold the same key; the key file was not changed",
                              advice: "this machine's memory or libsodium misbehaves: run 'shadowsync selfcheck'")
        }
        return rewrapped
    }

    /// True when the file needs a passphrase to open.
    public static func needsPassphrase(_ bytes: [UInt8]) throws(ShadowError) -> Bool {
        try parseHeader(bytes).kdf == kdfArgon2id
    }

    private static func corrupt(_ why: String) -> ShadowError {
        ShadowError(.corruptKeyFile, "the key file is damaged: \(why)",
                    advice: "restore it from a backup, or re-create it with 'shadowsync join' and your exported key")
    }

    private static func parseHeader(_ bytes: [UInt8]) throws(ShadowError) -> (kdf: UInt8, level: CapabilityLevel, ops: UInt32, memoryKiB: UInt32) {
        guard bytes.count >= 8, Array(bytes[0..<8]) != Array("SHDWKEY1".utf8) else {
            throw ShadowError(.unsupportedVersion, "the key file is of an older format (SHDWKEY1), from before devices had keys of their own",
                              advice: "join the vault again on this machine with an invite or an exported key")
        }
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic else { throw corrupt("it does not start with SHDWKEY2") }
        guard let level = CapabilityLevel(rawValue: bytes[9]) else { throw corrupt("unknown key type \(bytes[9])") }
        guard bytes[10] == 0, bytes[11] == 0 else { throw corrupt("reserved bytes are set") }
        guard bytes.count == headerSize + payloadLength(level) + 16 else {
            throw corrupt("it is \(bytes.count) bytes, a \(level) key file is \(headerSize + payloadLength(level) + 16)")
        }
        let ops = LittleEndian.read(UInt32.self, bytes, at: 12), mem = LittleEndian.read(UInt32.self, bytes, at: 16)
        switch bytes[8] {
        case kdfRaw:
            guard ops == 0, mem == 0, bytes[20..<60].allSatisfy({ $0 == 0 }) else { throw corrupt("an unwrapped key file carries KDF parameters") }
        case kdfArgon2id:
            guard (Argon2id.minOps...KDFProfile.maxOps).contains(ops), (Argon2id.minMemoryKiB...KDFProfile.maxMemoryKiB).contains(mem) else {
                throw corrupt("Argon2id parameters out of range (ops \(ops), memory \(mem) KiB)")
            }
        default:
            throw corrupt("unknown protection \(bytes[8])")
        }
        return (bytes[8], level, ops, mem)
    }

    /// Opens a key file. A wrong passphrase and a damaged wrapped body are indistinguishable by design;
    /// the error says so.
    public static func decode(_ bytes: [UInt8], passphrase: Passphrase?) throws(ShadowError) -> VaultKeys {
        let h = try parseHeader(bytes)
        let header = Array(bytes[0..<headerSize])
        let body = Array(bytes[headerSize...])
        var payload: [UInt8]
        if h.kdf == kdfRaw {
            payload = Array(body.dropLast(16))
            guard Sodium.equal(Blake2b.hash(header + payload, key: nil, outputLength: 16, personal: checksumPersonal), Array(body.suffix(16))) else {
                Sodium.wipe(&payload)
                throw corrupt("its checksum does not match")
            }
        } else {
            guard let passphrase else {
                throw ShadowError(.wrongPassphrase, "the key file is protected by a passphrase and none was given",
                                  advice: "pass --passphrase-file FILE (or set SHADOWSYNC_PASSPHRASE_FILE)")
            }
            let wrapKey = try Argon2id.deriveKey(passphrase: passphrase.secret, salt: Array(bytes[20..<36]), ops: h.ops, memoryKiB: h.memoryKiB)
            guard let opened = XChaCha20Poly1305.open(key: wrapKey, nonce: Array(bytes[36..<60]), ad: header, ciphertext: body) else {
                throw ShadowError(.wrongPassphrase, "wrong passphrase (or the key file was altered)",
                                  advice: "check the passphrase file; if it is right, restore the key file from a backup")
            }
            payload = opened
        }
        defer { Sodium.wipe(&payload) }
        let capabilityLength = CapabilityText.payloadLength(h.level)
        let capability = try CapabilityText.keys(level: h.level, payload: Array(payload[0..<capabilityLength]))
        guard capability.vaultID == Array(bytes[60..<76]) else { throw corrupt("its vault id does not match its key") }
        guard h.level != .verifyOnly else { return capability }
        var device = Array(payload[capabilityLength...])
        defer { Sodium.wipe(&device) }
        return VaultKeys(capability, device: DeviceKeys(secretPayload: device))
    }
}
