import FoundationEssentials
@preconcurrency import Glibc
import ShadowCore
import ShadowGit
import ShadowSystem

/// What a known_hosts file says about a host and the key it presented.
enum HostKeyVerdict: Equatable, Sendable {
    case known
    case unknown
    /// The host is listed with other keys only: a changed key, a man in the middle, or a reinstalled server.
    case changed(listedTypes: [String], line: Int)
    /// The key is listed under `@revoked`.
    case revoked(line: Int)
}

/// OpenSSH's known_hosts format (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT): plain and hashed host names,
/// patterns with `*`, `?` and `!`, `[host]:port`, `@revoked`; `@cert-authority` lines are ignored
/// (libssh2 cannot check host certificates). Read by ShadowSync itself because libgit2 1.5 reads only
/// $HOME/.ssh/known_hosts and libssh2 matches looser than OpenSSH (a plain host entry also
/// matches that host on another port).
struct KnownHosts: Sendable {
    struct Entry: Sendable {
        let line: Int
        let marker: String?
        let patterns: String
        let type: String
        let blob: [UInt8]
    }

    let entries: [Entry]
    public let file: BytePath

    /// Files larger than this are not known_hosts files (a large one has a few thousand 100-byte lines).
    static let sizeLimitBytes = 16 << 20

    /// Loads `file`; a missing file is an empty list (every host unknown).
    public static func load(_ file: BytePath) throws(ShadowError) -> KnownHosts {
        guard FileSystem.exists(file) else { return KnownHosts(entries: [], file: file) }
        let text = String(decoding: try FileSystem.readFile(file, limit: sizeLimitBytes), as: UTF8.self)
        return parse(text, file: file)
    }

    static func parse(_ text: String, file: BytePath) -> KnownHosts {
        var out: [Entry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var marker: String?
            if first.hasPrefix("@") { marker = first; fields.removeFirst() }
            // Lines that do not parse are skipped, as OpenSSH does: one bad line must not hide the rest.
            guard fields.count >= 3, let blob = Data(base64Encoded: fields[2]) else { continue }
            out.append(Entry(line: n + 1, marker: marker, patterns: fields[0], type: fields[1], blob: Array(blob)))
        }
        return KnownHosts(entries: out, file: file)
    }

    public func verdict(for name: String, key: HostKey) -> HostKeyVerdict {
        // A revoked key stays revoked wherever else it is listed (OpenSSH checks revocation first).
        if let r = entries.first(where: { $0.marker == "@revoked" && $0.blob == key.blob && matches($0.patterns, name) }) {
            return .revoked(line: r.line)
        }
        var otherTypes: [String] = [], firstOther = 0
        for e in entries where e.marker == nil && matches(e.patterns, name) {
            if e.blob == key.blob { return .known }
            if !otherTypes.contains(e.type) { otherTypes.append(e.type) }
            if firstOther == 0 { firstOther = e.line }
        }
        return otherTypes.isEmpty ? .unknown : .changed(listedTypes: otherTypes, line: firstOther)
    }

    /// Appends a plain entry for `name` (never rewriting existing lines: the user's own entries stay as they
    /// were). The file is replaced atomically; it and its directory are created private when missing.
    public static func append(_ key: HostKey, name: String, to file: BytePath) throws(ShadowError) {
        var bytes: [UInt8] = []
        if FileSystem.exists(file) { bytes = try FileSystem.readFile(file, limit: sizeLimitBytes) }
        if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes += Array((key.knownHostsLine(for: name) + "\n").utf8)
        try FileSystem.createDirectories(file.directory, mode: 0o700)
        let mode = FileSystem.exists(file) ? (try? FileSystem.permissions(of: file)) ?? 0o600 : 0o600
        try FileSystem.writeAtomically(bytes, to: file, mode: mode)
    }

    private func matches(_ patterns: String, _ name: String) -> Bool {
        if patterns.hasPrefix("|1|") { return hashedMatch(patterns, name) }
        var matched = false
        for p in patterns.split(separator: ",") {
            if p.hasPrefix("!") {
                if glob(Array(p.dropFirst().lowercased().utf8), Array(name.lowercased().utf8)) { return false }
            } else if glob(Array(p.lowercased().utf8), Array(name.lowercased().utf8)) {
                matched = true
            }
        }
        return matched
    }

    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` (OpenSSH HashKnownHosts, Debian's default).
    private func hashedMatch(_ field: String, _ name: String) -> Bool {
        let parts = field.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let salt = Data(base64Encoded: String(parts[2])), let mac = Data(base64Encoded: String(parts[3])) else { return false }
        return SHA1.hmac(key: Array(salt), message: Array(name.lowercased().utf8)) == Array(mac)
    }

    /// OpenSSH's match_pattern: `*` any run, `?` one character.
    private func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) { pi += 1; si += 1 }
            else if pi < p.count && p[pi] == UInt8(ascii: "*") { star = pi; mark = si; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; si = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
