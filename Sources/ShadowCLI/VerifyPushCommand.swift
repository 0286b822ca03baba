import ArgumentParser
import ShadowAgent
import ShadowCore

struct VerifyPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-push", abstract: "Server-side check for a pre-receive hook: refuse pushes not signed by this vault's writers.",
        discussion: "Reads '<old> <new> <ref>' lines on standard input in the repository named by GIT_DIR (see Hooks/pre-receive). Needs only a verify-only capability ('shadowsync key export --verify-only'). Exit 0 accepts, 1 refuses.")

    @Option(name: .long, help: "A file holding the capability string (verify-only is enough).") var keyFile: String

    func run() throws {
        var refusal: String?
        try reporting { () throws(ShadowError) in
            let keys = try Workspace.keys(capability: nil, file: BytePath(keyFile))
            refusal = PushVerifier.check(try PushVerifier.parse(try readStandardInput()), keys: keys)
        }
        if let refusal {
            printError("shadowsync: push refused: \(refusal)")
            throw ExitCode(ExitStatus.needsHuman.rawValue)
        }
    }
}
