import ArgumentParser
import ShadowCore
import ShadowEngine

/// Exit statuses are part of the command-line contract (Docs/OPERATIONS.md).
enum ExitStatus: Int32 {
    case ok = 0
    /// Something needs a human: a guard tripped, a conflict to look at, a check failed.
    case needsHuman = 1
    /// Invalid input or state: bad arguments, wrong passphrase, corrupt key file.
    case invalid = 2
    /// Transient: try again later (remote unreachable, disk full).
    case transient = 3

    static func of(_ error: ShadowError) -> ExitStatus { error.isRetryable ? .transient : .invalid }
}

/// The entry point the executable calls; ArgumentParser stays inside this target.
public enum ShadowsyncCLI {
    public static func main() {
        ShadowsyncCommand.main()
    }
}

struct ShadowsyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadowsync",
        abstract: "Keep a plaintext folder in sync through an untrusted git server, encrypted.",
        version: "0.1.0",
        subcommands: [SelfCheckCommand.self]
    )

}

struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the vault format end to end on this machine (no server needed)."
    )

    func run() throws {
        let results = SelfCheck.run()
        for r in results {
            print("\(r.passed ? "ok  " : "FAIL") \(r.name): \(r.detail)")
        }
        let failed = results.filter { !$0.passed }.count
        print(failed == 0 ? "selfcheck passed: \(results.count) checks" : "selfcheck FAILED: \(failed) of \(results.count) checks")
        if failed > 0 { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}
