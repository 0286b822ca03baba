import ArgumentParser
import ShadowAgent
import ShadowCore

struct ConflictsCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "conflicts", abstract: "Conflict copies in the folder, and this machine's conflict log.")

    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let (copies, log) = try Workspace().conflicts(folder.path)
            print(copies.isEmpty ? "no conflict copies" : "\(copies.count) conflict cop\(copies.count == 1 ? "y" : "ies"):")
            for c in copies { print("  \(c)") }
            if !log.isEmpty {
                print("conflicts resolved on this machine:")
                for line in log.suffix(50) { print("  \(line)") }
            }
        }
    }
}
