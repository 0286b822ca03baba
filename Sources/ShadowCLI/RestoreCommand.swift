import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

/// What `--at` accepts, shared by restore, show and diff.
let revisionHelp = "A commit id from 'shadowsync log' (4+ hex digits), HEAD~N (first parents, as log lists them), a date (2026-11-01 is the end of that day, 2026-11-01T14:30; UTC), 'yesterday' or 'N days ago'."

struct RestoreCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a file or directory as it was at a revision, never overwriting.",
                                                    discussion: "By default the copy goes to the restore directory, $XDG_DATA_HOME/shadowsync/restored/<folder>/ (outside the folder, so it does not sync); --here puts it beside the original (it then syncs to every machine); --to anywhere.")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: ArgumentHelp(stringLiteral: revisionHelp)) var at: String
    @Option(name: .long, help: "Write here instead (must not exist).") var to: String?
    @Flag(name: .long, help: "Write beside the original, inside the folder, as name.restored-<commit>.ext.") var here = false
    @OptionGroup var folder: FolderOption

    func validate() throws {
        if here && to != nil { throw ValidationError("--here and --to exclude each other") }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            for written in try Workspace().restore(folder.path, item: path, at: at, to: to, here: here) {
                print("restored \(written)")
            }
        }
    }
}

struct ShowCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a file as it was at a revision (a symlink: its target).")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: ArgumentHelp(stringLiteral: revisionHelp + " Default: HEAD.")) var at: String = "HEAD"
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            switch try Workspace().show(folder.path, item: path, at: at) {
            case .file(let bytes): writeStandardOutput(bytes)
            case .symlink(let target): print("-> \(target)")
            case .directory:
                throw ShadowError(.invalidArgument, "\(path) is a directory at \(at)", advice: "show prints one file; restore a directory with 'shadowsync restore \(path) --at \(at)'")
            }
        }
    }
}

struct DiffCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Unified diff of a file from a revision (default: the last synced one) to the folder now.",
                                                    discussion: "Exit status: 0 no difference, 1 they differ (as diff(1)), 2 invalid input.")

    @Argument(help: "The path in the folder.") var path: String
    @Option(name: .long, help: ArgumentHelp(stringLiteral: revisionHelp + " Default: HEAD.")) var at: String?
    @OptionGroup var folder: FolderOption

    func run() throws {
        var differ = false
        try reporting { () throws(ShadowError) in
            let text = try Workspace().diff(folder.path, item: path, at: at)
            differ = !text.isEmpty
            writeStandardOutput(Array(text.utf8))
        }
        if differ { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}
