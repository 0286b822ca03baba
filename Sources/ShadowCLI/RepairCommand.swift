import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct RepairCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Put the shadow repository back on the last commit ShadowSync made (after git was run there by hand).")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (config, report) = try Workspace().repair(folder.path)
            guard let head = report.head else { return }
            guard report.wasNeeded else {
                print("nothing to repair: the shadow repository is on \(head.short), a commit ShadowSync made; its tree was checked out again")
                return
            }
            for commit in report.dropped { print("dropped   \(commit.short)") }
            print("the shadow repository of \(config.folder) is back on \(head.short); what was done in it by hand is discarded")
            if report.rebuiltIndex { print("the next sync reads every file of the folder once to find what changed") }
            print("next: 'shadowsync sync' commits and pushes the folder as it is now; no file of the folder was changed")
        }
    }
}
