import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct InitCommand: ParsableCommand, OpensRepositoryAtOnce {
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
            let line = ProgressLine()
            defer { line.finish() }
            let (config, report) = try workspace.initialize(plain: BytePath(dir), remote: remote, shadow: shadow.map { BytePath($0) },
                                                            passphrase: source, ssh: ssh.options, options: line.attach(SyncOptions()))
            line.finish()
            printReport(report)
            print("initialised \(config.folder) -> \(config.remote)")
            print("config: \(workspace.registry.configFile(config))")
            print("next: 'shadowsync key export' prints the key other machines join with; keep a copy somewhere safe")
        }
    }
}
