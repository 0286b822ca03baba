public import ShadowCore
import ShadowSystem

/// Per-user directories (XDG base directories), so several agents can run side by side on one machine
/// with different XDG_CONFIG_HOME / XDG_DATA_HOME.
public struct UserDirectories: Sendable {
    public let config: BytePath
    public let data: BytePath

    public static func current() throws(ShadowError) -> UserDirectories {
        let home = homeDirectory()
        func base(_ variable: String, _ fallback: String) throws(ShadowError) -> BytePath {
            if let v = environment(variable), v.hasPrefix("/") { return BytePath(v) }
            guard let home else {
                throw ShadowError(.invalidArgument, "neither \(variable) nor HOME is set: no place for ShadowSync's files",
                                  advice: "set HOME, or \(variable) to an absolute directory")
            }
            return home.appending(fallback)
        }
        return UserDirectories(config: try base("XDG_CONFIG_HOME", ".config").appending("shadowsync"),
                               data: try base("XDG_DATA_HOME", ".local/share").appending("shadowsync"))
    }

    var foldersDirectory: BytePath { config.appending("folders") }
}

/// The keys of a folder's config file, in the order `config list` and the file show them.
public enum ConfigKey: String, CaseIterable, Sendable, CustomStringConvertible {
    case folder
    case shadow
    case state
    case remote
    case passphraseFile = "passphrase-file"
    case sshKey = "ssh.key"
    case sshKeyPassphraseFile = "ssh.key-passphrase-file"
    case sshKnownHosts = "ssh.known_hosts"
    case sshAgent = "ssh.agent"
    case syncQuietMs = "sync.quiet-ms"
    case syncMaxDelayMs = "sync.max-delay-ms"
    case syncPollSeconds = "sync.poll-seconds"
    case syncRescanSeconds = "sync.rescan-seconds"
    case syncWithheldSeconds = "sync.withheld-seconds"
    case ignorePerms = "ignore-perms"
    case hooksDir = "hooks.dir"
    case xmppJID = "xmpp.jid"
    case xmppPasswordFile = "xmpp.password-file"
    case xmppServer = "xmpp.server"
    case xmppCAFile = "xmpp.ca-file"
    case xmppFingerprint = "xmpp.fingerprint"
    case xmppPeers = "xmpp.peers"
    case xmppRoom = "xmpp.room"
    case xmppRoomPasswordFile = "xmpp.room-password-file"

    /// The key as written in the file.
    public var description: String { rawValue }

    /// What the key means (`shadowsync config list`; Docs/OPERATIONS.md explains more).
    public var meaning: String {
        switch self {
        case .folder: "the plaintext folder (set by init/join; after moving it, 'config set folder NEW --folder OLD')"
        case .shadow: "the ciphertext work tree (set by init/join; do not change)"
        case .state: "the agent's state directory (set by init/join; do not change)"
        case .remote: "the bare repository: ssh://user@host[:port]/path, user@host:path, a local path or file:///path"
        case .passphraseFile: "a file holding the key file's passphrase"
        case .sshKey: "the SSH private key to log in with (ed25519 or ECDSA); default: ssh-agent, then ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa"
        case .sshKeyPassphraseFile: "a file holding ssh.key's passphrase"
        case .sshKnownHosts: "the known_hosts file that decides which server keys are trusted; default ~/.ssh/known_hosts"
        case .sshAgent: "yes (default) or no: whether to ask ssh-agent (SSH_AUTH_SOCK) for keys"
        case .syncQuietMs: "run: commit once the folder has been quiet this long after a change (default 1000)"
        case .syncMaxDelayMs: "run: commit at the latest this long after the first change of a burst (default 10000)"
        case .syncPollSeconds: "run: fetch from the remote this often (default 60; the doorbell makes it rarely needed)"
        case .syncRescanSeconds: "run: full safety rescan this often even without events (default 3600)"
        case .syncWithheldSeconds: "run: how long a commit another device announced may be missing from the server before a withheld_commit alert (default 120)"
        case .ignorePerms: "true or false (default): the file system keeps no permissions worth syncing (FAT, NTFS mounts); modes are neither committed nor applied here"
        case .hooksDir: "run: a directory of executables run on events (on-commit, on-push, on-pull, on-conflict, on-error, on-alert)"
        case .xmppJID: "run: the XMPP account (bare JID) the doorbell logs in to; unset: no doorbell, polling only"
        case .xmppPasswordFile: "a file holding the XMPP account's password"
        case .xmppServer: "host[:port] to connect to instead of the JID's domain (default port 5222)"
        case .xmppCAFile: "PEM CA certificate(s) that sign the XMPP server's certificate (default: the system's CAs)"
        case .xmppFingerprint: "SHA-256 fingerprint of the XMPP server's certificate, instead of a CA"
        case .xmppPeers: "other XMPP accounts (bare JIDs, comma-separated) to ring; default: this account's other agents"
        case .xmppRoom: "a members-only MUC room to ring instead (room@conference.example.org)"
        case .xmppRoomPasswordFile: "a file holding xmpp.room's password"
        }
    }
}

/// The human-editable configuration of one folder: `key = value` lines, `#` comments
/// (Docs/OPERATIONS.md lists the keys). Secrets are only ever referenced by file.
public struct FolderConfig: Sendable {
    public var name: String
    public var values: [String: String]

    /// Every key, with what it means (`shadowsync config` prints these; Docs/OPERATIONS.md explains them).
    public static let keyDescriptions: [(key: String, meaning: String)] = ConfigKey.allCases.map { ($0.rawValue, $0.meaning) }

    /// A whole-number setting, or `fallback` when unset.
    public func integer(_ key: ConfigKey, _ fallback: Int) -> Int { value(key).flatMap { Int($0) } ?? fallback }
    /// A setting as written, or nil when unset.
    public func value(_ key: ConfigKey) -> String? { values[key.rawValue] }
    public static var knownKeys: [String] { keyDescriptions.map(\.key) }

    public var folder: BytePath { BytePath(value(.folder) ?? "") }
    public var shadow: BytePath { BytePath(value(.shadow) ?? "") }
    public var state: BytePath { BytePath(value(.state) ?? "") }
    public var remote: String { value(.remote) ?? "" }
    public var passphraseFile: BytePath? { path(.passphraseFile) }
    public var ignorePermissions: Bool { value(.ignorePerms) == "true" }

    /// A path-valued key: `~/` means the home directory; nil when unset.
    public func path(_ key: ConfigKey) -> BytePath? {
        guard let v = value(key), !v.isEmpty else { return nil }
        if v.hasPrefix("~/"), let home = homeDirectory() { return home.appending(String(v.dropFirst(2))) }
        return BytePath(v)
    }

    public static func parse(_ text: String, name: String) throws(ShadowError) -> FolderConfig {
        var values: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ShadowError(.invalidArgument, "config \(name), line \(n + 1): expected 'key = value'")
            }
            let key = line[..<eq].trimmedWhitespace, value = line[line.index(after: eq)...].trimmedWhitespace
            guard knownKeys.contains(key) else {
                throw ShadowError(.invalidArgument, "config \(name), line \(n + 1): unknown key '\(key)'",
                                  advice: "known keys: \(knownKeys.joined(separator: ", "))")
            }
            values[key] = value
        }
        for required in [ConfigKey.folder, .shadow, .state, .remote] where (values[required.rawValue] ?? "").isEmpty {
            throw ShadowError(.invalidArgument, "config \(name) has no '\(required.rawValue)'", advice: "add a line '\(required.rawValue) = ...'")
        }
        return FolderConfig(name: name, values: values)
    }

    public func render() -> String {
        var text = "# ShadowSync folder configuration (Docs/OPERATIONS.md). Edit while no shadowsync process runs.\n"
        for key in FolderConfig.knownKeys { if let v = values[key] { text += "\(key) = \(v)\n" } }
        return text
    }
}

/// Finds and records folder configurations under the config directory.
public struct FolderRegistry: Sendable {
    public let directories: UserDirectories

    public init(_ directories: UserDirectories) { self.directories = directories }

    public func all() throws(ShadowError) -> [FolderConfig] {
        let dir = directories.foldersDirectory
        guard FileSystem.exists(dir) else { return [] }
        var out: [FolderConfig] = []
        for name in try FileSystem.list(dir).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let file = String(decoding: name, as: UTF8.self)
            guard file.hasSuffix(".conf") else { continue }
            let text = String(decoding: try FileSystem.readFile(dir.appending(bytes: name), limit: 1 << 16), as: UTF8.self)
            out.append(try FolderConfig.parse(text, name: String(file.dropLast(5))))
        }
        return out
    }

    /// The folder containing `path` (the folder itself or any directory below it).
    public func find(containing path: BytePath) throws(ShadowError) -> FolderConfig {
        // A folder moved away is still found by its old path, as written (`config set folder NEW`).
        let target: [UInt8]
        do { target = try canonicalPath(path).bytes } catch where error.code == .notFound {
            target = path.description.hasPrefix("/") ? path.bytes : (try currentDirectory()).appending(path.description).bytes
        }
        for config in try all() {
            let f = config.folder.bytes
            if target == f || target.starts(with: f + [UInt8(ascii: "/")]) { return config }
        }
        throw ShadowError(.notFound, "\(path) is not inside a ShadowSync folder",
                          advice: "pass --folder DIR, or set one up with 'shadowsync init' or 'shadowsync join'")
    }

    public func save(_ config: FolderConfig) throws(ShadowError) {
        try FileSystem.createDirectories(directories.foldersDirectory, mode: 0o700)
        let file = directories.foldersDirectory.appending(config.name + ".conf")
        try FileSystem.writeAtomically(Array(config.render().utf8), to: file, mode: 0o600)
    }

    public func configFile(_ config: FolderConfig) -> BytePath {
        directories.foldersDirectory.appending(config.name + ".conf")
    }

    /// A new, unused name: the folder's base name and a random suffix.
    func newName(for folder: BytePath) throws(ShadowError) -> String {
        let base = String(decoding: folder.lastComponent.filter { $0 != UInt8(ascii: "/") }, as: UTF8.self)
            .map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        var suffix = ""
        for _ in 0..<6 { suffix.append(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8.random(in: 0..<26)))) }
        return String(String(base).prefix(40)) + "-" + suffix
    }
}
