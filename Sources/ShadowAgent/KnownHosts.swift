import FoundationEssentials
@preconcurrency import Glibc
import ShadowCore
import ShadowGit
import ShadowFS

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

/// SHA-1 (FIPS 180-4), only to match hashed known_hosts names, which OpenSSH defines with HMAC-SHA1.
/// libsodium has no SHA-1 and nothing secret passes through here, so a small local version suffices.
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] = UInt32(m[b]) << 24 | UInt32(m[b + 1]) << 16 | UInt32(m[b + 2]) << 8 | UInt32(m[b + 3])
            }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A827999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62C1D6)
                }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = rotl(b, 30); b = a; a = t
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    }

    /// RFC 2104 with a 64-byte block.
    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? hash(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        return hash(k.map { $0 ^ 0x5c } + hash(k.map { $0 ^ 0x36 } + message))
    }

    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
