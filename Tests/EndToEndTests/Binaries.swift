import Foundation

/// Runs the package's built executables, as a user would.
enum Binaries {
    /// The build products directory: the test bundle sits beside the executables.
    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Where a built executable is.
    static func url(of name: String) -> URL {
        if name.hasPrefix("/") { return URL(fileURLWithPath: name) }  // a system tool (bash for the examples)
        let url = productsDirectory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        // `swift test` may run the bundle from a nested path; fall back to .build/debug.
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(name)")
    }

    /// `timeoutSeconds`: killed (coreutils `timeout`, exit 137) if still running then, so a command
    /// that hangs fails its test instead of stalling the suite.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], unset: [String] = [],
                    timeoutSeconds: Int? = nil) throws -> Outcome {
        let p = Process()
        if let timeoutSeconds {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            p.arguments = ["--signal=KILL", String(timeoutSeconds), url(of: name).path] + arguments
        } else {
            p.executableURL = url(of: name)
            p.arguments = arguments
        }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.filter { !unset.contains($0.key) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read before waiting so a chatty child never blocks on a full pipe.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts every command at once, then collects them (their outputs are small: no pipe fills).
    static func runTogether(_ commands: [(arguments: [String], environment: [String: String])]) throws -> [Outcome] {
        var running: [(Process, Pipe, Pipe)] = []
        for c in commands {
            let p = Process()
            p.executableURL = productsDirectory.appendingPathComponent("shadowsync")
            p.arguments = c.arguments
            p.environment = ProcessInfo.processInfo.environment.merging(c.environment) { _, new in new }
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = FileHandle.nullDevice
            try p.run()
            running.append((p, out, err))
        }
        return running.map { p, out, err in
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
    }
}
