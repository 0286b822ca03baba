public import ShadowCore
public import ShadowCrypto
public import ShadowEngine
import Synchronization
import ShadowSystem
import ShadowGit

/// How a key file is protected when it is created.
public enum PassphraseSource: Sendable {
    /// Read from a file (its path is remembered in the folder config; the passphrase itself never is).
    case file(BytePath)
    /// Stored unwrapped: for unattended agents on an encrypted disk. Must be chosen explicitly.
    case none
    /// Asked at the terminal.
    case prompt
    /// Printed by a shell command (a keyring, an askpass program), run each time the key is needed; the
    /// command is remembered in the folder config, the passphrase never is.
    case command(String)
}

/// Wires the engine to git and the user's directories: what each command of the CLI calls.
public struct Workspace: Sendable {
    public let registry: FolderRegistry
    /// Key files made by init/join use this Argon2id cost (tests use `.interactive` to stay fast).
    public var kdfProfile: KDFProfile = .moderate
    /// False for a process that must never stop to ask at the terminal (the web UI): a key file
    /// protected by a passphrase then needs a `passphrase-file`.
    public var asksPassphrase = true

    /// Starts what a folder command needs first (libgit2) and returns at once, so its start-up runs
    /// while the command line is parsed and the keys are read. Call `settle` before exiting.
    public static func prepare() { GitRepository.startLibrary() }

    /// Starts reading the index of the folder a command is about to open, on a thread of its own, while
    /// its command line is parsed and its keys unlocked (IndexPreload). `folder` is a guess taken from
    /// the arguments before they are parsed (nil: the current directory's folder); `open` uses what was
    /// read only for the folder it opens, and only if the file is unchanged once the lock is held.
    public static func prefetch(folder: BytePath?) {
        let preload = IndexPreload(resolving: { try? Workspace().config(folder).location })
        prefetched.withLock { $0 = preload }
    }

    private static let prefetched = Mutex<IndexPreload?>(nil)

    /// Waits for what `prepare` started (milliseconds): exiting in the middle of it is not safe.
    public static func settle() { GitRepository.finishLibraryStart() }

    public init() throws(ShadowError) {
        registry = FolderRegistry(try UserDirectories.current())
    }

    // MARK: Setting up

    /// `shadowsync init`: a new vault for `plain`, pushed to `remote` (created if it is a missing local path).
    public func initialize(plain: BytePath, remote: String, shadow: BytePath?, passphrase: PassphraseSource,
                           ssh: SSHOptions = SSHOptions(), deviceName: String? = nil, options: SyncOptions = SyncOptions()) throws(ShadowError) -> (FolderConfig, SyncReport) {
        try Self.requirePrivate(passphrase, ssh)
        let name = try Self.deviceName(deviceName)
        let keys = VaultKeys.generate()
        let remoteURL = try Self.normalizeRemote(remote, createIfMissing: true)
        let folderExisted = FileSystem.exists(plain)
        let (config, engine) = try prepare(plain: plain, remote: remoteURL, shadow: shadow, passphrase: passphrase, ssh: ssh,
                                           deviceName: name) { _ throws(ShadowError) in JoinKeys(keys: keys) }
        do {
            return (config, try engine.initialize(options: options))
        } catch where Self.nothingPushed.contains(error.code) {
            // Nothing reached the remote, so the new key protects nothing yet: undo, so init can be re-run.
            // Any later failure keeps everything: the key may already be the only one for pushed data.
            forget(config, removeFolder: !folderExisted)
            throw error
        }
    }

    /// `shadowsync join`: verifies and decrypts the remote into `plain`; what `plain` already holds is kept
    /// and synced as local changes.
    public func join(remote: String, plain: BytePath, keys capability: VaultKeys, shadow: BytePath?, passphrase: PassphraseSource,
                     ssh: SSHOptions = SSHOptions(), deviceName: String? = nil, settings: [ConfigSetting] = [],
                     options: SyncOptions = SyncOptions()) throws(ShadowError) -> JoinResult {
        _ = try capability.requireRead()
        try Self.requirePrivate(passphrase, ssh)
        let name = try Self.deviceName(deviceName)
        // A new machine is a new device, even when it joins with another machine's key file.
        let keys = try capability.with(device: DeviceKeys.generate())
        let remoteURL = try Self.normalizeRemote(remote, createIfMissing: false)
        let folderExisted = FileSystem.exists(plain)
        let (config, engine) = try prepare(plain: plain, remote: remoteURL, shadow: shadow, passphrase: passphrase, ssh: ssh,
                                           deviceName: name) { _ throws(ShadowError) in JoinKeys(keys: keys) }
        return try finishJoin(config, engine, settings: settings, options: options, folderExisted: folderExisted)
    }

    /// What `join` did: the new folder's config, its first pass, and how its push rang the doorbell
    /// (nil: nothing pushed, or no doorbell among the settings).
    public typealias JoinResult = (config: FolderConfig, report: SyncReport, doorbell: OneShotRing?)

    /// The settings given to `join` go into the new folder's config before its first pass, so the push
    /// that publishes this device rings the doorbell like any other one-shot push. A failure before
    /// the ring undoes the join, so it can be run again.
    private func finishJoin(_ prepared: FolderConfig, _ engine: SyncEngine, settings: [ConfigSetting], options: SyncOptions,
                            folderExisted: Bool) throws(ShadowError) -> JoinResult {
        let config: FolderConfig, report: SyncReport
        do throws(ShadowError) {
            var configured = prepared
            for setting in settings {
                guard ![ConfigKey.folder, .remote, .shadow, .state].contains(where: { $0.rawValue == setting.key }) else {
                    throw ShadowError(.invalidArgument, "join sets '\(setting.key)' from its own arguments", advice: "leave it out of --config")
                }
                configured = try setConfig(configured.folder, key: setting.key, value: setting.value)
            }
            config = configured
            report = try engine.join(options: options)
        } catch {
            forget(prepared, removeFolder: !folderExisted)
            throw error
        }
        return (config, report, report.pushed ? ringAfterPush(config, engine) : nil)
    }

    /// Refuses secret files others may read before init or join creates anything.
    private static func requirePrivate(_ passphrase: PassphraseSource, _ ssh: SSHOptions) throws(ShadowError) {
        if case .file(let f) = passphrase { try SecretFiles.requirePrivate(f, "the passphrase file") }
        if let f = ssh.keyFile { try SecretFiles.requirePrivate(f, "the SSH key") }
        if let f = ssh.keyPassphraseFile { try SecretFiles.requirePrivate(f, "the SSH key's passphrase file") }
    }

    /// Failures of a first push that prove nothing reached the remote (so init may undo itself).
    static let nothingPushed: [ShadowError.Code] = [.alreadyExists, .notFound, .remoteUnavailable, .hostKeyUnknown,
                                                     .hostKeyChanged, .authRefused, .permissionDenied, .invalidArgument]

    /// The name a new device takes: the one given, else the host name, else "device".
    static func deviceName(_ given: String?) throws(ShadowError) -> String {
        if let given {
            try DeviceName.validate(given)
            return given
        }
        let host = hostName().map { String(decoding: Array($0.utf8).prefix(DeviceName.maximumBytes), as: UTF8.self) }
        if let host, (try? DeviceName.validate(host)) != nil { return host }
        return "device"
    }

    /// `shadowsync join --invite`: the invite pins the vault (its root key); the history is verified
    /// with that alone, the invite's record found in it unused and unexpired, and its sealed read key
    /// opened; the new device's admission, signed with the invite's key, is published by its first commit.
    public func join(remote: String, plain: BytePath, invite text: String, shadow: BytePath?, passphrase: PassphraseSource,
                     ssh: SSHOptions = SSHOptions(), deviceName: String? = nil, settings: [ConfigSetting] = [],
                     options: SyncOptions = SyncOptions()) throws(ShadowError) -> JoinResult {
        let (invite, vault) = try InviteText.decode(text)
        try Self.requirePrivate(passphrase, ssh)
        if let deviceName { try DeviceName.validate(deviceName) }
        let remoteURL = try Self.normalizeRemote(remote, createIfMissing: false)
        let folderExisted = FileSystem.exists(plain)
        let (config, engine) = try prepare(plain: plain, remote: remoteURL, shadow: shadow, passphrase: passphrase, ssh: ssh,
                                           deviceName: deviceName ?? "") { (repository) throws(ShadowError) in
            try Self.accept(invite, vault: vault, repository: repository)
        }
        return try finishJoin(config, engine, settings: settings, options: options, folderExisted: folderExisted)
    }

    /// Fetches and verifies the history with the vault's public key alone, then takes the invite's gift.
    static func accept(_ invite: InviteKeys, vault: VaultKeys, repository: GitRepository) throws(ShadowError) -> JoinKeys {
        guard let head = try repository.fetch() else {
            throw ShadowError(.notFound, "the remote repository is empty: there is no vault to join", advice: "check the remote's path or URL")
        }
        let verifier = HistoryVerifier(keys: vault, store: repository)
        _ = try verifier.verify(head: head, lastVerified: nil, knownSequences: [:])
        let roster = try verifier.roster(of: head)
        let short = String(hexString(invite.id).prefix(8))
        guard let record = roster.invites[invite.id]?.record else {
            throw ShadowError(.notFound, "invite \(short) is not in this vault's history: the inviting machine has not pushed it yet, or it is for another repository",
                              advice: "let the inviting machine sync ('shadowsync sync' there), then run join again; nothing was changed here")
        }
        if let used = roster.device(admittedBy: invite.id) {
            throw ShadowError(.alreadyExists, "invite \(short) was already used: it admitted device \(hexString(used.id).prefix(8)); an invite admits one device",
                              advice: "ask for a new invite ('shadowsync device invite' on a read-write machine)")
        }
        let now = ShadowEngine.Clock.nowMillis()
        guard now <= record.expiresAtMillis else {
            throw ShadowError(.permissionDenied, "invite \(short) expired at \(isoTime(record.expiresAtMillis))",
                              advice: "ask for a new invite ('shadowsync device invite' on a read-write machine)")
        }
        let gift = try record.openGift(with: invite)
        let device = DeviceKeys.generate()
        let keys = VaultKeys.invited(gift: gift, rootPublicKey: vault.rootPublicKey, device: device)
        let admission = try DeviceRecord.make(device: device, role: record.role, invite: invite, keys: keys, atMillis: now)
        return JoinKeys(keys: keys, admission: admission, suggestedName: gift.name)
    }

    private func prepare(plain: BytePath, remote: String, shadow: BytePath?, passphrase: PassphraseSource, ssh: SSHOptions, deviceName: String,
                         keys resolve: (GitRepository) throws(ShadowError) -> JoinKeys) throws(ShadowError) -> (FolderConfig, SyncEngine) {
        let folderExisted = FileSystem.exists(plain)
        try FileSystem.createDirectories(plain, mode: 0o755)
        let plainPath = try canonicalPath(plain)
        if let existing = try? registry.find(containing: plainPath) {
            // Killed before its first push (Ctrl-C), an init or join leaves a folder with no history: sync finishes it.
            if existing.folder.bytes == plainPath.bytes, (try? GitRepository.open(existing.shadow).reference(ShadowRefs.main)) == .some(nil) {
                throw ShadowError(.alreadyExists, "\(plainPath) is already set up, but its init or join was interrupted before the first push",
                                  advice: "run 'shadowsync sync --folder \(plainPath)' to finish it, or remove \(registry.configFile(existing)) to start over")
            }
            throw ShadowError(.alreadyExists, "\(plainPath) is already inside the synced folder \(existing.folder)",
                              advice: "pick another directory, or remove \(registry.configFile(existing)) first")
        }
        let name = try registry.newName(for: plainPath)
        let base = registry.directories.data.appending(name)
        let shadowPath = shadow ?? base.appending("shadow")
        try FileSystem.createDirectories(shadowPath, mode: 0o700)
        let shadowReal = try canonicalPath(shadowPath)
        for (a, b) in [(shadowReal, plainPath), (plainPath, shadowReal)] where a.bytes == b.bytes || a.bytes.starts(with: b.bytes + [UInt8(ascii: "/")]) {
            throw ShadowError(.invalidArgument, "the shadow directory \(shadowReal) and the folder \(plainPath) must not contain each other",
                              advice: "choose --shadow outside the folder")
        }
        guard try FileSystem.list(shadowReal).isEmpty else {
            throw ShadowError(.alreadyExists, "the shadow directory \(shadowReal) is not empty", advice: "give a new or empty directory with --shadow")
        }
        let state = base.appending("state")
        try FileSystem.createDirectories(state, mode: 0o700)
        var values = [ConfigKey.folder.rawValue: plainPath.description, ConfigKey.shadow.rawValue: shadowReal.description,
                      ConfigKey.state.rawValue: try canonicalPath(state).description, ConfigKey.remote.rawValue: remote]
        values.merge(try ssh.configValues()) { _, new in new }

        let protection = try Self.newProtection(passphrase, profile: kdfProfile)
        switch passphrase {
        case .file(let f): values[ConfigKey.passphraseFile.rawValue] = try canonicalPath(f).description
        case .command(let c): values[ConfigKey.passphraseCommand.rawValue] = c
        case .none, .prompt: break
        }
        let config = FolderConfig(name: name, values: values)
        let transport = try SSHSetup.settings(for: config, acceptHostKey: ssh.acceptHostKey)
        let repository = try GitRepository.createWorkTree(at: shadowReal)
        repository.ssh = transport
        try repository.exclude("/" + FolderLocation.keyFileName)
        try repository.setRemote(url: remote)
        let location = FolderLocation(plain: plainPath, shadow: shadowReal, state: try canonicalPath(state))
        let joining: JoinKeys
        do { joining = try resolve(repository) } catch {
            forget(config, removeFolder: !folderExisted)
            throw error
        }
        let keys = joining.keys
        try VaultStore.create(keys, at: location.keyFile, protection: protection)
        if let admission = joining.admission {
            try FileSystem.writeAtomically(admission.bytes, to: location.pendingAdmissionFile, mode: 0o600)
        }
        try location.requestDeviceName(deviceName.isEmpty ? try Self.deviceName(joining.suggestedName) : deviceName)
        try registry.save(config)
        return (config, try SyncEngine(location: location, keys: keys, store: repository))
    }

    /// Undoes a failed init or join: the folder is no longer registered and its shadow tree and state
    /// (which hold nothing the remote or the plaintext folder lacks) go, so the command can be re-run.
    private func forget(_ config: FolderConfig, removeFolder: Bool) {
        // A folder this command created goes too, but only while it is still empty (rmdir, never a tree).
        if removeFolder { FileSystem.removeEmptyDirectory(config.folder) }
        try? FileSystem.removeTree(registry.configFile(config))
        let base = config.state.directory
        if config.shadow.bytes.starts(with: base.bytes + [UInt8(ascii: "/")]) {
            try? FileSystem.removeTree(base)
        } else {
            // A --shadow directory the user gave (it was empty): empty it again, keep it.
            for name in (try? FileSystem.list(config.shadow)) ?? [] { try? FileSystem.removeTree(config.shadow.appending(bytes: name)) }
            try? FileSystem.removeTree(base)
        }
    }

    /// A local path becomes absolute (created as a bare repository when asked); SSH remotes pass through
    /// (a server repository is created there with 'git init --bare': git-over-ssh storage runs nothing else).
    static func normalizeRemote(_ remote: String, createIfMissing: Bool) throws(ShadowError) -> String {
        let address = try RemoteAddress.parse(remote)
        if address.kind == .ssh { return remote }
        var local = address.url
        if !local.hasPrefix("/") { local = (try currentDirectory()).appending(local).description }
        let path = BytePath(local)
        if !FileSystem.exists(path) {
            guard createIfMissing else {
                throw ShadowError(.notFound, "no repository at \(path)", advice: "check the path of the remote")
            }
            try GitRepository.createBare(at: path)
        }
        return try canonicalPath(path).description
    }

    // MARK: Opening a configured folder

    /// The configured folder that contains `path` (default: the current directory), with its keys
    /// unlocked and its lock taken.
    public func open(_ path: BytePath?, lockWait: Double = 0) throws(ShadowError) -> (FolderConfig, SyncEngine) {
        let config = try config(path)
        let preload = Workspace.prefetched.withLock { p in defer { p = nil }; return p } ?? IndexPreload(config.location)
        return (config, try SyncEngine(location: config.location, keys: try keys(of: config), store: SSHSetup.store(config),
                                       lockWait: lockWait, preload: preload, ignorePermissions: config.ignorePermissions))
    }

    /// The history of the configured folder that contains `path`, without taking its lock: reading
    /// history (log, restore, fsck) works while `shadowsync run` holds the folder. Git writes a
    /// reference by renaming a lock file over it, so a concurrent commit shows as before or after.
    public func openHistory(_ path: BytePath?) throws(ShadowError) -> (FolderConfig, History) {
        let config = try config(path)
        return (config, History(keys: try keys(of: config), store: try SSHSetup.repository(config), location: config.location))
    }

    /// The folder's keys, unlocked (asking for the passphrase if needed), without taking its lock.
    func keys(of config: FolderConfig) throws(ShadowError) -> VaultKeys {
        try Self.unlock(config.location.keyFile, passphrase: try config.passphraseSource(), ask: asksPassphrase)
    }

    /// A key file is a few hundred bytes; more is not a key file.
    static let keyFileLimitBytes = 4096

    /// Opens a key file, reading its passphrase from `source` only if it has one.
    static func unlock(_ keyFile: BytePath, passphrase source: PassphraseSource, ask: Bool = true) throws(ShadowError) -> VaultKeys {
        let bytes = try FileSystem.readFile(keyFile, limit: keyFileLimitBytes)
        var passphrase: Passphrase?
        if try KeyFile.needsPassphrase(bytes) {
            passphrase = try Self.existingPassphrase(source, for: keyFile, ask: ask)
        }
        return try VaultStore.open(at: keyFile, passphrase: passphrase)
    }

    /// Reads the passphrase of an existing key file from `source`.
    static func existingPassphrase(_ source: PassphraseSource, for keyFile: BytePath, prompt: String? = nil, ask: Bool = true) throws(ShadowError) -> Passphrase {
        switch source {
        case .file(let f):
            try SecretFiles.requirePrivate(f, "the passphrase file")
            return try VaultStore.readPassphrase(from: f)
        case .command(let command):
            return try Self.commandPassphrase(command)
        case .prompt:
            guard ask && Terminal.isInteractive else {
                throw ShadowError(.wrongPassphrase, "the key file \(keyFile) is protected by a passphrase and there is no terminal to ask",
                                  advice: "add 'passphrase-file = FILE' or 'passphrase-command = COMMAND' to the folder's config, or run from a terminal")
            }
            var typed = try Terminal.readSecret(prompt: prompt ?? "Passphrase for \(keyFile): ")
            defer { SecretMemory.wipe(&typed) }
            return try Passphrase(bytes: typed)
        case .none:
            throw ShadowError(.wrongPassphrase, "the key file \(keyFile) is protected by a passphrase, and none was given",
                              advice: "give the passphrase with --passphrase-file FILE or --passphrase-command COMMAND")
        }
    }

    /// Longest output of a passphrase command taken as a passphrase.
    static let passphraseCommandLimitBytes = 4096

    /// Runs a passphrase command and takes its standard output (less one trailing newline) as the passphrase.
    static func commandPassphrase(_ command: String) throws(ShadowError) -> Passphrase {
        var out = try CommandOutput.run(command, limit: passphraseCommandLimitBytes, what: "the passphrase command")
        defer { SecretMemory.wipe(&out) }
        return try Passphrase(bytes: out)
    }

    /// The protection of a key file about to be written, with its passphrase read from `source` (asked
    /// twice at a terminal).
    static func newProtection(_ source: PassphraseSource, profile: KDFProfile, prompt: String = "New passphrase for the key file: ") throws(ShadowError) -> KeyFileProtection {
        switch source {
        case .none:
            return .none
        case .file(let f):
            try SecretFiles.requirePrivate(f, "the passphrase file")
            return .passphrase(try VaultStore.readPassphrase(from: try canonicalPath(f)), profile)
        case .command(let command):
            return .passphrase(try Self.commandPassphrase(command), profile)
        case .prompt:
            guard Terminal.isInteractive else {
                throw ShadowError(.invalidArgument, "no terminal to ask for a passphrase",
                                  advice: "pass --passphrase-file FILE or --passphrase-command COMMAND, or --no-passphrase for an unattended machine with an encrypted disk")
            }
            var first = try Terminal.readSecret(prompt: prompt)
            defer { SecretMemory.wipe(&first) }
            var second = try Terminal.readSecret(prompt: "Again: ")
            defer { SecretMemory.wipe(&second) }
            guard SecretMemory.equal(first, second) else { throw ShadowError(.invalidArgument, "the two passphrases differ") }
            return .passphrase(try Passphrase(bytes: first), profile)
        }
    }

    // MARK: Working without agent state

    /// Keys from a capability string or a file holding one (or a ShadowSync key file).
    public static func keys(capability: String?, file: BytePath?, passphrase: PassphraseSource = .prompt) throws(ShadowError) -> VaultKeys {
        if let capability { return try CapabilityText.decode(capability.trimmedWhitespace) }
        guard let file else { throw ShadowError(.invalidArgument, "give --key STRING or --key-file FILE") }
        let bytes = try FileSystem.readFile(file, limit: 4096)
        // The capability text as `--key` takes it: case and whitespace (a pasted line break) forgiven.
        let text = String(decoding: bytes, as: UTF8.self).trimmedWhitespace
        if text.lowercased().hasPrefix(CapabilityText.commonPrefix) { return try CapabilityText.decode(text) }
        return try unlock(file, passphrase: passphrase)
    }

    /// The invite text among what `join` was given (a string, or a file holding one), nil when it is a
    /// capability or a key file.
    public static func inviteText(given text: String?, file: BytePath?) throws(ShadowError) -> String? {
        if let text { return InviteText.isInvite(text) ? text : nil }
        guard let file, let bytes = try? FileSystem.readFile(file, limit: 4096) else { return nil }
        let content = String(decoding: bytes, as: UTF8.self)
        return InviteText.isInvite(content) ? content : nil
    }

    /// The invite held in `file` (`join --invite-file`); case and whitespace are forgiven as for `--invite`.
    public static func inviteText(file: BytePath) throws(ShadowError) -> String {
        let content = String(decoding: try FileSystem.readFile(file, limit: 4096), as: UTF8.self)
        guard InviteText.isInvite(content) else {
            throw ShadowError(.badCapability, "\(file) does not hold a ShadowSync invite (it should start with \(InviteText.prefix))",
                              advice: "save the whole string printed by 'shadowsync device invite' in it, or give a key file with --key-file")
        }
        return content
    }

    /// `shadowsync decrypt`: offline recovery from any clone or bare repository.
    public static func decrypt(repository: BytePath, keys: VaultKeys, revision: String?, to out: BytePath) throws(ShadowError) -> Int {
        if let address = try? RemoteAddress.parse(repository.description), address.kind == .ssh {
            throw ShadowError(.invalidArgument, "decrypt reads a repository on this machine, and \(repository) is on a server; nothing was written to \(out)",
                              advice: "mirror it first with 'git clone --mirror \(repository) vault.git', then run 'shadowsync decrypt vault.git --to \(out)'")
        }
        let repo = try GitRepository.open(repository, repairIndex: false)  // any clone: read, never changed
        return try History(keys: keys, store: repo).decrypt(revision: revision, to: out)
    }
}

extension FolderConfig {
    var location: FolderLocation { FolderLocation(plain: folder, shadow: shadow, state: state) }
}

/// What a new folder's device starts with: its keys and, when an invite admitted it, its admission record.
struct JoinKeys {
    var keys: VaultKeys
    var admission: DeviceRecord? = nil
    var suggestedName: String? = nil
}
