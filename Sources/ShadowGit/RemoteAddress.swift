public import ShadowCore

/// Where the ciphertext repository lives, parsed from what the user typed.
///
/// Forms: `ssh://[user@]host[:port]/path`, scp-like `[user@]host:path`, a local path, and
/// `file://path`. libgit2 gets the text as typed (it knows every form); the parts are for what libgit2
/// does not do for us: the known_hosts lookup (host and port), the user name, doctor's reachability probe.
public struct RemoteAddress: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable { case local, ssh }

    public let kind: Kind
    /// The text libgit2 is given: an absolute local path, or the SSH URL as typed.
    public let url: String
    public let user: String?
    public let host: String
    public let port: Int
    public let path: String

    /// The SSH port when none is given (RFC 4253 §4.1 registers 22).
    public static let defaultSSHPort = 22

    public var description: String { url }

    /// The host as known_hosts writes it: `host` on port 22, `[host]:port` on any other (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT).
    public var knownHostsName: String { Self.knownHostsName(host: host, port: port) }

    public static func knownHostsName(host: String, port: Int) -> String {
        port == defaultSSHPort ? host : "[\(host)]:\(port)"
    }

    /// Parses a remote. Local paths are returned as given (relative ones are resolved by the caller).
    public static func parse(_ text: String) throws(ShadowError) -> RemoteAddress {
        let bad = { (why: String) -> ShadowError in
            ShadowError(.invalidArgument, "cannot use '\(text)' as a remote: \(why)",
                        advice: "use ssh://user@host[:port]/path, user@host:path, a local path or file:///path")
        }
        guard !text.isEmpty, !text.contains("\n"), !text.contains("\0") else { throw bad("empty or has a line break") }
        if text.hasPrefix("file://") {
            let p = String(text.dropFirst("file://".count))
            guard p.hasPrefix("/") else { throw bad("a file:// URL needs an absolute path") }
            return RemoteAddress(kind: .local, url: p, user: nil, host: "", port: 0, path: p)
        }
        if text.hasPrefix("ssh://") || text.hasPrefix("ssh+git://") || text.hasPrefix("git+ssh://") {
            let rest = text.drop(while: { $0 != ":" }).dropFirst(3)
            guard let slash = rest.firstIndex(of: "/") else { throw bad("no repository path after the host") }
            let authority = rest[..<slash], path = String(rest[slash...])
            var user: String?, hostPort = Substring(authority)
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at])
                hostPort = authority[authority.index(after: at)...]
            }
            var host = String(hostPort), port = defaultSSHPort
            if hostPort.hasPrefix("[") {  // [v6]:port
                guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [ in the host") }
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") { port = try parsePort(after.dropFirst(), bad) } else if !after.isEmpty { throw bad("text after ]") }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                port = try parsePort(hostPort[hostPort.index(after: colon)...], bad)
            }
            guard !host.isEmpty else { throw bad("no host") }
            guard path.count > 1 else { throw bad("no repository path after the host") }
            return RemoteAddress(kind: .ssh, url: text, user: user?.isEmpty == false ? user : nil, host: host, port: port, path: path)
        }
        if text.contains("://") { throw bad("only ssh:// and file:// URLs are supported (git over ssh; no http)") }
        // scp-like: a colon before the first slash (git's rule, so `./a:b` and `/a:b` stay local paths).
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            let authority = text[..<colon], path = String(text[text.index(after: colon)...])
            var user: String?, host = String(authority)
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at])
                host = String(authority[authority.index(after: at)...])
            }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw bad("no host before ':'") }
            guard !path.isEmpty else { throw bad("no repository path after ':'") }
            return RemoteAddress(kind: .ssh, url: text, user: user?.isEmpty == false ? user : nil, host: host, port: defaultSSHPort, path: path)
        }
        return RemoteAddress(kind: .local, url: text, user: nil, host: "", port: 0, path: text)
    }

    private static func parsePort(_ s: Substring, _ bad: (String) -> ShadowError) throws(ShadowError) -> Int {
        guard let p = Int(s), (1...65535).contains(p) else { throw bad("port '\(s)' is not 1-65535") }
        return p
    }

    /// `HOST` or `HOST:PORT` or `[HOST]:PORT` as given to `trust-host`, or a whole remote.
    public static func parseHost(_ text: String) throws(ShadowError) -> (host: String, port: Int) {
        if let r = try? parse(text), r.kind == .ssh, text.contains("://") || text.contains("@") { return (r.host, r.port) }
        return try HostAndPort.parse(text, defaultPort: defaultSSHPort)
    }
}
