import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct RestoreCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a file or directory as it was at a revision, never overwriting.")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: "The revision: a commit id from 'shadowsync log' (8+ hex digits), or main~N.") var at: String
    @Option(name: .long, help: "Write here instead of beside the original (must not exist).") var to: String?
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (config, history) = try Workspace().openHistory(folder.path)
            let relative = try folderRelative(path, folder: config.folder)
            var destination: BytePath?
            if let to { destination = to.hasPrefix("/") ? BytePath(to) : (try currentDirectory()).appending(to) }
            for written in try history.restore(relative, at: at, plainRoot: config.folder, to: destination) {
                print("restored \(written)")
            }
        }
    }
}
