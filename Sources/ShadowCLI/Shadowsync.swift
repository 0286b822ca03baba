import ArgumentParser
import ShadowAgent
import ShadowCore

/// Exit statuses are part of the command-line contract (Docs/OPERATIONS.md).
enum ExitStatus: Int32 {
    case ok = 0
    /// Something needs a human: a guard tripped, a check failed.
    case needsHuman = 1
    /// Invalid input or state: bad arguments, wrong passphrase, corrupt key file, a hostile server.
    case invalid = 2
    /// Transient: try again later (remote unreachable, disk full, another process holds the folder).
    case transient = 3

    static func of(_ error: ShadowError) -> ExitStatus {
        switch error.code {
        case .guardTripped, .foreignLocalCommit: return .needsHuman
        case .locked: return .transient
        default: return error.isRetryable ? .transient : .invalid
        }
    }
}

/// The entry point the executable calls; ArgumentParser stays inside this target.
public enum ShadowsyncCLI {
    /// The names of the commands that open a repository within milliseconds of starting (those marked
    /// `OpensRepositoryAtOnce`), taken from their own configuration so a renamed command stays in.
    static var repositoryCommands: [String] {
        ShadowsyncCommand.configuration.subcommands.compactMap { ($0 as? any OpensRepositoryAtOnce.Type)?.configuration.commandName }
    }

    /// The value of `--folder` as typed, for `Workspace.prefetch` only: ArgumentParser alone decides
    /// what the command line means, and a wrong guess costs only the read ahead.
    static func folderHint(_ arguments: ArraySlice<String>) -> BytePath? {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" { return nil }
            if argument == "--folder" { return rest.first.map { BytePath($0) } }
            if argument.hasPrefix("--folder=") { return BytePath(String(argument.dropFirst("--folder=".count))) }
        }
        return nil
    }

    public static func main() {
        // Loading libgit2 and its start-up (about 13 ms of CPU) need not wait for argument parsing.
        let command = CommandLine.arguments.dropFirst().first
        if let command, repositoryCommands.contains(command) { Workspace.prepare() }
        // sync's index (3.5 ms of a 10k-file no-op) is read while ArgumentParser runs (2.9 ms).
        if let command, command == SyncCommand.configuration.commandName {
            Workspace.prefetch(folder: folderHint(CommandLine.arguments.dropFirst(2)))
        }
        Warnings.setHandler { printError("warning: \($0)") }
        do {
            var command = try ShadowsyncCommand.parseAsRoot()
            try command.run()
        } catch {
            Workspace.settle()
            // ArgumentParser's usage errors (unknown flag, missing argument, ValidationError) exit with
            // EX_USAGE (64); the documented status for bad arguments is 2.
            if ShadowsyncCommand.exitCode(for: error) == .validationFailure {
                printError(ShadowsyncCommand.fullMessage(for: error))
                ShadowsyncCommand.exit(withError: ExitCode(ExitStatus.invalid.rawValue))
            }
            ShadowsyncCommand.exit(withError: error)
        }
        Workspace.settle()
    }
}

/// A command that opens a repository within milliseconds of starting, so `main` loads libgit2 on the git
/// thread while ArgumentParser still parses. Not `sync`: its engine opens the repository only when a step
/// needs libgit2, which a no-op pass against a local remote never does (DeferredGitStore), and loading
/// libgit2 meanwhile would compete with its scan.
protocol OpensRepositoryAtOnce: ParsableCommand {}

struct ShadowsyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadowsync",
        abstract: "Keep a plaintext folder in sync through an untrusted git server, encrypted.",
        version: "0.2.0",
        subcommands: [InitCommand.self, JoinCommand.self, SyncCommand.self, StatusCommand.self, LogCommand.self,
                      RestoreCommand.self, ShowCommand.self, DiffCommand.self, ConflictsCommand.self, DecryptCommand.self, FsckCommand.self, KeyCommand.self, DeviceCommand.self,
                      RunCommand.self, PauseCommand.self, ResumeCommand.self, TrustHostCommand.self, ConfigCommand.self, DoctorCommand.self, VerifyPushCommand.self, SelfCheckCommand.self,
                      RepairCommand.self, ResyncCommand.self, UICommand.self, ForgetCommand.self]
    )
}
