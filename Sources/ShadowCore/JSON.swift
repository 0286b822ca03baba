/// Minimal JSON (no Foundation): what `status --json`, `log --json` and the agent's status reply print,
/// with correct string escaping. Reading goes through Decodable (FoundationEssentials' JSONDecoder).
public indirect enum JSON: Sendable {
    case string(String), number(Double), bool(Bool), null
    case array([JSON])
    case object([(String, JSON)])

    public var text: String {
        switch self {
        case .string(let s): return JSON.quote(s)
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSON.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension JSON {
    /// An object from optional members: a nil member is left out, keys sorted (a stable output).
    public static func members(_ pairs: [String: JSON?]) -> JSON {
        .object(pairs.compactMap { k, v in v.map { (k, $0) } }.sorted { $0.0 < $1.0 })
    }

    public static func int<I: BinaryInteger>(_ n: I) -> JSON { .number(Double(n)) }

    /// A member of an object (nil for anything else).
    public subscript(_ key: String) -> JSON? {
        guard case .object(let o) = self else { return nil }
        return o.first { $0.0 == key }?.1
    }

    /// A value as a person reads it: strings unquoted, whole numbers without a fraction.
    public var plain: String {
        if case .string(let s) = self { return s }
        return text
    }

    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var number: Double? { if case .number(let n) = self { return n }; return nil }
}

extension JSON: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            self = .object(try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map { k in
                (k.stringValue, try object.decode(JSON.self, forKey: k))
            })
        } else if var array = try? decoder.unkeyedContainer() {
            var items: [JSON] = []
            while !array.isAtEnd { items.append(try array.decode(JSON.self)) }
            self = .array(items)
        } else {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() { self = .null }
            else if let b = try? value.decode(Bool.self) { self = .bool(b) }
            else if let n = try? value.decode(Double.self) { self = .number(n) }
            else { self = .string(try value.decode(String.self)) }
        }
    }
}

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
