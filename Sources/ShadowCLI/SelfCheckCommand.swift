import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the vault format end to end on this machine (no server needed)."
    )

    func run() throws {
        let results = Workspace.selfCheck()
        for r in results {
            print("\(r.passed ? "ok  " : "FAIL") \(r.name): \(r.detail)")
        }
        let failed = results.filter { !$0.passed }.count
        print(failed == 0 ? "selfcheck passed: \(results.count) checks" : "selfcheck FAILED: \(failed) of \(results.count) checks")
        if failed > 0 { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}
