public import ShadowCore
import ShadowSystem
import ShadowGit
import ShadowEngine
import ShadowXMPP

/// One `KEY=VALUE` of `join --config`: a key `config set` takes, set before the join's first push.
public struct ConfigSetting: Sendable {
    public var key: String
    public var value: String

    public init(key: String, value: String) { self.key = key; self.value = value }

    /// `KEY=VALUE` with a key `config set` knows; nil otherwise.
    public init?(_ text: String) {
        guard let eq = text.firstIndex(of: "="), ConfigKey(rawValue: String(text[..<eq])) != nil else { return nil }
        self.init(key: String(text[..<eq]), value: String(text[text.index(after: eq)...]))
    }
}

extension Workspace {
    /// The folder config that contains `path` (default: the current directory), without unlocking anything.
    public func config(_ path: BytePath?) throws(ShadowError) -> FolderConfig {
        let start: BytePath
        if let path { start = path } else { start = try currentDirectory() }
        let config = try registry.find(containing: start)
        for warning in SecretFiles.openFileWarnings(config) { Warnings.emit(warning) }
        return config
    }

    /// `shadowsync config set KEY VALUE` (an empty VALUE removes an optional key). Values are checked
    /// before anything is written; `remote` also moves the shadow repository's `origin`.
    public func setConfig(_ path: BytePath?, key: String, value: String) throws(ShadowError) -> FolderConfig {
        var config = try config(path)
        guard let setting = ConfigKey(rawValue: key) else {
            throw ShadowError(.invalidArgument, "unknown key '\(key)'", advice: "known keys: \(FolderConfig.knownKeys.joined(separator: ", "))")
        }
        guard ![ConfigKey.shadow, .state].contains(setting) else {
            throw ShadowError(.invalidArgument, "'\(key)' is fixed when the folder is set up",
                              advice: "to move the folder itself: mv it, then 'shadowsync config set folder NEW --folder OLD'")
        }
        if setting == .folder { return try moveFolder(config, to: value) }
        var stored = value.trimmedWhitespace
        switch setting {
        case .remote:
            guard !stored.isEmpty else { throw ShadowError(.invalidArgument, "'remote' cannot be empty") }
            stored = try Self.normalizeRemote(stored, createIfMissing: false)
            // The new remote must hold this vault's history (a mirror), or the next fetch reports a rollback.
            try GitRepository.open(config.shadow).setRemote(url: stored)
        case .sshAgent:
            guard ["yes", "no", ""].contains(stored) else { throw ShadowError(.invalidArgument, "ssh.agent is yes or no") }
        case .ignorePerms:
            guard ["true", "false", ""].contains(stored) else { throw ShadowError(.invalidArgument, "ignore-perms is true or false") }
        case .xmppJID, .xmppRoom:
            guard stored.isEmpty || XMPPSettings.isBareJID(stored) else {
                throw ShadowError(.invalidArgument, "\(key) '\(stored)' is not a bare JID like agents@example.org")
            }
        case .xmppPeers:
            for jid in stored.split(whereSeparator: { $0 == "," || $0 == " " }) where !XMPPSettings.isBareJID(String(jid)) {
                throw ShadowError(.invalidArgument, "xmpp.peers entry '\(jid)' is not a bare JID like laptop@example.org")
            }
        case .xmppServer:
            if !stored.isEmpty { _ = try DoorbellService.parseServer(stored) }
        case .xmppFingerprint:
            guard stored.isEmpty || XMPPSettings.isFingerprint(stored) else {
                throw ShadowError(.invalidArgument, "xmpp.fingerprint is 64 hex digits (colons allowed)",
                                  advice: "openssl x509 -in server.crt -noout -fingerprint -sha256")
            }
        case .passphraseCommand:
            break  // a command line, run by /bin/sh; `key passwd` and every unlock report what it did
        case .syncQuietMs, .syncMaxDelayMs, .syncPollSeconds, .syncRescanSeconds, .syncWithheldSeconds:
            guard stored.isEmpty || (Int(stored).map { $0 > 0 } ?? false) else {
                throw ShadowError(.invalidArgument, "\(key) is a whole number greater than 0")
            }
        case .folder, .shadow, .state, .passphraseFile, .sshKey, .sshKeyPassphraseFile, .sshKnownHosts, .hooksDir,
             .xmppPasswordFile, .xmppCAFile, .xmppRoomPasswordFile:  // file paths
            if stored.isEmpty { break }
            var p = BytePath(stored)
            if stored.hasPrefix("~/"), let home = homeDirectory() { p = home.appending(String(stored.dropFirst(2))) }
            if !p.description.hasPrefix("/") { p = (try currentDirectory()).appending(stored) }
            if setting != .sshKnownHosts {
                guard FileSystem.exists(p) else { throw ShadowError(.notFound, "\(key): no file at \(p)") }
                p = try canonicalPath(p)
            }
            if [.passphraseFile, .sshKey, .sshKeyPassphraseFile, .xmppPasswordFile, .xmppRoomPasswordFile].contains(setting) {
                try SecretFiles.requirePrivate(p, key)
            }
            stored = p.description
        }
        if stored.isEmpty { config.values[key] = nil } else { config.values[key] = stored }
        try registry.save(config)
        return config
    }

    /// `config set folder NEW`: the folder was moved (mv OLD NEW) and its config follows. Refused while
    /// a shadowsync process holds it, while OLD still exists (NEW would be another folder, not this one
    /// moved), and where init would refuse NEW. The index keeps its file stats, so a move within one
    /// file system costs no re-hash.
    func moveFolder(_ config: FolderConfig, to value: String) throws(ShadowError) -> FolderConfig {
        var config = config
        let old = config.folder
        guard !value.trimmedWhitespace.isEmpty else { throw ShadowError(.invalidArgument, "'folder' cannot be empty") }
        let raw = value.trimmedWhitespace
        let given = raw.hasPrefix("/") ? BytePath(raw) : (try currentDirectory()).appending(raw)
        guard FileSystem.exists(given) else {
            throw ShadowError(.notFound, "\(given) does not exist", advice: "move the folder first (mv \(old) \(given)), then run this again")
        }
        let new = try canonicalPath(given)
        if new.bytes == old.bytes { return config }
        guard !FileSystem.exists(old) else {
            throw ShadowError(.alreadyExists, "the folder is still at \(old); nothing was changed",
                              advice: "move it first (mv \(old) \(new)), then run this again; to sync another directory, set it up with 'shadowsync join'")
        }
        for other in try registry.all() where other.name != config.name {
            let f = other.folder.bytes
            if new.bytes == f || new.bytes.starts(with: f + [UInt8(ascii: "/")]) || f.starts(with: new.bytes + [UInt8(ascii: "/")]) {
                throw ShadowError(.alreadyExists, "\(new) overlaps the synced folder \(other.folder)", advice: "move the folder somewhere else")
            }
        }
        for inner in [config.shadow, config.state] where inner.bytes == new.bytes || inner.bytes.starts(with: new.bytes + [UInt8(ascii: "/")]) || new.bytes.starts(with: inner.bytes + [UInt8(ascii: "/")]) {
            throw ShadowError(.invalidArgument, "\(new) and the agent's directory \(inner) must not contain each other", advice: "move the folder somewhere else")
        }
        // No daemon or sync may be using the folder while its config changes under it.
        let lock = try FileLock(config.location.lockFile)
        config.values[ConfigKey.folder.rawValue] = new.description
        try registry.save(config)
        withExtendedLifetime(lock) {}
        return config
    }
}
