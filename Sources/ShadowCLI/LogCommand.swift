import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct LogCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Decrypted history: when, which device, which paths.")

    @Argument(help: "Only commits touching this path (a file or directory in the folder).") var path: String?
    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false
    @Option(name: .long, help: "At most this many commits (default: all).") var limit: Int?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit is a number of commits, at least 1") }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            guard let entries = try Workspace().log(folder.path, touching: path, limit: limit ?? Int.max) else { print("no history yet"); return }
            if json {
                print(jsonText(entries.map(LogEntryJSON.init)))
                return
            }
            for e in entries {
                print("\(e.commit.short)  \(isoTime(e.wallTimeMillis))  device \(e.deviceName.map { "\($0) (\(e.deviceID))" } ?? e.deviceID)  #\(e.sequence)\(e.isMerge ? "  merge" : "")")
                for c in e.changes { print("    \(c)") }
            }
        }
    }
}
