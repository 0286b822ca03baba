import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove paths from all of history, or squash old history by a retention policy (a signed rewrite).",
        discussion: "forget PATH… takes files no longer in the folder out of every commit; --keep-within/--keep-last keep the commits they name (and every commit that changes the device records) and squash the rest. The rewrite is signed by this device, pushed over the server's head, and followed by the other machines; the replaced objects are then removed here and in a local bare remote (on an SSH server run 'git gc --prune=now', Docs/OPERATIONS.md). Without --yes it shows what would go and asks.")

    @Argument(help: "Paths in the folder (files or directories) to remove from history.") var paths: [String] = []
    @Option(name: .long, help: "Keep the commits made within this long before now (e.g. 90d, 12h, 30m).") var keepWithin: String?
    @Option(name: .long, help: "Keep the newest N commits of the main line.") var keepLast: Int?
    @Flag(name: .long, help: "Do it without asking.") var yes = false
    @OptionGroup var folder: FolderOption

    /// Seconds per unit of --keep-within.
    static let units: [Character: UInt64] = ["d": 86_400, "h": 3_600, "m": 60]

    func validate() throws {
        let policy = keepWithin != nil || keepLast != nil
        if policy == !paths.isEmpty { throw ValidationError("give either paths to forget or --keep-within/--keep-last") }
        if let keepLast, keepLast < 1 { throw ValidationError("--keep-last must be at least 1") }
        if let keepWithin, ForgetCommand.millis(keepWithin) == nil { throw ValidationError("--keep-within takes a number and a unit: 90d, 12h or 30m") }
    }

    static func millis(_ text: String) -> UInt64? {
        guard let unit = text.last, let seconds = units[unit], let count = UInt64(text.dropLast()), count <= UInt64.max / 1000 / seconds else { return nil }
        return count * seconds * 1000
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            let workspace = try Workspace()
            let policy = (keepWithin != nil || keepLast != nil)
                ? RetentionPolicy(keepLast: keepLast, keepWithinMillis: keepWithin.flatMap(ForgetCommand.millis)) : nil
            if !yes {
                if let policy {
                    let plan = try workspace.planRetention(folder.path, policy: policy)
                    print("would keep \(plan.kept) commit(s) of the main line and squash \(plan.squashed)")
                    if plan.squashed == 0 { return }
                } else {
                    let plan = try workspace.planForget(folder.path, items: paths)
                    if plan.paths.isEmpty { print("no commit holds \(paths.joined(separator: ", ")): nothing to forget"); return }
                    for path in plan.paths { print("would forget \(path)") }
                    print("\(plan.versions) version(s), \(plan.bytes) bytes, in \(plan.commits) commit(s); every machine's history loses them")
                }
                guard isInteractiveTerminal else {
                    throw ShadowError(.invalidArgument, "not forgetting without confirmation", advice: "run again with --yes")
                }
                printError("Rewrite the history of every machine? Type 'yes' to go on: ")
                guard readLine()?.trimmedWhitespace == "yes" else { print("nothing was changed"); return }
            }
            let (report, reclaimed) = try workspace.forget(folder.path, items: paths, policy: policy)
            guard let head = report.head, let replaced = report.replaced else {
                print("nothing to rewrite")
                return
            }
            for path in report.forget.paths { print("forgot    \(path)") }
            if policy != nil { print("kept \(report.kept) commit(s), squashed \(report.squashed)") }
            print("rewrote \(report.recreated) commit(s): \(replaced.short) replaced by \(head.short), pushed")
            for line in reclaimed { print(line) }
        }
    }
}
