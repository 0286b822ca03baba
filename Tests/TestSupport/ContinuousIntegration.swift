import Foundation

/// The one reading of `CI` for every test: under `CI=true` every real-server and tool-dependent test
/// runs (a missing server or tool is then a failure); elsewhere such a test may skip when what it needs
/// is not installed.
public enum ContinuousIntegration {
    /// True when the environment says `CI=true` (what `.ci/run` and most CI services set).
    public static var isSet: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether a test that needs the executable at `path` runs: it is installed, or this is CI.
    public static func runs(needing path: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: path) || isSet
    }

    /// Whether a test that needs root (or what CI grants) runs.
    public static var runsAsRoot: Bool { getuid() == 0 || isSet }
}
