import ArgumentParser
import ShadowAgent
import ShadowCore

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check config, key file, and the remote step by step (reachability, host key, login, repository).",
                                                    discussion: "Exit status 1 when a check fails. Changes nothing.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        let workspace: Workspace
        do { workspace = try Workspace() } catch { throw ValidationError(error.description) }
        let checks = workspace.doctor(folder.path)
        for c in checks {
            let tag = c.outcome == .ok ? "ok  " : c.outcome == .warning ? "warn" : "FAIL"
            print("\(tag) \(c.name): \(c.detail)")
            if !c.advice.isEmpty { print("     what to do: \(c.advice)") }
        }
        if checks.contains(where: { $0.outcome == .failed }) { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}
