import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct JoinCommand: ParsableCommand, OpensRepositoryAtOnce {
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
            let line = ProgressLine()
            defer { line.finish() }
            var options = SyncOptions()
            options.existingFiles = preferLocal ? .local : preferRemote ? .remote : .newer
            let (config, report) = try workspace.join(remote: repo, plain: BytePath(dir), keys: keys,
                                                      shadow: shadow.map { BytePath($0) }, passphrase: source, ssh: ssh.options,
                                                      options: line.attach(options))
            line.finish()
            printReport(report)
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
