#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CShims
import ShadowCore

/// Facts about this process that benchmarks, tests and hardening need.
public enum ProcessFacts {
    /// Current resident set size in bytes (VmRSS), nil if /proc is unavailable.
    public static func residentBytes() -> UInt64? { statusField("VmRSS:") }

    /// Peak resident set size since start or since the last `resetPeakResident()` (VmHWM).
    public static func peakResidentBytes() -> UInt64? { statusField("VmHWM:") }

    /// Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0), so one
    /// phase's peak can be measured inside a longer-running process.
    @discardableResult
    public static func resetPeakResident() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    private static func statusField(_ key: String) -> UInt64? {
        guard let text = try? FileSystem.readUntilEnd(BytePath("/proc/self/status"), limit: 1 << 16) else { return nil }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix(key) {
            let digits = line.dropFirst(key.count).filter { $0.isNumber }
            return UInt64(digits).map { $0 * 1024 }
        }
        return nil
    }

    /// Returns the heap's free pages to the kernel (glibc keeps them mapped after a burst of allocations).
    public static func releaseFreeMemory() {
        _ = shadow_shim_release_free_memory()
    }

    /// Makes the process non-dumpable: no core file and no same-user ptrace can read key material.
    public static func disableCoreDumps() {
        _ = shadow_shim_set_dumpable(0)
    }
}

/// Blocks the calling thread for `seconds` (retry backoff).
public func pause(seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

