import Foundation
import TestSupport

/// Runs the package's built executables, as a user would.
enum Binaries {
    /// The build products directory: the test bundle sits beside the executables.
    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    typealias Outcome = TestProcessOutcome

    /// Where a built executable is.
    static func url(of name: String) -> URL {
        if name.hasPrefix("/") { return URL(fileURLWithPath: name) }  // a system tool (bash for the examples)
        let url = productsDirectory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        // `swift test` may run the bundle from a nested path; fall back to .build/debug.
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(name)")
    }

    /// `timeoutSeconds`: its process group is killed if it is still running then (status 137), so a
    /// command that hangs fails its test instead of stalling the suite.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], unset: [String] = [],
                    stdin: [UInt8]? = nil, timeoutSeconds: Double = TestProcess.defaultTimeoutSeconds) throws -> Outcome {
        try TestProcess.run(url(of: name).path, arguments, environment: environment, unset: unset, stdin: stdin, timeout: timeoutSeconds)
    }

    /// Starts every command at once, then collects them.
    static func runTogether(_ commands: [(arguments: [String], environment: [String: String])]) throws -> [Outcome] {
        let running = try commands.map { try TestProcess(url(of: "shadowsync").path, $0.arguments, environment: $0.environment) }
        return running.map { $0.wait(timeout: TestProcess.defaultTimeoutSeconds) }
    }
}
