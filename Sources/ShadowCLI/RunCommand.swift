import ArgumentParser
import ShadowAgent
import ShadowCore

struct RunCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The live agent: watch the folder, commit and push changes within seconds, apply what others push.",
        discussion: "Runs in the foreground (systemd: Examples/shadowsync@.service) and logs to standard error. SIGTERM or SIGINT finish the current step and exit 0; SIGHUP reloads the configuration. 'shadowsync status', 'pause' and 'resume' talk to it.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            try Workspace().run(folder.path) { line in printError("shadowsync: \(line)") }
        }
    }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop the running daemon from syncing until 'resume' (it keeps watching).")
    @OptionGroup var folder: FolderOption
    func run() throws { try reporting { () throws(ShadowError) in print(try Workspace().askDaemon(folder.path, .pause)) } }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Let a paused daemon sync again (a pass starts at once).")
    @OptionGroup var folder: FolderOption
    func run() throws { try reporting { () throws(ShadowError) in print(try Workspace().askDaemon(folder.path, .resume)) } }
}
