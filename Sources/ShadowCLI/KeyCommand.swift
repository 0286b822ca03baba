import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Key management.", subcommands: [KeyExportCommand.self, KeyPasswdCommand.self, KeyRotateCommand.self])
}

struct KeyRotateCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Start a new key epoch, sealed to every device not revoked: what is written from now on uses it (published with a sync pass).")

    @Flag(name: .long, help: "Also re-encrypt every file of the folder under the new epoch, in the same commit (the history keeps the old versions under the old keys).") var reencrypt = false
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            let (epoch, report) = try Workspace().rotateKey(folder.path, reencrypt: reencrypt, options: line.attach(SyncOptions()))
            line.finish()
            printReport(report)
            print("key epoch \(epoch) started\(reencrypt ? "; the folder's files were re-encrypted under it" : ""): every device not revoked received it")
        }
    }
}

struct KeyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print a capability string for another machine (it is a secret, except --verify-only).")

    @Flag(name: .long, help: "Decrypt and verify, never write.") var readOnly = false
    @Flag(name: .long, help: "Verify signatures only (for a server hook or mirror): cannot decrypt.") var verifyOnly = false
    @Flag(name: .long, help: "The recovery key: the vault key itself, which decrypts everything and admits a new device when every machine is lost (keep it offline).") var recovery = false
    @OptionGroup var folder: FolderOption

    func validate() throws {
        if [readOnly, verifyOnly, recovery].filter({ $0 }).count > 1 { throw ValidationError("--read-only, --verify-only and --recovery exclude each other") }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            if recovery {
                let key = try Workspace().exportRecoveryKey(folder.path)
                printError("this is the vault key: it decrypts every file and admits devices ('shadowsync join REPO DIR --key-file FILE'); keep it offline, never on a synced machine")
                print(key)
                return
            }
            print(try Workspace().exportCapability(folder.path, readOnly: readOnly, verifyOnly: verifyOnly))
        }
    }
}

struct KeyPasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change the key file's passphrase (atomically: the file opens with the old or the new one at every moment).")

    @Option(name: .long, help: "File holding the current passphrase (default: the folder's passphrase-file or passphrase-command, else asked).") var oldPassphraseFile: String?
    @Option(name: .long, help: "Shell command printing the current passphrase.") var oldPassphraseCommand: String?
    @Option(name: .long, help: "File holding the new passphrase (remembered as passphrase-file; default: asked twice).") var newPassphraseFile: String?
    @Option(name: .long, help: "Shell command printing the new passphrase (remembered as passphrase-command).") var newPassphraseCommand: String?
    @Flag(name: .long, help: "Store the key unprotected from now on (only on a machine whose disk is encrypted).") var noNewPassphrase = false
    @Option(name: .long, help: "Argon2id cost of the new wrapping: moderate (default, 256 MiB) or interactive (64 MiB).") var kdfProfile: String = "moderate"
    @OptionGroup var folder: FolderOption

    func validate() throws {
        if oldPassphraseFile != nil && oldPassphraseCommand != nil {
            throw ValidationError("--old-passphrase-file and --old-passphrase-command exclude each other")
        }
        _ = try passphraseSource(file: newPassphraseFile, command: newPassphraseCommand, none: noNewPassphrase, what: "new-")
    }

    func run() throws {
        let old: PassphraseSource? = oldPassphraseFile.map { .file(BytePath($0)) } ?? oldPassphraseCommand.map { .command($0) }
        let new = try passphraseSource(file: newPassphraseFile, command: newPassphraseCommand, none: noNewPassphrase, what: "new-")
        let workspace = try workspace(kdfProfile: kdfProfile)
        try reporting { () throws(ShadowError) in
            let change = try workspace.changePassphrase(folder.path, old: old, new: new)
            print(change.protection == "none" ? "\(change.keyFile) is now stored without a passphrase" : "\(change.keyFile) now opens with the new passphrase")
            for line in change.configChanges { print("config: \(line)") }
        }
    }
}
