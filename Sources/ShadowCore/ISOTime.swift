/// UTC, ISO 8601, to the second.
public func isoTime(_ millis: UInt64) -> String {
    let days = Int64(millis / 1000) / 86400, secs = Int64(millis / 1000) % 86400
    // Civil-from-days (Howard Hinnant's algorithm), so no C time functions are needed here.
    let z = days + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
}

/// UTC, ISO 8601, to the millisecond (log lines).
public func isoTimeMillis(_ millis: UInt64) -> String {
    let ms = millis % 1000
    return String(isoTime(millis).dropLast()) + "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + "\(ms)Z"
}
