import ArgumentParser
import FoundationEssentials
@preconcurrency import Glibc
import ShadowAgent
import ShadowCore
import ShadowCrypto
import ShadowEngine

/// Exit statuses are part of the command-line contract (Docs/OPERATIONS.md).
enum ExitStatus: Int32 {
    case ok = 0
    /// Something needs a human: a guard tripped, a check failed.
    case needsHuman = 1
    /// Invalid input or state: bad arguments, wrong passphrase, corrupt key file, a hostile server.
    case invalid = 2
    /// Transient: try again later (remote unreachable, disk full, another process holds the folder).
    case transient = 3

    static func of(_ error: ShadowError) -> ExitStatus {
        switch error.code {
        case .guardTripped: return .needsHuman
        case .locked: return .transient
        default: return error.isRetryable ? .transient : .invalid
        }
    }
}

/// The entry point the executable calls; ArgumentParser stays inside this target.
public enum ShadowsyncCLI {
    /// Commands that open a repository within milliseconds of starting. Not `sync`: its engine opens
    /// the repository only when a step needs libgit2, which a no-op pass against a local remote never
    /// does (DeferredGitStore), and loading libgit2 meanwhile would compete with its scan.
    static let repositoryCommands = ["run", "status", "log", "init", "join", "restore", "decrypt", "fsck", "conflicts"]

    /// The value of `--folder` as typed, for `Workspace.prefetch` only: ArgumentParser alone decides
    /// what the command line means, and a wrong guess costs only the read ahead.
    static func folderHint(_ arguments: ArraySlice<String>) -> BytePath? {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" { return nil }
            if argument == "--folder" { return rest.first.map { BytePath($0) } }
            if argument.hasPrefix("--folder=") { return BytePath(String(argument.dropFirst("--folder=".count))) }
        }
        return nil
    }

    public static func main() {
        // Loading libgit2 and its start-up (about 13 ms of CPU, session 13) need not wait for argument
        // parsing (session 10).
        if let command = CommandLine.arguments.dropFirst().first, repositoryCommands.contains(command) { Workspace.prepare() }
        // sync's index (3.5 ms of a 10k-file no-op) is read while ArgumentParser runs (2.9 ms).
        if CommandLine.arguments.dropFirst().first == "sync" { Workspace.prefetch(folder: folderHint(CommandLine.arguments.dropFirst(2))) }
        do {
            var command = try ShadowsyncCommand.parseAsRoot()
            try command.run()
        } catch {
            Workspace.settle()
            ShadowsyncCommand.exit(withError: error)
        }
        Workspace.settle()
    }
}

struct ShadowsyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadowsync",
        abstract: "Keep a plaintext folder in sync through an untrusted git server, encrypted.",
        version: "0.2.0",
        subcommands: [InitCommand.self, JoinCommand.self, SyncCommand.self, StatusCommand.self, LogCommand.self,
                      RestoreCommand.self, ConflictsCommand.self, DecryptCommand.self, FsckCommand.self, KeyCommand.self,
                      RunCommand.self, PauseCommand.self, ResumeCommand.self, TrustHostCommand.self, ConfigCommand.self, DoctorCommand.self, VerifyPushCommand.self, SelfCheckCommand.self]
    )
}

/// Runs a command body; a ShadowError becomes a message (what happened, what to do) and its exit status.
func reporting(_ body: () throws(ShadowError) -> Void) throws {
    do {
        try body()
    } catch {
        printError("error: \(error.message)")
        if !error.advice.isEmpty { printError("  what to do: \(error.advice)") }
        throw ExitCode(ExitStatus.of(error).rawValue)
    }
}

func printError(_ text: String) {
    var err = StandardError()
    print(text, to: &err)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        bytes.withUnsafeBytes { writeStandardError($0) }
    }
}

struct PassphraseOptions: ParsableArguments {
    @Option(name: .long, help: "Read the key file's passphrase from this file (never from the command line).")
    var passphraseFile: String?

    @Flag(name: .long, help: "Store the key unprotected (only on a machine whose disk is encrypted).")
    var noPassphrase = false

    @Option(name: .long, help: "Argon2id cost of the key file: moderate (default, 256 MiB) or interactive (64 MiB).")
    var kdfProfile: String = "moderate"

    func source() throws -> PassphraseSource {
        if noPassphrase && passphraseFile != nil { throw ValidationError("--no-passphrase and --passphrase-file exclude each other") }
        if noPassphrase { return .none }
        if let passphraseFile { return .file(BytePath(passphraseFile)) }
        return .prompt
    }

    func workspace() throws -> Workspace {
        var w: Workspace
        do { w = try Workspace() } catch { throw ValidationError(error.description) }
        switch kdfProfile {
        case "moderate": w.kdfProfile = .moderate
        case "interactive": w.kdfProfile = .interactive
        default: throw ValidationError("--kdf-profile is moderate or interactive")
        }
        return w
    }
}

struct SSHArguments: ParsableArguments {
    @Option(name: .long, help: "SSH private key for the remote (ed25519 or ECDSA; remembered as ssh.key).") var sshKey: String?
    @Option(name: .long, help: "File holding the SSH key's passphrase (remembered as ssh.key-passphrase-file).") var sshKeyPassphraseFile: String?
    @Option(name: .long, help: "known_hosts file to check the server against (default ~/.ssh/known_hosts; remembered as ssh.known_hosts).") var knownHosts: String?
    @Option(name: .long, help: "Trust an unknown server whose host key has exactly this fingerprint (SHA256:...), recording it in known_hosts.") var acceptHostKey: String?

    var options: SSHOptions {
        SSHOptions(keyFile: sshKey.map { BytePath($0) }, keyPassphraseFile: sshKeyPassphraseFile.map { BytePath($0) },
                   knownHosts: knownHosts.map { BytePath($0) }, acceptHostKey: acceptHostKey)
    }
}

struct FolderOption: ParsableArguments {
    @Option(name: .long, help: "The synced folder (default: the one containing the current directory).")
    var folder: String?

    var path: BytePath? { folder.map { BytePath($0) } }
}

func printReport(_ report: SyncReport) {
    for line in report.committed { print("committed \(line)") }
    for line in report.applied { print("applied   \(line)") }
    for c in report.conflicts { print("conflict  \(c)") }
    for line in report.retryLater { print("retry     \(line)") }
    for line in report.skipped { printError("skipped   \(line)") }
    if report.readOnly && !report.notPushed.isEmpty {
        print("read-only: \(report.notPushed.count) local change(s) are not pushed (this machine has a read-only key):")
        for line in report.notPushed { print("  \(line)") }
    }
    if let head = report.head { print(report.pushed ? "pushed \(head.short)" : "in sync at \(head.short)") }
}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a vault for a folder and push it to a remote.")

    @Argument(help: "The plaintext folder (created if missing; existing files are the first commit).") var dir: String
    @Option(name: .long, help: "The bare repository: ssh://user@host[:port]/path, user@host:path (an existing empty repository), or a local path (created if missing).") var remote: String
    @Option(name: .long, help: "Where the ciphertext tree goes (default: under $XDG_DATA_HOME/shadowsync).") var shadow: String?
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var ssh: SSHArguments

    func run() throws {
        let source = try passphrase.source()
        let workspace = try passphrase.workspace()
        try reporting { () throws(ShadowError) in
            let (config, report) = try workspace.initialize(plain: BytePath(dir), remote: remote, shadow: shadow.map { BytePath($0) },
                                                            passphrase: source, ssh: ssh.options, options: ProgressLine.options())
            printReport(report)
            print("initialised \(config.folder) -> \(config.remote)")
            print("config: \(workspace.registry.configFile(config))")
            print("next: 'shadowsync key export' prints the key other machines join with; keep a copy somewhere safe")
        }
    }
}

struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "Join an existing vault: verify, decrypt into DIR, keep what DIR holds.")

    @Argument(help: "The repository: ssh://user@host[:port]/path, user@host:path, a local path or file:// URL.") var repo: String
    @Argument(help: "The plaintext folder (created if missing; its files are kept and synced).") var dir: String
    @Option(name: .long, help: "The capability string (visible to other users in the process list: prefer --key-file).") var key: String?
    @Option(name: .long, help: "A file holding the capability string (or a ShadowSync key file).") var keyFile: String?
    @Option(name: .long, help: "Where the ciphertext tree goes.") var shadow: String?
    @Flag(name: .long, help: "A file already in DIR keeps its path even if older; the incoming version becomes the conflict copy.") var preferLocal = false
    @Flag(name: .long, help: "The incoming version takes the path even if older; a differing file already in DIR becomes the conflict copy.") var preferRemote = false
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var ssh: SSHArguments

    func validate() throws {
        guard (key == nil) != (keyFile == nil) else { throw ValidationError("give exactly one of --key and --key-file") }
        guard !(preferLocal && preferRemote) else { throw ValidationError("give at most one of --prefer-local and --prefer-remote") }
    }

    func run() throws {
        let source = try passphrase.source()
        let workspace = try passphrase.workspace()
        try reporting { () throws(ShadowError) in
            let keys = try Workspace.keys(capability: key, file: keyFile.map { BytePath($0) }, passphraseFile: nil)
            var options = SyncOptions()
            options.existingFiles = preferLocal ? .local : preferRemote ? .remote : .newer
            let (config, report) = try workspace.join(remote: repo, plain: BytePath(dir), keys: keys,
                                                      shadow: shadow.map { BytePath($0) }, passphrase: source, ssh: ssh.options,
                                                      options: ProgressLine.options(options))
            printReport(report)
            print("joined \(config.remote) into \(config.folder)")
        }
    }
}

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "One full pass: commit local changes, fetch, verify, merge, apply, push.",
                                                    discussion: "Exit status: 0 in sync, 1 needs a human (a guard tripped), 2 invalid state or input, 3 transient (try again).")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Commit even if most files vanished at once (the mass-delete guard).") var allowMassDelete = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (_, engine) = try Workspace().open(folder.path)
            printReport(try engine.sync(options: ProgressLine.options(SyncOptions(allowMassDelete: allowMassDelete))))
            // Freeing a large folder's index takes longer than the process has left to live: exit
            // returns the memory at once (git leaves its index to exit the same way).
            _ = Unmanaged.passRetained(engine)
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What is pending, what was verified, which conflict copies exist.")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            // A running daemon holds the folder: ask it.
            if let reply = try? Workspace().askDaemon(folder.path, "status") {
                printDaemonStatus(reply, json: json)
                return
            }
            let (config, engine) = try Workspace().open(folder.path)
            let s = try engine.status()
            if json {
                print(JSON.object([
                    ("folder", .string(s.folder)), ("remote", .string(config.remote)), ("device", .string(s.deviceID)),
                    ("read_only", .bool(s.readOnly)), ("in_sync", .bool(s.inSync)),
                    ("head", s.head.map { .string($0.hex) } ?? .null),
                    ("last_verified", s.lastVerified.map { .string($0.hex) } ?? .null),
                    ("remote_head", s.remoteHead.map { .string($0.hex) } ?? .null),
                    ("pending", .array(s.pending.map { .string($0) })),
                    ("conflict_copies", .array(s.conflictCopies.map { .string($0) })),
                    ("sequence", .number(Double(s.sequence))),
                ]).text)
                return
            }
            print("folder:   \(s.folder)\(s.readOnly ? " (read-only key)" : "")")
            print("remote:   \(config.remote)")
            print("device:   \(s.deviceID)")
            print("head:     \(s.head?.short ?? "none")   verified remote: \(s.lastVerified?.short ?? "none")   last seen remote: \(s.remoteHead?.short ?? "none")")
            print(s.pending.isEmpty ? "pending:  nothing" : "pending:  \(s.pending.count) change(s)")
            for p in s.pending { print("  \(p)") }
            if !s.conflictCopies.isEmpty {
                print("conflict copies: \(s.conflictCopies.count)")
                for c in s.conflictCopies { print("  \(c)") }
            }
            print(s.inSync ? "state:    in sync" : "state:    not in sync (run 'shadowsync sync')")
        }
    }
}

func printDaemonStatus(_ reply: String, json: Bool) {
    if json { print(reply); return }
    guard let o = try? JSONDecoder().decode(JSON.self, from: Data(reply.utf8)), case .object = o else { print(reply); return }
    func v(_ k: String) -> String { o[k]?.plain ?? "never" }
    print("folder:   \(v("folder"))   (daemon pid \(v("pid")))")
    print("remote:   \(v("remote"))")
    print("state:    \(v("state"))\(o["degraded"]?.bool == true ? "   DEGRADED: \(v("degraded_advice"))" : "")")
    print("head:     \(o["head"]?.plain ?? "none")   last push: \(v("last_push"))   last fetch: \(v("last_fetch"))")
    print("watching: \(v("watches")) directories; \(v("pending_events")) event(s) pending; \(v("overflows")) overflow(s)")
    if let p = o["progress"] {
        func n(_ k: String) -> UInt64 { p[k]?.number.map { UInt64(max(0, $0)) } ?? 0 }
        print("progress: \(n("files"))/\(n("total_files")) files, \(ProgressLine.size(n("bytes"))) of \(ProgressLine.size(n("total_bytes"))), "
              + "\(ProgressLine.size(n("bytes_per_second")))/s\(p["seconds_left"].map { ", about \($0.plain) s left" } ?? "")")
    }
    if case .array(let conflicts)? = o["conflicts"], !conflicts.isEmpty {
        print("conflict copies: \(conflicts.count)")
        for c in conflicts { print("  \(c.plain)") }
    }
    if let e = o["last_error"] { print("last error: \(e.plain) (at \(v("last_error_at")); next try \(v("retry_at")))") }
    if let x = o["xmpp"] {
        func w(_ k: String) -> String { x[k]?.plain ?? "never" }
        print("doorbell: \(w("state")) as \(w("jid")); \(w("peers_online")) peer(s) online; last sent \(w("last_sent")), last received \(w("last_received"))")
        if case .object(let r)? = x["rejected"] {
            let dropped = r.compactMap { k, n in (n.number ?? 0) > 0 ? "\(n.plain) \(k)" : nil }
            if !dropped.isEmpty { print("          dropped doorbells: \(dropped.joined(separator: ", "))") }
        }
        if let e = x["last_error"] { print("          \(e.plain)\(x["reconnect_at"].map { "; reconnecting at \($0.plain)" } ?? "")") }
    } else {
        print("doorbell: not configured (xmpp.jid): other agents' changes arrive by polling")
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The live agent: watch the folder, commit and push changes within seconds, apply what others push.",
        discussion: "Runs in the foreground (systemd: Examples/shadowsync@.service) and logs to standard error. SIGTERM or SIGINT finish the current step and exit 0; SIGHUP reloads the configuration. 'shadowsync status', 'pause' and 'resume' talk to it.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            try Workspace().run(folder.path) { line in printError("shadowsync: \(line)") }
        }
    }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop the running daemon from syncing until 'resume' (it keeps watching).")
    @OptionGroup var folder: FolderOption
    func run() throws { try reporting { () throws(ShadowError) in print(try Workspace().askDaemon(folder.path, "pause")) } }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Let a paused daemon sync again (a pass starts at once).")
    @OptionGroup var folder: FolderOption
    func run() throws { try reporting { () throws(ShadowError) in print(try Workspace().askDaemon(folder.path, "resume")) } }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Decrypted history: when, which device, which paths.")

    @Argument(help: "Only commits touching this path (a file or directory in the folder).") var path: String?
    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false
    @Option(name: .long, help: "At most this many commits.") var limit: Int = Int.max

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (config, history) = try Workspace().openHistory(folder.path)
            guard let head = try history.head else { print("no history yet"); return }
            let filter = try path.map { (p) throws(ShadowError) in try folderRelative(p, folder: config.folder) }
            let entries = try history.log(from: head, path: filter, limit: limit)
            if json {
                print(JSON.array(entries.map { e in
                    JSON.object([("commit", .string(e.commit.hex)), ("time", .string(isoTime(e.wallTimeMillis))),
                                 ("time_ms", .number(Double(e.wallTimeMillis))), ("device", .string(e.deviceID)),
                                 ("sequence", .number(Double(e.sequence))), ("merge", .bool(e.isMerge)),
                                 ("changes", .array(e.changes.map { .string($0) }))])
                }).text)
                return
            }
            for e in entries {
                print("\(e.commit.short)  \(isoTime(e.wallTimeMillis))  device \(e.deviceID)  #\(e.sequence)\(e.isMerge ? "  merge" : "")")
                for c in e.changes { print("    \(c)") }
            }
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a file or directory as it was at a revision, never overwriting.")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: "The revision: a commit id from 'shadowsync log' (8+ hex digits), or main~N.") var at: String
    @Option(name: .long, help: "Write here instead of beside the original (must not exist).") var to: String?
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (config, history) = try Workspace().openHistory(folder.path)
            let relative = try folderRelative(path, folder: config.folder)
            var destination: BytePath?
            if let to { destination = to.hasPrefix("/") ? BytePath(to) : (try currentDirectory()).appending(to) }
            for written in try history.restore(relative, at: at, plainRoot: config.folder, to: destination) {
                print("restored \(written)")
            }
        }
    }
}

struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conflicts", abstract: "Conflict copies in the folder, and this machine's conflict log.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (_, engine) = try Workspace().open(folder.path)
            let copies = engine.conflictCopies()
            print(copies.isEmpty ? "no conflict copies" : "\(copies.count) conflict cop\(copies.count == 1 ? "y" : "ies"):")
            for c in copies { print("  \(c)") }
            let log = engine.conflictLog()
            if !log.isEmpty {
                print("conflicts resolved on this machine:")
                for line in log.suffix(50) { print("  \(line)") }
            }
        }
    }
}

struct DecryptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Offline recovery: verify and decrypt a repository into a new directory.")

    @Argument(help: "A bare repository or a clone.") var repo: String
    @Option(name: .long, help: "The capability string.") var key: String?
    @Option(name: .long, help: "A file holding the capability string, or a ShadowSync key file.") var keyFile: String?
    @Option(name: .long, help: "Passphrase file for a protected key file.") var passphraseFile: String?
    @Option(name: .long, help: "Output directory (new or empty).") var to: String
    @Option(name: .long, help: "Revision (default: the main branch).") var rev: String?

    func validate() throws {
        guard (key == nil) != (keyFile == nil) else { throw ValidationError("give exactly one of --key and --key-file") }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            let keys = try Workspace.keys(capability: key, file: keyFile.map { BytePath($0) }, passphraseFile: passphraseFile.map { BytePath($0) })
            let n = try Workspace.decrypt(repository: BytePath(repo), keys: keys, revision: rev, to: BytePath(to))
            print("decrypted \(n) entries into \(to)")
        }
    }
}

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fsck", abstract: "Verify every signature and decrypt every file of the current tree.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (_, history) = try Workspace().openHistory(folder.path)
            guard let head = try history.head else { print("no history yet"); return }
            let r = try history.fsck(head: head)
            print("ok: \(r.commits) commits signed and verified; \(r.entries) entries, \(r.files) files, \(r.bytes) bytes decrypted and authenticated at \(head.short)")
        }
    }
}

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Key management.", subcommands: [KeyExportCommand.self])
}

struct KeyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print a capability string for another machine (it is a secret, except --verify-only).")

    @Flag(name: .long, help: "Decrypt and verify, never write.") var readOnly = false
    @Flag(name: .long, help: "Verify signatures only (for a server hook or mirror): cannot decrypt.") var verifyOnly = false
    @OptionGroup var folder: FolderOption

    func validate() throws {
        if readOnly && verifyOnly { throw ValidationError("--read-only and --verify-only exclude each other") }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            let keys = try Workspace().folderKeys(folder.path)
            let level: CapabilityLevel = verifyOnly ? .verifyOnly : readOnly ? .readOnly : keys.level
            print(CapabilityText.encode(try keys.attenuated(to: level)))
        }
    }
}

struct TrustHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust-host", abstract: "Read an SSH server's host key and add it to known_hosts once you confirmed its fingerprint.",
        discussion: "Compare the fingerprint with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server, or the provider's list). A key that differs from one already trusted is never replaced.")

    @Argument(help: "HOST, HOST:PORT or [HOST]:PORT (or a whole ssh:// remote).") var host: String
    @Option(name: .long, help: "The fingerprint you checked (SHA256:...): no question asked, refused if the server shows another.") var fingerprint: String?
    @Option(name: .long, help: "The known_hosts file to add to (default ~/.ssh/known_hosts).") var knownHosts: String?

    func run() throws {
        try reporting { () throws(ShadowError) in
            let outcome = try Transport.trustHost(host, knownHosts: knownHosts.map { BytePath($0) }, fingerprint: fingerprint) { (key, name) throws(ShadowError) -> Bool in
                guard isInteractiveTerminal else {
                    throw ShadowError(.hostKeyUnknown, "\(name) presents the \(key.type) key \(key.fingerprint); not trusted without confirmation",
                                      advice: "check it against the server, then run again with --fingerprint \(key.fingerprint)")
                }
                printError("\(name) presents the \(key.type) key\n  \(key.fingerprint)\nDoes it match the server's own fingerprint? Type 'yes' to trust it: ")
                return readLine()?.trimmedWhitespace == "yes"
            }
            switch outcome {
            case .alreadyTrusted(let key): print("already trusted: \(host) \(key.type) \(key.fingerprint)")
            case .added(let key): print("trusted: \(host) \(key.type) \(key.fingerprint)")
            }
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Read or change a folder's settings.",
                                                    subcommands: [ConfigGetCommand.self, ConfigSetCommand.self, ConfigListCommand.self])
}

struct ConfigGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print one setting (exit 1 when unset).")
    @Argument(help: "The key (see 'shadowsync config list').") var key: String
    @OptionGroup var folder: FolderOption

    func run() throws {
        var value: String?
        try reporting { () throws(ShadowError) in
            let config = try Workspace().config(folder.path)
            guard FolderConfig.knownKeys.contains(key) else {
                throw ShadowError(.invalidArgument, "unknown key '\(key)'", advice: "known keys: \(FolderConfig.knownKeys.joined(separator: ", "))")
            }
            value = config.values[key]
        }
        guard let value else { throw ExitCode(ExitStatus.needsHuman.rawValue) }
        print(value)
    }
}

struct ConfigSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change one setting (an empty value removes an optional one). Secrets only by file.")
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value (a path for file settings).") var value: String
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let config = try Workspace().setConfig(folder.path, key: key, value: value)
            print("\(key) = \(config.values[key] ?? "(unset)")")
        }
    }
}

struct ConfigListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every setting of the folder, and what each key means.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let workspace = try Workspace()
            let config = try workspace.config(folder.path)
            print("# \(workspace.registry.configFile(config))")
            for (key, meaning) in FolderConfig.keyDescriptions {
                print("\(key) = \(config.values[key] ?? "")")
                print("    # \(meaning)")
            }
        }
    }
}

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check config, key file, and the remote step by step (reachability, host key, login, repository).",
                                                    discussion: "Exit status 1 when a check fails. Changes nothing.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        let workspace: Workspace
        do { workspace = try Workspace() } catch { throw ValidationError(error.description) }
        let checks = workspace.doctor(folder.path)
        for c in checks {
            let tag = c.outcome == .ok ? "ok  " : c.outcome == .warning ? "warn" : "FAIL"
            print("\(tag) \(c.name): \(c.detail)")
            if !c.advice.isEmpty { print("     what to do: \(c.advice)") }
        }
        if checks.contains(where: { $0.outcome == .failed }) { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}

struct VerifyPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-push", abstract: "Server-side check for a pre-receive hook: refuse pushes not signed by this vault's writers.",
        discussion: "Reads '<old> <new> <ref>' lines on standard input in the repository named by GIT_DIR (see Hooks/pre-receive). Needs only a verify-only capability ('shadowsync key export --verify-only'). Exit 0 accepts, 1 refuses.")

    @Option(name: .long, help: "A file holding the capability string (verify-only is enough).") var keyFile: String

    func run() throws {
        var refusal: String?
        try reporting { () throws(ShadowError) in
            let keys = try Workspace.keys(capability: nil, file: BytePath(keyFile), passphraseFile: nil)
            refusal = PushVerifier.check(try PushVerifier.parse(try readStandardInput()), keys: keys)
        }
        if let refusal {
            printError("shadowsync: push refused: \(refusal)")
            throw ExitCode(ExitStatus.needsHuman.rawValue)
        }
    }
}

struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the vault format end to end on this machine (no server needed)."
    )

    func run() throws {
        let results = SelfCheck.run()
        for r in results {
            print("\(r.passed ? "ok  " : "FAIL") \(r.name): \(r.detail)")
        }
        let failed = results.filter { !$0.passed }.count
        print(failed == 0 ? "selfcheck passed: \(results.count) checks" : "selfcheck FAILED: \(failed) of \(results.count) checks")
        if failed > 0 { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}
