import ArgumentParser
import ShadowAgent
import ShadowCore

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Read or change a folder's settings.",
                                                    subcommands: [ConfigGetCommand.self, ConfigSetCommand.self, ConfigListCommand.self])
}

struct ConfigGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print one setting (exit 1 when unset).")
    @Argument(help: "The key (see 'shadowsync config list').") var key: String
    @OptionGroup var folder: FolderOption

    func run() throws {
        var value: String?
        try reporting { () throws(ShadowError) in
            let config = try Workspace().config(folder.path)
            guard FolderConfig.knownKeys.contains(key) else {
                throw ShadowError(.invalidArgument, "unknown key '\(key)'", advice: "known keys: \(FolderConfig.knownKeys.joined(separator: ", "))")
            }
            value = config.values[key]
        }
        guard let value else { throw ExitCode(ExitStatus.needsHuman.rawValue) }
        print(value)
    }
}

struct ConfigSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change one setting (an empty value removes an optional one). Secrets only by file.")
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value (a path for file settings).") var value: String
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let config = try Workspace().setConfig(folder.path, key: key, value: value)
            print("\(key) = \(config.values[key] ?? "(unset)")")
        }
    }
}

struct ConfigListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every setting of the folder, and what each key means.")
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let workspace = try Workspace()
            let config = try workspace.config(folder.path)
            print("# \(workspace.registry.configFile(config))")
            for (key, meaning) in FolderConfig.keyDescriptions {
                print("\(key) = \(config.values[key] ?? "")")
                print("    # \(meaning)")
            }
        }
    }
}
