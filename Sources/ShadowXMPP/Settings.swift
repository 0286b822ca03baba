public import FoundationEssentials
@preconcurrency import Glibc
public import ShadowCore

/// How the agent decides that the XMPP server's TLS certificate is the right one. There is no
/// "no TLS" choice: the doorbell never travels in clear, and never falls back to legacy auth.
public enum XMPPTrust: Sendable, Equatable {
    /// The system's CA store (a server with a public certificate).
    case system
    /// A PEM file of CA certificates (a self-hosted server's own CA or self-signed certificate).
    case caFile(String)
    /// The SHA-256 fingerprint of the server's certificate, hex with or without colons.
    case pinnedSHA256(String)
}

/// Who receives a doorbell.
public enum XMPPAddressing: Sendable, Equatable {
    /// Every agent logs in to one account with its own random resource; doorbells go to each online
    /// resource of that account by full JID (a bare-JID message may reach only one resource).
    case sharedAccount
    /// Agents on other accounts (bare JIDs), subscribed to each other's presence; the own account's
    /// other resources are peers too.
    case peers([String])
    /// A members-only multi-user chat room (bare JID of the room); doorbells go to the room.
    case room(String)
}

/// A secret the notifier hands to libstrophe: the XMPP password or a room password. Wiped on release.
/// Immutable after init (the bytes are only read, then wiped in deinit), hence safe to share.
public final class XMPPSecret: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<CChar>

    /// `bytes` without a trailing newline (a password file usually ends with one).
    public init(_ bytes: [UInt8]) {
        var b = bytes
        while let last = b.last, last == 0x0A || last == 0x0D { b.removeLast() }
        storage = .allocate(capacity: b.count + 1)
        for (i, c) in b.enumerated() { storage[i] = CChar(bitPattern: c) }
        storage[b.count] = 0
        b.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
    }

    var isEmpty: Bool { storage[0] == 0 }

    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R { body(UnsafePointer(storage.baseAddress!)) }

    deinit {
        explicit_bzero(storage.baseAddress!, storage.count)
        storage.deallocate()
    }
}

/// Everything the notifier needs to log in. Built by the agent from the folder's config.
public struct XMPPSettings: Sendable {
    /// The account's bare JID, `user@domain`. The resource is always a random opaque one.
    public var account: String
    public var password: XMPPSecret
    /// Where to connect when DNS SRV records of the domain are not wanted (`host`, optional `port`).
    public var host: String?
    public var port: UInt16
    public var trust: XMPPTrust
    public var addressing: XMPPAddressing
    public var roomPassword: XMPPSecret?

    public init(account: String, password: XMPPSecret, host: String? = nil, port: UInt16 = 0, trust: XMPPTrust,
                addressing: XMPPAddressing = .sharedAccount, roomPassword: XMPPSecret? = nil) {
        self.account = account
        self.password = password
        self.host = host
        self.port = port
        self.trust = trust
        self.addressing = addressing
        self.roomPassword = roomPassword
    }

    /// Checks the shape of what the user wrote, before any connection.
    public func validate() throws(ShadowError) {
        guard JID.isBare(account) else {
            throw ShadowError(.invalidArgument, "xmpp.jid '\(account)' is not a bare JID like agents@example.org",
                              advice: "give the account without a resource: a random one is chosen for each agent")
        }
        if password.isEmpty {
            throw ShadowError(.invalidArgument, "the XMPP password file is empty", advice: "put the account's password in xmpp.password-file")
        }
        switch addressing {
        case .sharedAccount: break
        case .peers(let list):
            for jid in list where !JID.isBare(jid) {
                throw ShadowError(.invalidArgument, "xmpp.peers entry '\(jid)' is not a bare JID", advice: "list accounts like laptop@example.org")
            }
        case .room(let room):
            guard JID.isBare(room) else {
                throw ShadowError(.invalidArgument, "xmpp.room '\(room)' is not a room JID like sync@conference.example.org")
            }
        }
        if case .pinnedSHA256(let fp) = trust, XMPPTrust.normalisedFingerprint(fp) == nil {
            throw ShadowError(.invalidArgument, "xmpp.fingerprint is not a SHA-256 fingerprint (64 hex digits, colons allowed)",
                              advice: "openssl x509 -in server.crt -noout -fingerprint -sha256")
        }
    }
}

extension XMPPSettings {
    /// For checking config values before they are stored.
    public static func isBareJID(_ text: String) -> Bool { JID.isBare(text) }
    public static func isFingerprint(_ text: String) -> Bool { XMPPTrust.normalisedFingerprint(text) != nil }
}

extension XMPPTrust {
    /// Lowercase hex without colons, as libstrophe prints it; nil if not 32 bytes of hex.
    static func normalisedFingerprint(_ text: String) -> String? {
        let hex = text.lowercased().filter { $0 != ":" && !$0.isWhitespace }
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return hex
    }
}

/// JID helpers on strings (RFC 7622 shape only; the server does the real checks).
enum JID {
    static func isBare(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && !s.contains("/") && !s.contains(where: \.isWhitespace)
    }

    static func bare(_ full: String) -> String {
        full.firstIndex(of: "/").map { String(full[..<$0]) } ?? full
    }

    static func resource(_ full: String) -> String? {
        full.firstIndex(of: "/").map { String(full[full.index(after: $0)...]) }
    }

    static func domain(_ jid: String) -> String {
        let bare = bare(jid)
        return bare.firstIndex(of: "@").map { String(bare[bare.index(after: $0)...]) } ?? bare
    }

    /// A resource that says nothing about the machine (never the hostname): "a-" and 12 random hex digits.
    static func randomResource() -> String {
        // A leading 1 bit keeps the zeros: 13 hex digits, the first dropped.
        "a-" + String(UInt64.random(in: 0..<(1 << 48)) | (1 << 48), radix: 16).dropFirst()
    }
}

/// What the notifier reports to the agent, on the notifier's thread: keep handlers short.
public enum XMPPEvent: Sendable {
    /// Logged in and presence sent (after every reconnect too).
    case online
    /// The connection dropped or could not be made; `reason` says why, for the status.
    case offline(reason: String)
    /// A doorbell element from an allowed sender, not yet authenticated (the agent opens it).
    case doorbell(from: String, folderTag: String, payload: String)
}

/// The notifier's state, for `shadowsync status`.
public struct XMPPStatus: Sendable {
    public var state = "starting"
    public var connected = false
    /// The full JID this agent is bound to (its random resource).
    public var boundJID: String?
    public var peersOnline = 0
    public var lastError: String?
    public var lastSent: Date?
    public var reconnectAt: Date?
    public var connects = 0
    public var doorbellsSent = 0
    public var doorbellsReceived = 0
}
