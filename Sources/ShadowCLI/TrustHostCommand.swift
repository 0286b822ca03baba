import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowCrypto

struct TrustHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust-host", abstract: "Read an SSH server's host key and add it to known_hosts once you confirmed its fingerprint.",
        discussion: "Compare the fingerprint with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server, or the provider's list). A key that differs from one already trusted is never replaced.")

    @Argument(help: "HOST, HOST:PORT or [HOST]:PORT (or a whole ssh:// remote).") var host: String
    @Option(name: .long, help: "The fingerprint you checked (SHA256:...): no question asked, refused if the server shows another.") var fingerprint: String?
    @Option(name: .long, help: "The known_hosts file to add to (default ~/.ssh/known_hosts).") var knownHosts: String?

    func run() throws {
        try reporting { () throws(ShadowError) in
            let outcome = try SSHSetup.trustHost(host, knownHosts: knownHosts.map { BytePath($0) }, fingerprint: fingerprint) { (key, name) throws(ShadowError) -> Bool in
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
