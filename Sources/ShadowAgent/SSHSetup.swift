public import ShadowCore
import ShadowCrypto
import ShadowGit
import ShadowSystem

/// SSH choices given to `init` and `join`; the first three are remembered in the folder's config.
public struct SSHOptions: Sendable {
    public var keyFile: BytePath?
    public var keyPassphraseFile: BytePath?
    public var knownHosts: BytePath?
    /// `--accept-host-key SHA256:…`: trust an unknown server whose key has exactly this fingerprint
    /// (added to known_hosts). Never overrides a changed key.
    public var acceptHostKey: String?

    public init(keyFile: BytePath? = nil, keyPassphraseFile: BytePath? = nil, knownHosts: BytePath? = nil, acceptHostKey: String? = nil) {
        self.keyFile = keyFile
        self.keyPassphraseFile = keyPassphraseFile
        self.knownHosts = knownHosts
        self.acceptHostKey = acceptHostKey
    }

    /// The config lines these options become (absolute paths).
    func configValues() throws(ShadowError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, path) in [(ConfigKey.sshKey, keyFile), (.sshKeyPassphraseFile, keyPassphraseFile)] {
            guard let path else { continue }
            guard FileSystem.exists(path) else { throw ShadowError(.notFound, "\(key.rawValue): no file at \(path)") }
            try SecretFiles.requirePrivate(path, key == .sshKey ? "the SSH key" : "the SSH key's passphrase file")
            out[key.rawValue] = try canonicalPath(path).description
        }
        if let knownHosts {
            out[ConfigKey.sshKnownHosts.rawValue] = knownHosts.description.hasPrefix("/") ? knownHosts.description : (try currentDirectory()).appending(knownHosts.description).description
        }
        return out
    }
}

/// Builds the SSH settings of a folder (and opens its shadow repository with them attached) and
/// decides on host keys: ShadowSync's own known_hosts check, strict like OpenSSH's (unknown and
/// changed keys are errors; only an explicit fingerprint or `trust-host` adds one).
public enum SSHSetup {
    public static func defaultKnownHosts() -> BytePath? {
        homeDirectory()?.appending(".ssh/known_hosts")
    }

    static func knownHostsFile(_ config: FolderConfig) throws(ShadowError) -> BytePath {
        if let f = config.path(.sshKnownHosts) { return f }
        guard let f = defaultKnownHosts() else {
            throw ShadowError(.invalidArgument, "no home directory, so no ~/.ssh/known_hosts",
                              advice: "set one with 'shadowsync config set ssh.known_hosts FILE'")
        }
        return f
    }

    /// The settings for `config`'s remote; `acceptHostKey` is a one-off `--accept-host-key`.
    static func settings(for config: FolderConfig, acceptHostKey: String? = nil) throws(ShadowError) -> SSHSettings {
        let knownHosts = try knownHostsFile(config)
        let home = homeDirectory()
        let keyFile = config.path(.sshKey)
        if let keyFile, !FileSystem.exists(keyFile) {
            throw ShadowError(.notFound, "ssh.key names \(keyFile), which does not exist",
                              advice: "fix it with 'shadowsync config set ssh.key FILE'")
        }
        if let keyFile { try SecretFiles.requirePrivate(keyFile, "the SSH key") }
        let passphraseFile = config.path(.sshKeyPassphraseFile)
        if let passphraseFile { try SecretFiles.requirePrivate(passphraseFile, "the SSH key's passphrase file") }
        var readPassphrase: (@Sendable () throws(ShadowError) -> [UInt8])?
        if let passphraseFile {
            readPassphrase = { () throws(ShadowError) -> [UInt8] in try readSSHPassphrase(passphraseFile) }
        }
        return SSHSettings(
            user: userName() ?? "",
            keyFile: keyFile,
            readKeyPassphrase: readPassphrase,
            useAgent: config.value(.sshAgent) != "no" && environment("SSH_AUTH_SOCK") != nil,
            defaultKeyFiles: home.map { h in ["id_ed25519", "id_ecdsa"].map { h.appending(".ssh/" + $0) } } ?? [],
            checkHostKey: { host, port, key in
                check(key, host: host, port: port, knownHosts: knownHosts, accept: acceptHostKey)
            })
    }

    /// Nil accepts. Unknown: accepted (and recorded) only when `accept` is exactly its fingerprint.
    static func check(_ key: HostKey, host: String, port: Int, knownHosts file: BytePath, accept: String?) -> ShadowError? {
        let name = RemoteAddress.knownHostsName(host: host, port: port)
        let known: KnownHosts
        do { known = try KnownHosts.load(file) } catch {
            return ShadowError(.invalidArgument, "cannot read \(file) to check the key of \(name): \(error.message)", advice: error.advice)
        }
        switch known.verdict(for: name, key: key) {
        case .known:
            return nil
        case .revoked(let line):
            return ShadowError(.hostKeyChanged, "\(name) presented the \(key.type) key \(key.fingerprint), which \(file) line \(line) marks @revoked",
                               advice: "do not connect; ask the server's operator what happened")
        case .changed(let types, let line):
            return ShadowError(.hostKeyChanged,
                               "\(name) presented the \(key.type) key \(key.fingerprint), but \(file) (line \(line)) trusts a different \(types.joined(separator: "/")) key for it: someone may be intercepting the connection, or the server was reinstalled. Nothing was sent",
                               advice: "check the server's key out of band (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server); only if it is right, remove the old line (ssh-keygen -R '\(name)' -f \(file)) and run 'shadowsync trust-host \(host):\(port)'")
        case .unknown:
            if let accept {
                guard accept == key.fingerprint else {
                    return ShadowError(.hostKeyUnknown, "\(name) presented the \(key.type) key \(key.fingerprint), not the \(accept) given with --accept-host-key. Nothing was sent",
                                       advice: "check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_\(key.type.contains("ed25519") ? "ed25519" : "ecdsa")_key.pub)")
                }
                do { try KnownHosts.append(key, name: name, to: file) } catch {
                    return ShadowError(error.code, "cannot record the key of \(name) in \(file): \(error.message)", advice: error.advice)
                }
                return nil
            }
            return ShadowError(.hostKeyUnknown,
                               "\(name) is not a known host: its \(key.type) key is \(key.fingerprint) and \(file) does not list it. Nothing was sent",
                               advice: "compare that fingerprint with the server's (ssh-keygen -lf /etc/ssh/ssh_host_\(key.type.contains("ed25519") ? "ed25519" : "ecdsa")_key.pub there, or your provider's published list); if it matches, run 'shadowsync trust-host \(port == RemoteAddress.defaultSSHPort ? host : "\(host):\(port)") --fingerprint \(key.fingerprint)' or add '--accept-host-key \(key.fingerprint)' to init/join")
        }
    }

    /// A folder's shadow repository for its sync engine: opened through libgit2 when a step needs it,
    /// which a pass with nothing to do against a remote on this machine never does (DeferredGitStore).
    static func store(_ config: FolderConfig) -> DeferredGitStore {
        DeferredGitStore(shadow: config.shadow, open: { () throws(ShadowError) in try repository(config) })
    }

    /// Opens a folder's shadow repository with its transport attached.
    static func repository(_ config: FolderConfig) throws(ShadowError) -> GitRepository {
        let repository = try GitRepository.open(config.shadow)
        repository.ssh = try settings(for: config)
        return repository
    }

    // MARK: trust-host

    /// What `trust-host` shows a person: the key's algorithm and fingerprint.
    public struct ShownKey: Sendable, Equatable {
        public let type: String
        public let fingerprint: String
        init(_ key: HostKey) { type = key.type; fingerprint = key.fingerprint }
    }

    public enum TrustOutcome: Sendable, Equatable {
        case alreadyTrusted(ShownKey)
        case added(ShownKey)
    }

    /// `shadowsync trust-host HOST[:PORT]`: reads the server's key and adds it to `knownHosts` after the
    /// user confirmed its fingerprint (`confirm`), or when it equals `fingerprint`. A changed key is refused.
    public static func trustHost(_ target: String, knownHosts: BytePath?, fingerprint: String?,
                                 confirm: (ShownKey, String) throws(ShadowError) -> Bool) throws(ShadowError) -> TrustOutcome {
        let (host, port) = try RemoteAddress.parseHost(target)
        guard let file = knownHosts ?? defaultKnownHosts() else {
            throw ShadowError(.invalidArgument, "no home directory, so no ~/.ssh/known_hosts", advice: "pass --known-hosts FILE")
        }
        let key = try SSHRemote.probeHostKey(host: host, port: port, user: userName() ?? "shadowsync")
        let name = RemoteAddress.knownHostsName(host: host, port: port)
        switch try KnownHosts.load(file).verdict(for: name, key: key) {
        case .known:
            return .alreadyTrusted(ShownKey(key))
        case .changed, .revoked:
            throw check(key, host: host, port: port, knownHosts: file, accept: nil)!
        case .unknown:
            if let fingerprint {
                guard fingerprint == key.fingerprint else {
                    throw ShadowError(.hostKeyUnknown, "\(name) presented \(key.fingerprint), not \(fingerprint): not trusted",
                                      advice: "check the fingerprint on the server; someone may be intercepting the connection")
                }
            } else {
                guard try confirm(ShownKey(key), name) else {
                    throw ShadowError(.hostKeyUnknown, "\(name) was not trusted (not confirmed)")
                }
            }
            try KnownHosts.append(key, name: name, to: file)
            return .added(ShownKey(key))
        }
    }
}

/// One trailing newline is the editor's, not the passphrase's (as for the key file's passphrase).
private func readSSHPassphrase(_ file: BytePath) throws(ShadowError) -> [UInt8] {
    try SecretFiles.requirePrivate(file, "the SSH key's passphrase file")
    var bytes = try FileSystem.readFile(file, limit: 4096)
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    return bytes
}
