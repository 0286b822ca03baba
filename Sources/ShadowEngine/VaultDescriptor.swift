public import ShadowCore
public import ShadowCrypto

/// `vault.json`: the public, signed description of the vault that sits in every commit's tree (FORMAT.md
/// §7). Canonical bytes: for a given vault there is exactly one valid file (Ed25519 is deterministic),
/// so readers compare it byte for byte with what they expect, which also pins the format parameters
/// against a downgrade.
public enum VaultDescriptor {
    public static let fileName = "vault.json"
    /// The format this code reads and writes (FORMAT.md); older vaults are refused, never migrated.
    public static let format = "shdw/4"
    /// The largest `vault.json` a reader loads; a genuine one is about 400 bytes.
    static let limitBytes = 4096

    /// Everything up to the recovery key's hex digits.
    static func head(_ keys: VaultKeys) -> String {
        "{\"format\":\"\(format)\",\"vault_id\":\"\(hexString(keys.vaultID))\",\"root_public_key\":\"\(hexString(keys.rootPublicKey))\",\"recovery_public_key\":\""
    }

    /// Everything but the signature, in a fixed key order. `recovery`: the recovery key's X25519 public
    /// key (FORMAT.md §1d), which only the vault key derives; other readers take it from the file.
    static func body(_ keys: VaultKeys, recovery: [UInt8]) -> String {
        let c = ContentParameters.default
        return head(keys) + "\(hexString(recovery))\","
            + "\"content\":{\"chunk_log2\":\(c.chunkLog2),\"padding\":\"padme\"},\"names\":{\"locator_bits\":160,\"record_quantum\":64}"
    }

    /// The recovery public key a `vault.json` names (unverified: verify the file first), or nil.
    public static func recoveryPublicKey(_ bytes: [UInt8], keys: VaultKeys) -> [UInt8]? {
        let h = Array(head(keys).utf8), digits = 2 * 32
        guard bytes.count >= h.count + digits, bytes.starts(with: h) else { return nil }
        guard let key = bytesFromHex(String(decoding: bytes[h.count..<(h.count + digits)], as: UTF8.self)), key.count == 32 else { return nil }
        return key
    }

    /// The signed file; only a read-write key can make it.
    public static func make(_ keys: VaultKeys) throws(ShadowError) -> [UInt8] {
        guard let recovery = keys.recoveryPublicKey else {
            throw ShadowError(.insufficientCapability, "only the vault key can write vault.json")
        }
        let b = body(keys, recovery: recovery)
        let signature = try Signatures.sign(Array(b.utf8), purpose: .vaultDescriptor, keys: keys)
        return Array((b + ",\"signature\":\"\(Signatures.text(signature))\"}\n").utf8)
    }

    /// Checks a file from the server: this vault's body, and a valid root signature over it.
    public static func verify(_ bytes: [UInt8], keys: VaultKeys, commit: ObjectID) throws(ShadowError) {
        let recovery = keys.recoveryPublicKey ?? recoveryPublicKey(bytes, keys: keys) ?? [UInt8](repeating: 0, count: 32)
        let b = Array(body(keys, recovery: recovery).utf8)
        let prefix = Array(",\"signature\":\"".utf8), suffix = Array("\"}\n".utf8)
        let sigHex = Signatures.size * 2
        // A genuine descriptor of this vault in another format (its signature verifies) is told apart
        // from a damaged one: the message then names the format, not the server.
        let tail = prefix.count + sigHex + suffix.count, formatKey = Array("{\"format\":\"".utf8)
        if bytes.count > tail, bytes.starts(with: formatKey), !bytes.starts(with: Array(head(keys).utf8)) {
            let signed = Array(bytes[..<(bytes.count - tail)])
            let text = String(decoding: bytes[(signed.count + prefix.count)..<(bytes.count - suffix.count)], as: UTF8.self)
            if Array(bytes[signed.count..<(signed.count + prefix.count)]) == prefix,
               let signature = try? Signatures.parse(text: text),
               (try? Signatures.verify(signature, of: signed, purpose: .vaultDescriptor, keys: keys)) != nil {
                let found = signed[formatKey.count...].prefix(16).prefix { $0 != UInt8(ascii: "\"") }
                throw ShadowError(.unsupportedVersion, "commit \(commit.short) is in vault format \(String(decoding: found, as: UTF8.self).debugDescription); this version reads only \(format)",
                                  advice: "use the ShadowSync version that created this vault, or start a new vault: formats are not converted")
            }
        }
        guard bytes.count == b.count + prefix.count + sigHex + suffix.count, Array(bytes[..<b.count]) == b,
              Array(bytes[b.count..<b.count + prefix.count]) == prefix, Array(bytes.suffix(suffix.count)) == suffix else {
            throw ShadowError(.malformedObject, "commit \(commit.short) holds a vault.json that does not describe this vault: wrong key for this repository, or the server changed it",
                              advice: "check that the key belongs to this repository; nothing was changed locally")
        }
        let sigText = String(decoding: bytes[(b.count + prefix.count)..<(b.count + prefix.count + sigHex)], as: UTF8.self)
        do {
            try Signatures.verify(try Signatures.parse(text: sigText), of: b, purpose: .vaultDescriptor, keys: keys)
        } catch {
            throw ShadowError(.signatureInvalid, "commit \(commit.short) holds a vault.json whose signature does not verify: the server tampered with it")
        }
    }
}
