import ArgumentParser
import ShadowAgent
import ShadowCore

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
            print(try Workspace().exportCapability(folder.path, readOnly: readOnly, verifyOnly: verifyOnly))
        }
    }
}
