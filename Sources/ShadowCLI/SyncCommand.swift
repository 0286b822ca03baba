import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "One full pass: commit local changes, fetch, verify, merge, apply, push.",
                                                    discussion: "Exit status: 0 in sync, 1 needs a human (a guard tripped), 2 invalid state or input, 3 transient (try again).")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Commit even if most files vanished at once (the mass-delete guard).") var allowMassDelete = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (_, engine) = try Workspace().open(folder.path)
            printReport(try engine.sync(options: ProgressLine.options(SyncOptions(allowMassDelete: allowMassDelete))))
            // Freeing a large folder's index takes longer than the process has left to live: exit
            // returns the memory at once (git leaves its index to exit the same way).
            _ = Unmanaged.passRetained(engine)
        }
    }
}
