public import ShadowCore

/// Text form of a capability: `shdw1-rw-` / `shdw1-ro-` / `shdw1-vk-` then lowercase base32 of
/// payload ‖ checksum, checksum = BLAKE2b-256(personal "SHDW-capsum-v1", prefix ‖ payload)[0..4].
/// Four checksum bytes catch any typo or truncation except with probability 2^-32.
public enum CapabilityText {
    static let checksumBytes = 4
    /// What every capability text starts with, whatever its level (after lowercasing).
    public static let commonPrefix = "shdw1-"

    static func payloadLength(_ level: CapabilityLevel) -> Int {
        switch level {
        case .readWrite: return 1 + KeySizes.vaultSecret
        case .readOnly: return 1 + 4 + KeySizes.readSecret + KeySizes.rootPublicKey
        case .verifyOnly: return 1 + KeySizes.rootPublicKey
        }
    }

    static func checksum(prefix: String, payload: [UInt8]) -> [UInt8] {
        Array(Blake2b.hash(Array(prefix.utf8) + payload, key: nil, outputLength: 32,
                           personal: Personal("SHDW-capsum-v1")).prefix(checksumBytes))
    }

    /// Renders a capability. The string is itself a secret for read-write and read-only levels.
    public static func encode(_ keys: VaultKeys) -> String {
        var payload = keys.capabilityPayload.exposedCopy()
        defer { Sodium.wipe(&payload) }
        let prefix = keys.level.textPrefix
        var body = payload + checksum(prefix: prefix, payload: payload)
        defer { Sodium.wipe(&body) }
        return prefix + Base32.encode(body)
    }

    /// Parses a capability string; whitespace and case are forgiven, everything else is a clear error.
    public static func decode(_ text: String) throws(ShadowError) -> VaultKeys {
        let cleaned = Array(text.lowercased().utf8.filter { $0 != UInt8(ascii: " ") && $0 != 10 && $0 != 13 && $0 != 9 })
        let levels: [CapabilityLevel] = [.readWrite, .readOnly, .verifyOnly]
        guard let level = levels.first(where: { cleaned.starts(with: Array($0.textPrefix.utf8)) }) else {
            throw ShadowError(.badCapability, "this is not a ShadowSync key (it should start with shdw1-rw-, shdw1-ro- or shdw1-vk-)",
                              advice: "copy the whole string printed by 'shadowsync key export'")
        }
        let prefix = level.textPrefix
        let bodyText = cleaned.dropFirst(prefix.utf8.count)
        let expectedChars = ((payloadLength(level) + checksumBytes) * 8 + 4) / 5
        guard bodyText.count == expectedChars else {
            let what = bodyText.count < expectedChars ? "too short (truncated?)" : "too long"
            throw ShadowError(.badCapability, "the \(level) key is \(what): \(bodyText.count) characters after the prefix, expected \(expectedChars)",
                              advice: "copy the whole string printed by 'shadowsync key export'")
        }
        if let bad = bodyText.firstIndex(where: { !Base32.alphabet.contains($0) }) {
            let pos = prefix.utf8.count + bodyText.distance(from: bodyText.startIndex, to: bad) + 1
            throw ShadowError(.badCapability, "the key has an invalid character at position \(pos) (only a-z and 2-7 occur)",
                              advice: "check for a mistyped 0/o, 1/l or 8/b")
        }
        guard var body = Base32.decode(bodyText) else {
            throw ShadowError(.badCapability, "the key's last character is not a valid ending (typo?)")
        }
        defer { Sodium.wipe(&body) }
        var payload = Array(body.prefix(payloadLength(level)))
        defer { Sodium.wipe(&payload) }
        guard Sodium.equal(Array(body.suffix(checksumBytes)), checksum(prefix: prefix, payload: payload)) else {
            throw ShadowError(.badCapability, "the key's checksum does not match: it has a typo",
                              advice: "copy the string again; a single wrong character is enough to fail")
        }
        return try keys(level: level, payload: payload)
    }

    /// Builds keys from a binary payload (also used by key files).
    static func keys(level: CapabilityLevel, payload: [UInt8]) throws(ShadowError) -> VaultKeys {
        guard payload.count == payloadLength(level), payload.first == level.rawValue else {
            throw ShadowError(.badCapability, "the \(level) key payload is malformed")
        }
        switch level {
        case .readWrite:
            return VaultKeys(vaultSecret: SecretBytes(copying: Array(payload[1...])))
        case .readOnly:
            let epoch = LittleEndian.read(UInt32.self, payload, at: 1)
            let rs = SecretBytes(copying: Array(payload[5..<37]))
            return VaultKeys(readSecret: rs, epoch: epoch, rootPublicKey: Array(payload[37..<69]))
        case .verifyOnly:
            return VaultKeys(rootPublicKey: Array(payload[1...]))
        }
    }
}
