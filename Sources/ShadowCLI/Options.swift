import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowCrypto

struct PassphraseOptions: ParsableArguments {
    @Option(name: .long, help: "Read the key file's passphrase from this file (never from the command line).")
    var passphraseFile: String?

    @Option(name: .long, help: "A shell command that prints the key file's passphrase (a keyring or askpass program); remembered as passphrase-command and run whenever the key is opened.")
    var passphraseCommand: String?

    @Flag(name: .long, help: "Store the key unprotected (only on a machine whose disk is encrypted).")
    var noPassphrase = false

    @Option(name: .long, help: "Argon2id cost of the key file: moderate (default, 256 MiB) or interactive (64 MiB).")
    var kdfProfile: String = "moderate"

    func source() throws -> PassphraseSource {
        try passphraseSource(file: passphraseFile, command: passphraseCommand, none: noPassphrase, what: "")
    }

    func workspace() throws -> Workspace {
        try workspace(kdfProfile: kdfProfile)
    }
}

/// The one passphrase source among a file, a command, none and the terminal (`what` prefixes the flags' names).
func passphraseSource(file: String?, command: String?, none: Bool, what: String) throws -> PassphraseSource {
    guard [file != nil, command != nil, none].filter({ $0 }).count <= 1 else {
        throw ValidationError("--\(what)passphrase-file, --\(what)passphrase-command and --no-\(what)passphrase exclude each other")
    }
    if none { return .none }
    if let file { return .file(BytePath(file)) }
    if let command { return .command(command) }
    return .prompt
}

extension ParsableArguments {
    func workspace(kdfProfile: String) throws -> Workspace {
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
