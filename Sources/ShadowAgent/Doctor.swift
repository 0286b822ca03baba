public import ShadowCore
import ShadowCrypto
import ShadowEngine
import ShadowSystem
import ShadowGit
import ShadowXMPP

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
        if let config = try? self.config(path) { out += doctorDoorbell(config) + doctorAlerts(config) }
        return out
    }

    /// Alerts the daemon recorded: a commit another device announced that the server withholds.
    private func doctorAlerts(_ config: FolderConfig) -> [DoctorCheck] {
        let alerts = ServerAlertFile.load(config)
        guard !alerts.isEmpty else {
            return [DoctorCheck(name: "server history", outcome: .ok, detail: "no alert: every head other devices announced reached this machine", advice: "")]
        }
        return alerts.map { DoctorCheck(name: "server history", outcome: .failed, detail: "\($0.kind): \($0.message)", advice: $0.advice) }
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
        for setting in [ConfigKey.passphraseFile, .sshKeyPassphraseFile, .sshKey] {
            let key = setting.rawValue
            guard let f = config.path(setting) else { continue }
            do {
                try SecretFiles.requirePrivate(f, key)
                ok(key, f.description)
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
            do { settings = try SSHSetup.settings(for: config) } catch { fail("ssh settings", error); return out }
            if let key = settings.keyFile, let pub = try? FileSystem.readFile(BytePath(key.description + ".pub"), limit: 1 << 14),
               String(decoding: pub, as: UTF8.self).hasPrefix("ssh-rsa ") {
                warn(ConfigKey.sshKey.rawValue, "\(key) is an RSA key: libssh2 signs RSA only with SHA-1, which OpenSSH 8.8 and later refuse",
                     "make an ed25519 key (ssh-keygen -t ed25519) and add it to the server")
            }
            let name = address.knownHostsName
            do {
                let hostKey = try SSHRemote.probeHostKey(host: address.host, port: address.port, user: address.user ?? settings.user)
                ok("reachable", "\(name) answers SSH")
                if let refusal = settings.checkHostKey(address.host, address.port, hostKey) {
                    fail("host key", refusal)
                    return out
                }
                ok("host key", "\(name) \(hostKey.type) \(hostKey.fingerprint) is trusted")
            } catch { fail("reachable", error); return out }
        }
        do {
            repository.ssh = try SSHSetup.settings(for: config)
            let head = try repository.remote().probe()
            ok(address.kind == .ssh ? "login and repository" : "repository",
               "\(address.url): " + (head.map { "main at \($0.short)" } ?? "empty (no vault pushed yet)"))
        } catch { fail(address.kind == .ssh ? "login and repository" : "repository", error) }
        return out
    }
}
