import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "One full pass: commit local changes, fetch, verify, merge, apply, push.",
                                                    discussion: "While 'shadowsync run' holds the folder, the daemon runs the pass (also while paused) and sync prints its result. Exit status: 0 in sync (conflicts resolved into conflict copies included), 1 needs a human (a guard tripped), 2 invalid state or input, 3 transient (try again).")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Commit even if most files vanished at once (the mass-delete guard).") var allowMassDelete = false
    @Flag(name: .long, help: "Merge the server's history though it forked from the one this machine verified (after a fork or a move to a repository another machine filled).") var acceptFork = false
    @Flag(name: .long, help: "When the server's head is a commit no writer made (unsigned, tampered, or signed by a revoked or unknown device), push a signed commit over it on top of this machine's verified history.") var replaceRefused = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            var options = SyncOptions(allowMassDelete: allowMassDelete)
            options.acceptFork = acceptFork
            options.replaceRefused = replaceRefused
            let report = try Workspace().sync(folder.path, options: line.attach(options),
                                              onWaiting: standardErrorIsTerminal ? { line.draw($0) } : nil)
            line.finish()
            printReport(report)
        }
    }
}
