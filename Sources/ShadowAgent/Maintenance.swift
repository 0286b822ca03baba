public import ShadowCore
public import ShadowCrypto
import ShadowEngine
import ShadowFS
import ShadowGit
import ShadowXMPP

// MARK: config get / set

extension Workspace {
    /// The folder config that contains `path` (default: the current directory), without unlocking anything.
    public func config(_ path: BytePath?) throws(ShadowError) -> FolderConfig {
        let start: BytePath
        if let path { start = path } else { start = try currentDirectory() }
        return try registry.find(containing: start)
    }

    /// `shadowsync config set KEY VALUE` (an empty VALUE removes an optional key). Values are checked
    /// before anything is written; `remote` also moves the shadow repository's `origin`.
    public func setConfig(_ path: BytePath?, key: String, value: String) throws(ShadowError) -> FolderConfig {
        var config = try config(path)
        guard FolderConfig.knownKeys.contains(key) else {
            throw ShadowError(.invalidArgument, "unknown key '\(key)'", advice: "known keys: \(FolderConfig.knownKeys.joined(separator: ", "))")
        }
        guard !["folder", "shadow", "state"].contains(key) else {
            throw ShadowError(.invalidArgument, "'\(key)' is fixed when the folder is set up",
                              advice: "to move the folder, set it up again elsewhere with 'shadowsync join'")
        }
        var stored = value.trimmedWhitespace
        switch key {
        case "remote":
            guard !stored.isEmpty else { throw ShadowError(.invalidArgument, "'remote' cannot be empty") }
            stored = try Self.normalizeRemote(stored, createIfMissing: false)
            // The new remote must hold this vault's history (a mirror), or the next fetch reports a rollback.
            try GitRepository.open(config.shadow).setRemote(url: stored)
        case "ssh.agent":
            guard ["yes", "no", ""].contains(stored) else { throw ShadowError(.invalidArgument, "ssh.agent is yes or no") }
        case "ignore-perms":
            guard ["true", "false", ""].contains(stored) else { throw ShadowError(.invalidArgument, "ignore-perms is true or false") }
        case "xmpp.jid", "xmpp.room":
            guard stored.isEmpty || XMPPSettings.isBareJID(stored) else {
                throw ShadowError(.invalidArgument, "\(key) '\(stored)' is not a bare JID like agents@example.org")
            }
        case "xmpp.peers":
            for jid in stored.split(whereSeparator: { $0 == "," || $0 == " " }) where !XMPPSettings.isBareJID(String(jid)) {
                throw ShadowError(.invalidArgument, "xmpp.peers entry '\(jid)' is not a bare JID like laptop@example.org")
            }
        case "xmpp.server":
            if !stored.isEmpty { _ = try DoorbellService.parseServer(stored) }
        case "xmpp.fingerprint":
            guard stored.isEmpty || XMPPSettings.isFingerprint(stored) else {
                throw ShadowError(.invalidArgument, "xmpp.fingerprint is 64 hex digits (colons allowed)",
                                  advice: "openssl x509 -in server.crt -noout -fingerprint -sha256")
            }
        case _ where key.hasPrefix("sync."):
            guard stored.isEmpty || (Int(stored).map { $0 > 0 } ?? false) else {
                throw ShadowError(.invalidArgument, "\(key) is a whole number greater than 0")
            }
        default:  // file paths
            if stored.isEmpty { break }
            var p = BytePath(stored)
            if stored.hasPrefix("~/"), let home = homeDirectory() { p = home.appending(String(stored.dropFirst(2))) }
            if !p.description.hasPrefix("/") { p = (try currentDirectory()).appending(stored) }
            if key != "ssh.known_hosts" {
                guard FileSystem.exists(p) else { throw ShadowError(.notFound, "\(key): no file at \(p)") }
                p = try canonicalPath(p)
            }
            stored = p.description
        }
        if stored.isEmpty { config.values[key] = nil } else { config.values[key] = stored }
        try registry.save(config)
        return config
    }
}

// MARK: doctor

/// One line of `shadowsync doctor`.
public struct DoctorCheck: Sendable {
    public enum Outcome: Sendable { case ok, warning, failed }
    public let name: String
    public let outcome: Outcome
    public let detail: String
    public let advice: String
}

extension Workspace {
    /// Checks, in the order a sync depends on them, everything that can stop it: config, folder, key
    /// file and its permissions, the shadow repository, then for SSH remotes the key, the host key,
    /// login and the repository. Read-only: nothing is written, no lock is taken.
    public func doctor(_ path: BytePath?) -> [DoctorCheck] {
        var out = doctorFolderAndRemote(path)
        if let config = try? self.config(path) { out += doctorDoorbell(config) }
        return out
    }

    /// The XMPP doorbell: the settings, then one login with TLS verified as the agent would.
    private func doctorDoorbell(_ config: FolderConfig) -> [DoctorCheck] {
        let settings: XMPPSettings?
        do { settings = try DoorbellService.settings(for: config) } catch {
            return [DoctorCheck(name: "xmpp settings", outcome: .failed, detail: error.message, advice: error.advice)]
        }
        guard let settings else {
            return [DoctorCheck(name: "xmpp", outcome: .ok, detail: "not configured: other agents' changes arrive by polling every \(Int(DaemonTiming(config).poll)) s", advice: "")]
        }
        var out: [DoctorCheck] = []
        if let f = config.path("xmpp.password-file"), let mode = try? FileSystem.permissions(of: f), mode & 0o077 != 0 {
            out.append(DoctorCheck(name: "xmpp.password-file", outcome: .warning, detail: "\(f) has mode \(String(mode, radix: 8)): other users may read it",
                                   advice: "chmod 600 \(f)"))
        }
        switch XMPPNotifier.probe(settings, timeoutSeconds: Self.doctorXMPPTimeoutSeconds) {
        case .success(let detail): out.append(DoctorCheck(name: "xmpp login and TLS", outcome: .ok, detail: detail, advice: ""))
        case .failure(let error): out.append(DoctorCheck(name: "xmpp login and TLS", outcome: .failed, detail: error.message, advice: error.advice))
        }
        return out
    }

    /// A login takes about 0.2 s on loopback; a server that has not answered in 10 s is down.
    static let doctorXMPPTimeoutSeconds = 10.0

    private func doctorFolderAndRemote(_ path: BytePath?) -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        func ok(_ n: String, _ d: String) { out.append(DoctorCheck(name: n, outcome: .ok, detail: d, advice: "")) }
        func warn(_ n: String, _ d: String, _ a: String) { out.append(DoctorCheck(name: n, outcome: .warning, detail: d, advice: a)) }
        func fail(_ n: String, _ e: ShadowError) { out.append(DoctorCheck(name: n, outcome: .failed, detail: e.message, advice: e.advice)) }

        let config: FolderConfig
        do { config = try self.config(path) } catch { fail("config", error); return out }
        ok("config", registry.configFile(config).description)

        if FileSystem.exists(config.folder) { ok("folder", config.folder.description) } else {
            fail("folder", ShadowError(.notFound, "\(config.folder) is missing", advice: "mount or restore it"))
        }

        let keyFile = config.shadow.appending(FolderLocation.keyFileName)
        do throws(ShadowError) {
            let mode = try FileSystem.permissions(of: keyFile)
            guard mode & 0o077 == 0 else {
                throw ShadowError(.keyFilePermissions, "\(keyFile) has mode \(String(mode, radix: 8)): other users may read it",
                                  advice: "chmod 600 \(keyFile)")
            }
            let keys = try Self.unlock(keyFile, passphraseFile: config.passphraseFile)
            ok("key file", "\(keyFile) (mode 600, opens, \(keys.level == .readWrite ? "read-write" : keys.level == .readOnly ? "read-only" : "verify-only"))")
        } catch { fail("key file", error) }
        for key in ["passphrase-file", "ssh.key-passphrase-file", "ssh.key"] {
            guard let f = config.path(key) else { continue }
            do {
                let mode = try FileSystem.permissions(of: f)
                if mode & 0o077 != 0 {
                    warn(key, "\(f) has mode \(String(mode, radix: 8)): other users may read it", "chmod 600 \(f)")
                } else { ok(key, f.description) }
            } catch { fail(key, error) }
        }

        let repository: GitRepository
        do {
            repository = try GitRepository.open(config.shadow)
            ok("shadow repository", config.shadow.description)
        } catch { fail("shadow repository", error); return out }

        let address: RemoteAddress
        do { address = try repository.remoteAddress() } catch { fail("remote", error); return out }
        if address.kind == .ssh {
            let settings: SSHSettings
            do { settings = try Transport.settings(for: config) } catch { fail("ssh settings", error); return out }
            if let key = settings.keyFile, let pub = try? FileSystem.readFile(BytePath(key.description + ".pub"), limit: 1 << 14),
               String(decoding: pub, as: UTF8.self).hasPrefix("ssh-rsa ") {
                warn("ssh.key", "\(key) is an RSA key: libssh2 signs RSA only with SHA-1, which OpenSSH 8.8 and later refuse",
                     "make an ed25519 key (ssh-keygen -t ed25519) and add it to the server")
            }
            let name = address.knownHostsName
            do {
                let hostKey = try GitRepository.probeHostKey(host: address.host, port: address.port, user: address.user ?? settings.user)
                ok("reachable", "\(name) answers SSH")
                if let refusal = settings.checkHostKey(address.host, address.port, hostKey) {
                    fail("host key", refusal)
                    return out
                }
                ok("host key", "\(name) \(hostKey.type) \(hostKey.fingerprint) is trusted")
            } catch { fail("reachable", error); return out }
        }
        do {
            repository.ssh = try Transport.settings(for: config)
            let head = try repository.probeRemote()
            ok(address.kind == .ssh ? "login and repository" : "repository",
               "\(address.url): " + (head.map { "main at \($0.short)" } ?? "empty (no vault pushed yet)"))
        } catch { fail(address.kind == .ssh ? "login and repository" : "repository", error) }
        return out
    }
}

// MARK: verify-push (the server-side hook)

/// The check behind Hooks/pre-receive: every update must be a fast-forward of `main` whose new commits
/// are signed by this vault's root key. Needs only a verify-only capability; decrypts nothing.
public enum PushVerifier {
    /// One line of a pre-receive hook's standard input: `<old> <new> <ref>`.
    public struct Update: Sendable {
        public let old: String
        public let new: String
        public let ref: String
    }

    public static func parse(_ text: String) throws(ShadowError) -> [Update] {
        var out: [Update] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let f = line.split(separator: " ")
            guard f.count == 3 else { throw ShadowError(.invalidArgument, "expected '<old> <new> <ref>' lines on standard input, got '\(line)'") }
            out.append(Update(old: String(f[0]), new: String(f[1]), ref: String(f[2])))
        }
        return out
    }

    /// Nil when every update is acceptable, else why the push must be refused.
    public static func check(_ updates: [Update], keys: VaultKeys) -> String? {
        let zero = String(repeating: "0", count: 40)
        let repository: GitRepository
        do { repository = try GitRepository.openFromEnvironment() } catch { return error.message }
        for u in updates {
            guard u.ref == ShadowRefs.main else { return "\(u.ref): only \(ShadowRefs.main) may be pushed to a ShadowSync repository" }
            guard u.new != zero else { return "\(u.ref): deleting the branch is refused" }
            guard let new = ObjectID(hex: u.new) else { return "\(u.ref): '\(u.new)' is not a commit id" }
            let old = u.old == zero ? nil : ObjectID(hex: u.old)
            do {
                if let old, try !repository.isDescendant(new, of: old) {
                    return "\(u.ref): \(new.short) does not descend from \(old.short): rewriting history is refused"
                }
                let verified = try HistoryVerifier(keys: keys, store: repository).verify(head: new, lastVerified: old, knownSequences: [:])
                _ = verified
            } catch {
                return "\(u.ref): \(error.message)"
            }
        }
        return nil
    }
}
