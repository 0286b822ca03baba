import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowCrypto

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
