/// A service address as a person types it: for SSH servers and XMPP servers alike.
public enum HostAndPort {
    /// `HOST`, `HOST:PORT` or `[HOST]:PORT` for any service (the port from 1 to 65535).
    public static func parse(_ text: String, defaultPort: Int) throws(ShadowError) -> (host: String, port: Int) {
        let bad = ShadowError(.invalidArgument, "'\(text)' is not HOST, HOST:PORT or [HOST]:PORT")
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p), !host.isEmpty else { throw bad }
            return (host, p)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !text.isEmpty: return (text, defaultPort)
        case 2:
            guard !parts[0].isEmpty, let p = Int(parts[1]), (1...65535).contains(p) else { throw bad }
            return (String(parts[0]), p)
        default: throw bad
        }
    }
}
