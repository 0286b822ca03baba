import ArgumentParser
import ShadowAgent
import ShadowCore

struct RestoreCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a file or directory as it was at a revision, never overwriting.")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: "The revision: a commit id from 'shadowsync log' (8+ hex digits), or main~N.") var at: String
    @Option(name: .long, help: "Write here instead of beside the original (must not exist).") var to: String?
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            for written in try Workspace().restore(folder.path, item: path, at: at, to: to) {
                print("restored \(written)")
            }
        }
    }
}
