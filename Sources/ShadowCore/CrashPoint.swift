#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Fault injection for the crash-safety tests: the process kills itself with SIGKILL at a chosen
/// point (no cleanup, no buffered writes: exactly what kill -9 does). Unset in normal use, where a
/// point costs one load and a branch.
///
/// `SHADOWSYNC_CRASH_AT=name` dies at the first point called `name`; `SHADOWSYNC_CRASH_AT=#n` dies at
/// the n-th point reached, whatever its name, so a test can walk every point of a run in order.
/// `SHADOWSYNC_CRASH_TRACE=file` appends each point's name to `file` (how a test learns the count).
public enum CrashPoint {
    private enum Target { case named(String), ordinal(Int) }

    private static let target: Target? = {
        guard let raw = getenv("SHADOWSYNC_CRASH_AT").map({ String(cString: $0) }) else { return nil }
        if raw.hasPrefix("#"), let n = Int(raw.dropFirst()) { return .ordinal(n) }
        return .named(raw)
    }()

    private static let trace: Int32? = getenv("SHADOWSYNC_CRASH_TRACE").map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }

    /// Points reached so far. Only tests set the variables; they run the engine on one thread at a
    /// time, and a miscount under a race would only move the crash to a neighbouring point.
    nonisolated(unsafe) private static var reachedCount = 0

    public static func reached(_ name: String) {
        guard target != nil || trace != nil else { return }
        reachedCount += 1
        if let trace, trace >= 0 {
            let line = Array("\(reachedCount) \(name)\n".utf8)
            _ = line.withUnsafeBytes { write(trace, $0.baseAddress, $0.count) }
        }
        switch target {
        case .named(let n)? where n == name: kill(getpid(), SIGKILL)
        case .ordinal(let n)? where n == reachedCount: kill(getpid(), SIGKILL)
        default: break
        }
    }
}
