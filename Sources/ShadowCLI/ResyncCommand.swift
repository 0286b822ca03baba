import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct ResyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Forget the history this machine verified, verify the server's from its root and merge this folder onto it.",
        discussion: "The recovery after a fork, after moving to a new repository ('config set remote NEW', then 'resync') and after the server was restored from a backup. Every file of the folder that differs from the server's version is kept (conflicts as copies) and nothing is deleted. When the server holds an older state of this machine's history, the commits it lost are pushed back as they are; when its history went another way, this machine's commits it lacks are not re-created there, but their files are merged. An empty repository receives this machine's history. Run it without a daemon on the folder. Exit status as for sync.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            let (report, summary) = try Workspace().resync(folder.path, options: line.attach(SyncOptions()))
            line.finish()
            if let adopted = report.adopted {
                print("verified the server's history from its root: head \(adopted.short)")
            } else {
                print("the server's repository was empty: it receives this machine's history")
            }
            if report.restored > 0 { print("restored  \(report.restored) commit(s) of this machine's history that the server had lost") }
            if report.leftOut > 0 {
                print("left out  \(report.leftOut) commit(s) of this machine's old history that the server's history lacks (not re-created; their files are merged below)")
            }
            if let lost = report.leftOutDeviceChange {
                print("warning:  the server's history \(lost) from this machine's left-out commits (made here, never pushed): repeat that 'device revoke' or 'key rotate' now")
            }
            printReport(summary)
        }
    }
}
