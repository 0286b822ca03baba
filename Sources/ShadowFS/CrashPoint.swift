#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Fault injection for the crash-safety tests: when SHADOWSYNC_CRASH_AT names a point, the process
/// kills itself with SIGKILL there (no cleanup, no buffered writes: exactly what kill -9 does).
/// Unset in normal use; costs one string comparison per point.
public enum CrashPoint {
    nonisolated(unsafe) static let target: String? = getenv("SHADOWSYNC_CRASH_AT").map { String(cString: $0) }

    public static func reached(_ name: String) {
        guard let target, target == name else { return }
        kill(getpid(), SIGKILL)
    }
}
