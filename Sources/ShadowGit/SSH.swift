import FoundationEssentials
@preconcurrency import Glibc
internal import CGit2
public import ShadowCore
import ShadowSystem

/// An SSH host key as the server presented it: its wire-format blob (RFC 4253 §6.6) and SHA-256.
public struct HostKey: Equatable, Sendable {
    public let type: String
    public let blob: [UInt8]
    public let sha256: [UInt8]

    public init(type: String, blob: [UInt8], sha256: [UInt8]) {
        self.type = type
        self.blob = blob
        self.sha256 = sha256
    }

    /// `SHA256:` and unpadded base64: exactly what `ssh-keygen -lf` and the OpenSSH client print.
    public var fingerprint: String {
        "SHA256:" + Data(sha256).base64EncodedString().filter { $0 != "=" }
    }

    /// The known_hosts line that trusts this key for `name` (plain, not hashed, so it can be read and checked).
    public func knownHostsLine(for name: String) -> String {
        "\(name) \(type) \(Data(blob).base64EncodedString())"
    }
}

/// How this machine authenticates to, and trusts, an SSH remote. Built by the agent from the folder's
/// config; the git layer only hands it to libgit2's callbacks.
public struct SSHSettings: Sendable {
    /// Login name when the URL has no `user@`.
    public var user: String
    /// An explicit private key (config `ssh.key`): the only key tried when set.
    public var keyFile: BytePath?
    /// Reads its passphrase (from `ssh.key-passphrase-file`) when libssh2 needs it, so the secret is in
    /// memory only for the moment of authentication; nil for an unprotected key.
    public var readKeyPassphrase: (@Sendable () throws(ShadowError) -> [UInt8])?
    /// Ask ssh-agent (SSH_AUTH_SOCK) before the default key files.
    public var useAgent: Bool
    /// Tried in order when no key file is configured (~/.ssh/id_ed25519, id_ecdsa).
    public var defaultKeyFiles: [BytePath]
    /// Decides on the key a server presents: nil accepts; an error refuses (before authenticating).
    public var checkHostKey: @Sendable (_ host: String, _ port: Int, _ key: HostKey) -> ShadowError?

    public init(user: String, keyFile: BytePath?, readKeyPassphrase: (@Sendable () throws(ShadowError) -> [UInt8])?, useAgent: Bool,
                defaultKeyFiles: [BytePath], checkHostKey: @escaping @Sendable (String, Int, HostKey) -> ShadowError?) {
        self.user = user
        self.keyFile = keyFile
        self.readKeyPassphrase = readKeyPassphrase
        self.useAgent = useAgent
        self.defaultKeyFiles = defaultKeyFiles
        self.checkHostKey = checkHostKey
    }
}

/// One network operation's state, shared with libgit2's callbacks through their payload pointer.
/// Lives on the git thread only.
final class RemoteSession {
    enum Method { case agent, file(BytePath) }

    let address: RemoteAddress
    let settings: SSHSettings?
    private(set) var methods: [Method] = []
    private var next = 0
    /// Why the operation failed, when a callback knows better than libgit2's message.
    var callbackError: ShadowError?
    var authExhausted = false
    var passwordOnly = false
    var presentedKey: HostKey?
    /// Set by `probe`: record the key, then stop before authenticating.
    var stopAfterHostKey = false
    var pushRejection: String?
    /// What the server printed (sideband): hook messages, "No space left on device", ...
    var serverMessages = ""

    init(address: RemoteAddress, settings: SSHSettings?) {
        self.address = address
        self.settings = settings
        guard let settings else { return }
        if let key = settings.keyFile {
            methods = [.file(key)]
        } else {
            if settings.useAgent { methods.append(.agent) }
            methods += settings.defaultKeyFiles.filter { FileSystem.exists($0) }.map { .file($0) }
        }
    }

    func nextMethod() -> Method? {
        guard next < methods.count else { return nil }
        defer { next += 1 }
        return methods[next]
    }

    var triedDescription: String {
        methods.prefix(next).map { m -> String in
            switch m {
            case .agent: return "ssh-agent"
            case .file(let f): return f.description
            }
        }.joined(separator: ", ")
    }

    /// Key files among those tried that are RSA: libssh2 1.10 signs only with ssh-rsa (SHA-1), which
    /// OpenSSH ≥ 8.8 refuses.
    var triedRSAKeys: [BytePath] {
        methods.prefix(next).compactMap { m -> BytePath? in
            guard case .file(let f) = m else { return nil }
            let pub = (try? FileSystem.readFile(BytePath(f.description + ".pub"), limit: RemoteSession.publicKeyLimitBytes)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let priv = String(decoding: RemoteSession.leadingBytes(of: f, count: RemoteSession.keyHeaderBytes), as: UTF8.self)
            return pub.hasPrefix("ssh-rsa ") || priv.contains("BEGIN RSA PRIVATE KEY") ? f : nil
        }
    }

    /// A public key line is under 1 KiB even for RSA 16384; a larger file is not one.
    static let publicKeyLimitBytes = 64 * 1024
    /// Enough of a private key file to see its PEM header; the key itself is never read here.
    static let keyHeaderBytes = 64

    /// The first `count` bytes of a file (fewer when it is shorter or unreadable).
    static func leadingBytes(of path: BytePath, count: Int) -> [UInt8] {
        guard let source = try? FileSource(path) else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { (try? source.read(at: 0, into: $0)) ?? 0 }
        return Array(bytes.prefix(n))
    }

    func install(_ callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = credentialsCallback
        callbacks.certificate_check = certificateCheckCallback
        callbacks.push_update_reference = pushUpdateReferenceCallback
        callbacks.sideband_progress = sidebandCallback
        callbacks.transfer_progress = transferProgressCallback
        callbacks.push_transfer_progress = pushTransferProgressCallback
    }

    /// Set when the stall watchdog cut this session's operation off.
    private(set) var stalled = false

    /// Runs one network operation of libgit2's (`body`, on the git thread). Over SSH it is watched:
    /// with no sign of progress for `StallWatchdog.stallSeconds` its connection is shut down.
    func network(_ body: () -> Int32) -> Int32 {
        guard address.kind == .ssh else { return withExtendedLifetime(self) { body() } }
        StallWatchdog.shared.begin(port: address.port)
        let rc = withExtendedLifetime(self) { body() }
        stalled = StallWatchdog.shared.end()
        return rc
    }

    /// The error for a failed network call: what a callback recorded first, then libgit2's own words
    /// sorted into retryable (unreachable, server disk full) and permanent (auth, host key, no repository).
    func failure(_ rc: Int32, _ what: String) -> ShadowError {
        let where_ = address.kind == .ssh ? "\(address.user.map { $0 + "@" } ?? "")\(address.host):\(address.port)" : address.url
        if stalled {
            return ShadowError(.remoteUnavailable, "\(what): \(where_) showed no progress for \(Int(StallWatchdog.stallSeconds)) s, so the connection was dropped",
                               advice: "nothing is lost; the next sync tries again. If it keeps happening, check the network and the server")
        }
        if let callbackError { return callbackError }
        if authExhausted || passwordOnly {
            var advice = "check that the public key is in the server account's authorized_keys, or set 'ssh.key' with 'shadowsync config set'"
            let rsa = triedRSAKeys
            if !rsa.isEmpty {
                advice = "\(rsa.map(\.description).joined(separator: ", ")) is an RSA key: this libssh2 signs RSA only with SHA-1, which modern OpenSSH servers refuse. Make an ed25519 key (ssh-keygen -t ed25519), add it to the server, and set 'ssh.key'"
            }
            let tried = passwordOnly ? "the server offers no public-key authentication" :
                (methods.isEmpty ? "no key to offer (no ssh.key, no ssh-agent, no ~/.ssh/id_ed25519 or id_ecdsa)" : "tried \(triedDescription)")
            return ShadowError(.authRefused, "\(where_) refused authentication: \(tried)", advice: advice)
        }
        let base = gitError(rc, what)
        if base.code == .nonFastForward { return base }
        let detail = (base.message + " " + serverMessages).lowercased()
        func has(_ words: String...) -> Bool { words.contains { detail.contains($0) } }
        if has("failed to authenticate", "private key file", "unable to extract public key") {
            return ShadowError(.authRefused, "\(where_) refused authentication: \(summary)",
                               advice: "check the key file (ssh.key) and, if it has a passphrase, set ssh.key-passphrase-file; an ed25519 or ECDSA key in OpenSSH or PEM format works")
        }
        if has("no space left", "disk quota", "quota exceeded") {
            return ShadowError(.diskFull, "\(what): the server's disk is full: \(summary)",
                               advice: "free space on the server (or raise the quota); the next sync pushes again")
        }
        if has("does not appear to be a git repository", "repository not found", "not a git repository", "no such file or directory") {
            return ShadowError(.notFound, "\(what): there is no git repository at \(address.path) on \(where_): \(summary)",
                               advice: "check the path in the remote URL; create the repository with 'git init --bare' on the server (or let 'shadowsync init' create a local one)")
        }
        // Git hosting (gitolite, Gitea, GitLab) logs the key in and then refuses the repository to it.
        // Gitolite marks a forced update with "+": RW allows pushes, only RW+ allows replacing the branch.
        if has(" denied by "), has("fatal: + refs/") {
            return ShadowError(.permissionDenied, "\(what): \(where_) refused this key the replacement of the branch (a forced update, as 'forget' and 'sync --replace-refused' make): \(summary)",
                               advice: "nothing was replaced; in gitolite.conf give this key RW+ on the repository for the rewrite (RW again afterwards), or run it from a machine whose key has RW+")
        }
        if has(" denied by ", "access denied", "you are not allowed", "not authorized", "forbidden") {
            return ShadowError(.permissionDenied, "\(what): \(where_) refused this key access to \(address.path): \(summary)",
                               advice: "ask the server's administrator to give this key's user \(what.contains("push") ? "write" : "read") access to the repository (in gitolite: RW in gitolite.conf), or set 'ssh.key' to a key that has it")
        }
        if has("permission denied", "insufficient permission", "unable to create temporary object directory", "read-only file system") {
            return ShadowError(.permissionDenied, "\(what): the server account may not \(what.contains("push") ? "write to" : "read") \(address.path): \(summary)",
                               advice: "fix the repository's ownership or permissions on the server")
        }
        // The transport verifies every object against its id: a mismatch is damaged or tampered storage
        // on the server, which waiting will not fix.
        if has("hash mismatch", "object corrupted", "pack is corrupted", "packfile is corrupted", "incorrect header check", "invalid stored block") {
            return ShadowError(.malformedObject, "\(what): the server sent objects whose bytes do not match their ids (its storage is damaged or was tampered with): \(summary)",
                               advice: "nothing was changed locally; run 'git fsck' in the server's repository, and repair it from a machine that has the history (or a backup)")
        }
        if has("hook declined", "pre-receive", "rejected") {
            return ShadowError(.repositoryFailure, "\(what): the server refused it: \(summary)",
                               advice: "read the server's message above; a ShadowSync pre-receive hook refuses commits not signed by this vault's writers")
        }
        return ShadowError(.remoteUnavailable, "\(what): cannot reach \(where_): \(summary)",
                           advice: "check the network, the host name and the port ('shadowsync doctor' tests each step); the next sync retries")
    }

    private var summary: String {
        let last = (git2.git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "")
            .trimmedWhitespace
        let server = serverMessages.split(whereSeparator: \.isNewline).map { $0.trimmedWhitespace }.filter { !$0.isEmpty }
        let said = server.suffix(4).joined(separator: "; ")
        if server.isEmpty { return last.isEmpty ? "no reason given" : last }
        return last.isEmpty ? "the server said: " + said : last + " (the server said: " + said + ")"
    }
}

/// Each credential request gets the next method; when none is left the operation ends (libgit2 would
/// otherwise ask forever when a key is refused).
private func credentialsCallback(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, _ url: UnsafePointer<CChar>?,
                                 _ userFromURL: UnsafePointer<CChar>?, _ allowed: UInt32, _ payload: UnsafeMutableRawPointer?) -> Int32 {
    guard let payload, let out else { return GIT_EUSER.rawValue }
    StallWatchdog.shared.progress()
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    guard let settings = session.settings else { session.authExhausted = true; return GIT_EUSER.rawValue }
    let user = userFromURL.map { String(cString: $0) } ?? settings.user
    if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
        return git2.git_credential_username_new(out, user)
    }
    guard allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 else {
        session.passwordOnly = true
        return GIT_EUSER.rawValue
    }
    guard let method = session.nextMethod() else {
        session.authExhausted = true
        return GIT_EUSER.rawValue
    }
    switch method {
    case .agent:
        return git2.git_credential_ssh_key_from_agent(out, user)
    case .file(let key):
        guard let read = settings.readKeyPassphrase, key == settings.keyFile else {
            return git2.git_credential_ssh_key_new(out, user, nil, key.description, nil)
        }
        var passphrase: [UInt8]
        do { passphrase = try read() } catch {
            session.callbackError = error
            return GIT_EUSER.rawValue
        }
        passphrase.append(0)
        defer { wipe(&passphrase) }
        return passphrase.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { git2.git_credential_ssh_key_new(out, user, nil, key.description, $0.baseAddress) }
        }
    }
}

/// Overwrites a buffer that held a secret. explicit_bzero is glibc's wipe the optimiser may not remove
/// (libsodium's sodium_memzero lives in ShadowCrypto, which this layer does not depend on).
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { b in
        if let base = b.baseAddress { explicit_bzero(base, b.count) }
    }
}

private func certificateCheckCallback(_ cert: UnsafeMutablePointer<git_cert>?, _ valid: Int32, _ host: UnsafePointer<CChar>?,
                                      _ payload: UnsafeMutableRawPointer?) -> Int32 {
    guard let payload, let cert else { return GIT_ECERTIFICATE.rawValue }
    StallWatchdog.shared.progress()
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
        session.callbackError = ShadowError(.hostKeyUnknown, "the remote presented a TLS certificate: only ssh:// remotes are supported")
        return GIT_ECERTIFICATE.rawValue
    }
    let hk = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
    guard hk.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, hk.type.rawValue & GIT_CERT_SSH_SHA256.rawValue != 0,
          let raw = hk.hostkey, hk.hostkey_len > 4 else {
        session.callbackError = ShadowError(.hostKeyUnknown, "the SSH library did not report the server's host key, so it cannot be checked",
                                           advice: "this build of libgit2/libssh2 is too old; nothing was sent to the server")
        return GIT_ECERTIFICATE.rawValue
    }
    let blob = Array(UnsafeRawBufferPointer(start: raw, count: hk.hostkey_len))
    let sha = withUnsafeBytes(of: hk.hash_sha256) { Array($0) }
    let key = HostKey(type: HostKey.typeName(ofBlob: blob), blob: blob, sha256: sha)
    session.presentedKey = key
    if session.stopAfterHostKey { return GIT_EUSER.rawValue }
    guard let settings = session.settings else { return GIT_ECERTIFICATE.rawValue }
    if let refusal = settings.checkHostKey(session.address.host, session.address.port, key) {
        session.callbackError = refusal
        return GIT_ECERTIFICATE.rawValue
    }
    return 0
}

/// A non-nil status means the server refused that reference update.
private func pushUpdateReferenceCallback(_ ref: UnsafePointer<CChar>?, _ status: UnsafePointer<CChar>?, _ payload: UnsafeMutableRawPointer?) -> Int32 {
    guard let payload, let status else { return 0 }
    Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue().pushRejection = String(cString: status)
    return 0
}

/// Collects what the server prints (its stderr through the sideband: hook output, errors), bounded.
private func sidebandCallback(_ text: UnsafePointer<CChar>?, _ length: Int32, _ payload: UnsafeMutableRawPointer?) -> Int32 {
    guard let payload, let text, length > 0 else { return 0 }
    StallWatchdog.shared.progress()
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    let chunk = String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self)
    if session.serverMessages.utf8.count < RemoteSession.serverMessageLimitBytes { session.serverMessages += chunk }
    return 0
}

/// Objects arriving (fetch): the transfer is alive.
private func transferProgressCallback(_ stats: UnsafePointer<git_indexer_progress>?, _ payload: UnsafeMutableRawPointer?) -> Int32 {
    StallWatchdog.shared.progress()
    if let s = stats?.pointee {
        TransferMeter.moved(TransferProgress(.received, bytes: UInt64(s.received_bytes), objects: Int(s.received_objects), totalObjects: Int(s.total_objects)))
    }
    return 0
}

/// Bytes leaving (push; libgit2 calls this at most every half second while the pack is sent).
private func pushTransferProgressCallback(_ current: UInt32, _ total: UInt32, _ bytes: Int, _ payload: UnsafeMutableRawPointer?) -> Int32 {
    StallWatchdog.shared.progress()
    TransferMeter.moved(TransferProgress(.sent, bytes: UInt64(max(0, bytes)), objects: Int(current), totalObjects: Int(total)))
    return 0
}

extension RemoteSession {
    /// Server chatter kept for error messages: enough for a hook's explanation, not for a flood.
    static let serverMessageLimitBytes = 16 * 1024
}

extension HostKey {
    /// The algorithm name that starts the wire-format blob (RFC 4253 §6.6: a uint32 length, then the name).
    static func typeName(ofBlob blob: [UInt8]) -> String {
        guard blob.count >= 4 else { return "unknown" }
        let n = Int(BigEndian.read(UInt32.self, blob, at: 0))
        guard n > 0, n <= 64, blob.count >= 4 + n else { return "unknown" }
        return String(decoding: blob[4..<(4 + n)], as: UTF8.self)
    }
}
