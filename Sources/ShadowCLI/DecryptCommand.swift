import ArgumentParser
import ShadowAgent
import ShadowCore

struct DecryptCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Offline recovery: verify and decrypt a repository into a new directory.")

    @Argument(help: "A bare repository or a clone.") var repo: String
    @Option(name: .long, help: "The capability string.") var key: String?
    @Option(name: .long, help: "A file holding the capability string, or a ShadowSync key file.") var keyFile: String?
    @Option(name: .long, help: "Passphrase file for a protected key file.") var passphraseFile: String?
    @Option(name: .long, help: "A shell command that prints a protected key file's passphrase.") var passphraseCommand: String?
    @Option(name: .long, help: "Output directory (new or empty).") var to: String
    @Option(name: .long, help: "Revision (default: the main branch).") var rev: String?

    func validate() throws {
        guard (key == nil) != (keyFile == nil) else { throw ValidationError("give exactly one of --key and --key-file") }
        if passphraseFile != nil && passphraseCommand != nil { throw ValidationError("--passphrase-file and --passphrase-command exclude each other") }
    }

    func run() throws {
        let source = try passphraseSource(file: passphraseFile, command: passphraseCommand, none: false, what: "")
        try reporting { () throws(ShadowError) in
            let keys = try Workspace.keys(capability: key, file: keyFile.map { BytePath($0) }, passphrase: source)
            let n = try Workspace.decrypt(repository: BytePath(repo), keys: keys, revision: rev, to: BytePath(to))
            print("decrypted \(n) entries into \(to)")
        }
    }
}
