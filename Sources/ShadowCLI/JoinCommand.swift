import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct JoinCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "Join an existing vault: verify, decrypt into DIR, keep what DIR holds.")

    @Argument(help: "The repository: ssh://user@host[:port]/path, user@host:path, a local path or file:// URL.") var repo: String
    @Argument(help: "The plaintext folder (created if missing; its files are kept and synced).") var dir: String
    @Option(name: .long, help: "The capability string or invite (visible to other users in the process list: prefer --key-file).") var key: String?
    @Option(name: .long, help: "A file holding the capability string or invite (or a ShadowSync key file).") var keyFile: String?
    @Option(name: .long, help: "A one-time invite from 'shadowsync device invite' (visible to other users in the process list: prefer --invite-file).") var invite: String?
    @Option(name: .long, help: "A file holding a one-time invite from 'shadowsync device invite'.") var inviteFile: String?
    @Option(name: .long, help: "Where the ciphertext tree goes.") var shadow: String?
    @Flag(name: .long, help: "A file already in DIR keeps its path even if older; the incoming version becomes the conflict copy.") var preferLocal = false
    @Flag(name: .long, help: "The incoming version takes the path even if older; a differing file already in DIR becomes the conflict copy.") var preferRemote = false
    @Option(name: .long, help: "This machine's name in the vault (default: the host name).") var deviceName: String?
    @Option(name: .customLong("config"), help: ArgumentHelp("A setting of the new folder, as 'config set' takes it, applied before the first push (repeatable): with the doorbell's keys (xmpp.jid, xmpp.password-file, ...) the join's push rings the other agents.", valueName: "KEY=VALUE"))
    var settings: [String] = []
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var ssh: SSHArguments

    func validate() throws {
        guard [key, keyFile, invite, inviteFile].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --key, --key-file, --invite and --invite-file")
        }
        guard !(preferLocal && preferRemote) else { throw ValidationError("give at most one of --prefer-local and --prefer-remote") }
        for text in settings where ConfigSetting(text) == nil {
            throw ValidationError("--config '\(text)' is not KEY=VALUE with a key 'shadowsync config list' shows")
        }
    }

    func run() throws {
        let source = try passphrase.source()
        let workspace = try passphrase.workspace()
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            var options = SyncOptions()
            options.existingFiles = preferLocal ? .local : preferRemote ? .remote : .newer
            let joined: Workspace.JoinResult
            let settings = settings.compactMap(ConfigSetting.init)
            var inviteText = invite
            if let inviteFile { inviteText = try Workspace.inviteText(file: BytePath(inviteFile)) }
            if inviteText == nil { inviteText = try Workspace.inviteText(given: key, file: keyFile.map { BytePath($0) }) }
            if let inviteText {
                joined = try workspace.join(remote: repo, plain: BytePath(dir), invite: inviteText, shadow: shadow.map { BytePath($0) },
                                            passphrase: source, ssh: ssh.options, deviceName: deviceName, settings: settings, options: line.attach(options))
            } else {
                let keys = try Workspace.keys(capability: key, file: keyFile.map { BytePath($0) })
                joined = try workspace.join(remote: repo, plain: BytePath(dir), keys: keys,
                                            shadow: shadow.map { BytePath($0) }, passphrase: source, ssh: ssh.options, deviceName: deviceName,
                                            settings: settings, options: line.attach(options))
            }
            line.finish()
            let (config, report) = (joined.config, joined.report)
            printReport(report)
            if let ring = joined.doorbell { print(ring.description) }
            print("joined \(config.remote) into \(config.folder)")
            if let head = report.joined {
                print("the server's newest commit: \(head.commit.short), made by device \(head.deviceID) at \(isoTime(head.wallTimeMillis))")
                if head.isStaleNow {
                    printError("warning: the server's newest commit is \(head.ageDaysNow) days old: if the vault's other machines synced since, the server is serving an old head; check 'shadowsync log' on another machine (see OPERATIONS, \"A stale head at join\")")
                }
            }
        }
    }
}
