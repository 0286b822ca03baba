public import ShadowCore
public import ShadowCrypto
import ShadowSystem

/// Reads and writes the local key file: atomically, mode 0600, and never readable by others.
public enum VaultStore {
    /// Largest key file we read: the real ones are under 200 bytes; anything big is not one.
    static let keyFileLimitBytes = 4096
    /// Largest passphrase file we read.
    static let passphraseLimitBytes = 4096
    /// Key files are owner-only, as ssh insists for private keys.
    public static let keyFileMode: UInt32 = 0o600

    /// Writes a new key file; refuses to replace an existing one (that could destroy the only copy of a key).
    public static func create(_ keys: VaultKeys, at path: BytePath, protection: KeyFileProtection) throws(ShadowError) {
        guard !FileSystem.exists(path) else {
            throw ShadowError(.alreadyExists, "a key file already exists at \(path); refusing to overwrite it",
                              advice: "move it away first if you really mean to replace it")
        }
        var bytes = try KeyFile.encode(keys, protection: protection)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        try FileSystem.writeAtomically(bytes, to: path, mode: keyFileMode)
    }

    /// Opens the key file. A file readable by group or others is refused, so a leak is noticed.
    public static func open(at path: BytePath, passphrase: Passphrase?) throws(ShadowError) -> VaultKeys {
        let mode = try FileSystem.permissions(of: path)
        guard mode & 0o077 == 0 else {
            throw ShadowError(.keyFilePermissions, "key file \(path) is accessible by other users (mode \(String(mode, radix: 8)))",
                              advice: "run: chmod 600 \(path)")
        }
        var bytes = try FileSystem.readFile(path, limit: keyFileLimitBytes)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return try KeyFile.decode(bytes, passphrase: passphrase)
    }

    /// Replaces an existing key file's bytes (a new passphrase): a temporary file of mode 0600, fsynced,
    /// renamed over the old one, so a crash leaves the old file or the new, never a torn one.
    public static func replace(with bytes: [UInt8], at path: BytePath) throws(ShadowError) {
        guard FileSystem.exists(path) else {
            throw ShadowError(.notFound, "no key file at \(path)", advice: "check the folder with 'shadowsync doctor'")
        }
        try FileSystem.writeAtomically(bytes, to: path, mode: keyFileMode)
    }

    /// A key file's raw bytes, after the same permission check as `open`; the caller wipes them.
    public static func read(at path: BytePath) throws(ShadowError) -> [UInt8] {
        let mode = try FileSystem.permissions(of: path)
        guard mode & 0o077 == 0 else {
            throw ShadowError(.keyFilePermissions, "key file \(path) is accessible by other users (mode \(String(mode, radix: 8)))",
                              advice: "run: chmod 600 \(path)")
        }
        return try FileSystem.readFile(path, limit: keyFileLimitBytes)
    }

    /// Reads a passphrase from a file (never from argv, where other users could see it).
    public static func readPassphrase(from path: BytePath) throws(ShadowError) -> Passphrase {
        var bytes = try FileSystem.readFile(path, limit: passphraseLimitBytes)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return try Passphrase(bytes: bytes)
    }
}
