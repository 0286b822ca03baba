public import ShadowCore
import ShadowCrypto
import ShadowEngine
import ShadowSystem

/// What `key passwd` did, for the command to report.
public struct PassphraseChange: Sendable {
    public let keyFile: BytePath
    /// The new protection: "passphrase" or "none".
    public let protection: String
    /// Config settings changed so that the folder opens its key with the new passphrase unattended.
    public let configChanges: [String]
}

extension Workspace {
    /// Lock file in the state directory held while the key file is re-wrapped.
    static let keyLockName = "key.lock"

    /// `shadowsync key passwd`: re-wraps the folder's key file under a new passphrase (or none). The old
    /// passphrase must open the file first; the new file is proved to open with the new passphrase
    /// before it replaces the old one by an atomic rename, so at every moment the key file on disk opens
    /// with the old or with the new passphrase. `old` nil: the folder's own passphrase-file or
    /// passphrase-command, else the terminal. Afterwards the config's passphrase-file / passphrase-command
    /// follow the new source (a file or command given for the new passphrase is remembered; a typed one
    /// clears them, since they would no longer open the key).
    public func changePassphrase(_ path: BytePath?, old: PassphraseSource?, new: PassphraseSource) throws(ShadowError) -> PassphraseChange {
        var config = try config(path)
        let keyFile = config.location.keyFile
        let oldSource: PassphraseSource
        if let old { oldSource = old } else { oldSource = try config.passphraseSource() }
        // Only keeps two `key passwd` runs from interleaving: a running daemon keeps its keys in memory
        // and needs no lock to go on.
        let lock = try FileLock(config.location.state.appending(Self.keyLockName))
        defer { withExtendedLifetime(lock) {} }
        var bytes = try VaultStore.read(at: keyFile)
        defer { SecretMemory.wipe(&bytes) }
        var oldPassphrase: Passphrase?
        if try KeyFile.needsPassphrase(bytes) {
            oldPassphrase = try Self.existingPassphrase(oldSource, for: keyFile, prompt: "Current passphrase for \(keyFile): ")
        }
        let protection = try Self.newProtection(new, profile: kdfProfile)
        var rewrapped: [UInt8]
        do { rewrapped = try KeyFile.rewrap(bytes, old: oldPassphrase, new: protection) } catch where error.code == .wrongPassphrase {
            throw ShadowError(.wrongPassphrase, "the current passphrase does not open \(keyFile); the key file was not changed",
                              advice: "give the passphrase it was created with (--old-passphrase-file FILE, or type it)")
        }
        defer { SecretMemory.wipe(&rewrapped) }
        try VaultStore.replace(with: rewrapped, at: keyFile)

        var changes: [String] = []
        func set(_ key: ConfigKey, _ value: String?) {
            guard config.values[key.rawValue] != value else { return }
            config.values[key.rawValue] = value
            changes.append(value.map { "\(key) = \($0)" } ?? "\(key) removed")
        }
        switch new {
        case .file(let f):
            set(.passphraseFile, try canonicalPath(f).description)
            set(.passphraseCommand, nil)
        case .command(let c):
            set(.passphraseCommand, c)
            set(.passphraseFile, nil)
        case .prompt, .none:
            set(.passphraseFile, nil)
            set(.passphraseCommand, nil)
        }
        if !changes.isEmpty { try registry.save(config) }
        let kind: String
        switch protection {
        case .none: kind = "none"
        case .passphrase: kind = "passphrase"
        }
        return PassphraseChange(keyFile: keyFile, protection: kind, configChanges: changes)
    }
}
