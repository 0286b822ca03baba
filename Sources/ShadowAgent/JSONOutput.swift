public import FoundationEssentials
public import ShadowCore
public import ShadowEngine

/// JSON as ShadowSync prints it (`status --json`, `log --json`, the daemon's status reply): compact, keys
/// sorted (a stable output), slashes unescaped.
public func jsonText(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Only a non-finite Double fails to encode, and these values hold none.
    guard let data = try? encoder.encode(value) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}

/// A time in a reply: UTC, ISO 8601, to the second.
func isoText(_ date: Date) -> String { isoTime(UInt64(max(0, date.timeIntervalSince1970 * 1000))) }

/// One commit of `shadowsync log --json`.
public struct LogEntryJSON: Encodable, Sendable {
    public let entry: LogEntry

    public init(_ entry: LogEntry) { self.entry = entry }

    enum CodingKeys: String, CodingKey {
        case commit, time, device, sequence, merge, changes
        case timeMillis = "time_ms"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entry.commit.hex, forKey: .commit)
        try c.encode(isoTime(entry.wallTimeMillis), forKey: .time)
        try c.encode(entry.wallTimeMillis, forKey: .timeMillis)
        try c.encode(entry.deviceID, forKey: .device)
        try c.encode(entry.sequence, forKey: .sequence)
        try c.encode(entry.isMerge, forKey: .merge)
        try c.encode(entry.changes, forKey: .changes)
    }
}
