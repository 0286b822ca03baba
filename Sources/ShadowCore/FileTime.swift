/// A file's modification time to the nanosecond, as a `timespec` holds it: seconds since the Unix epoch
/// (negative before 1970) and nanoseconds within that second. Kept as two fields, not one count of
/// nanoseconds, because an Int64 of nanoseconds ends in 2262 and a file may carry any date.
public struct FileTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let nanosecondsPerSecond: UInt32 = 1_000_000_000
    /// 1970-01-01 00:00:00 UTC: what a record written without a known time carries.
    public static let epoch = FileTime(seconds: 0, nanoseconds: 0)

    public let seconds: Int64
    /// Always below `nanosecondsPerSecond`.
    public let nanoseconds: UInt32

    /// `nanoseconds` must be below 10^9 (a precondition: parsers check it before building one).
    public init(seconds: Int64, nanoseconds: UInt32) {
        precondition(nanoseconds < FileTime.nanosecondsPerSecond, "nanoseconds out of range")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// From a count of nanoseconds since the epoch (a `StatKey`'s `mtimeNs`); rounds toward the past.
    public init(totalNanoseconds ns: Int64) {
        let perSecond = Int64(FileTime.nanosecondsPerSecond)
        var s = ns / perSecond, r = ns % perSecond
        if r < 0 { s -= 1; r += perSecond }
        self.init(seconds: s, nanoseconds: UInt32(r))
    }

    /// Nanoseconds since the epoch, or nil outside the years 1677–2262 that an Int64 of them can hold.
    public var totalNanoseconds: Int64? {
        // Before 1970 the fraction is taken from the next second up, so 1677's earliest instants fit too.
        let borrow: Int64 = seconds < 0 && nanoseconds > 0 ? 1 : 0
        let (scaled, o1) = (seconds + borrow).multipliedReportingOverflow(by: Int64(FileTime.nanosecondsPerSecond))
        let (total, o2) = scaled.addingReportingOverflow(Int64(nanoseconds) - borrow * Int64(FileTime.nanosecondsPerSecond))
        return o1 || o2 ? nil : total
    }

    public static func < (a: FileTime, b: FileTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    public var description: String {
        let digits = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - digits.count))\(digits)"
    }
}

/// The permission bits that are synced: read, write and execute for user, group and others. Never
/// setuid, setgid or sticky: a synced file must not gain privileges on another machine.
public enum FilePermissions {
    public static let mask: UInt32 = 0o777
    /// The bit that makes a file executable by its owner (what the record's kind calls `executable`).
    public static let userExecute: UInt32 = 0o100
}
