import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowXMPP

/// The XMPP doorbell of one folder (Docs/OPERATIONS.md, "The XMPP doorbell"): rings the other agents
/// after a push, and turns their authenticated doorbells into fetch requests. Never the data path: a
/// lost, forged, replayed or duplicated doorbell can only cost latency or one redundant fetch.
final class DoorbellService: Sendable {
    /// Doorbells sent longer ago than this are stale and dropped (a replay window on top of sequence
    /// numbers, which a receiver only remembers while it runs). Generous, because clocks differ.
    static let staleSeconds: UInt64 = 900

    struct Counters: Sendable {
        var accepted = 0, forged = 0, replayed = 0, stale = 0, otherFolder = 0, own = 0, malformed = 0, alreadyKnown = 0
    }

    /// What a verified doorbell asks the daemon to do.
    enum Request: Sendable {
        /// A peer pushed or saw this head on the server: fetch unless it is already here.
        case fetch(Announcement)
        /// A peer came online and asks for our head (reply to `to`); it told its own, when it has one.
        case hello(to: String, announced: Announcement?)
        /// The connection came (back) up: fetch, then say hello.
        case connected
    }

    struct State: Sendable {
        var lastSent: UInt64 = 0
        var lastSeen: [String: UInt64] = [:]
        var counters = Counters()
        var lastAccepted: Date?
    }

    /// What both the daemon's threads and the notifier's thread touch.
    final class Shared: Sendable {
        let seal: DoorbellSeal
        let device: [UInt8]
        let state = Mutex(State())
        init(seal: DoorbellSeal, device: [UInt8]) { self.seal = seal; self.device = device }
    }

    private let shared: Shared
    private var seal: DoorbellSeal { shared.seal }
    let notifier: XMPPNotifier

    init(settings: XMPPSettings, keys: ReadKeys, device: [UInt8], handle: @escaping @Sendable (Request) -> Void,
         log: @escaping @Sendable (String) -> Void) {
        let shared = Shared(seal: DoorbellSeal(keys: keys), device: device)
        self.shared = shared
        let lastOffline = Mutex<String?>(nil)
        notifier = XMPPNotifier(settings: settings) { event in
            switch event {
            case .online:
                lastOffline.withLock { $0 = nil }
                log("XMPP doorbell online")
                handle(.connected)
            case .offline(let reason):
                // Log each distinct reason once, not every retry.
                let fresh = lastOffline.withLock { old -> Bool in defer { old = reason }; return old != reason }
                if fresh { log("XMPP doorbell offline: \(reason); sync goes on by polling") }
            case .doorbell(let from, let tag, let payload):
                guard let request = DoorbellService.verify(shared, from: from, tag: tag, payload: payload) else { return }
                handle(request)
            }
        }
    }

    func start() { notifier.start() }
    func stop() { notifier.stop() }

    /// After a successful push.
    func pushed(_ head: ObjectID) { ring(.pushed, head: head, to: nil) }
    /// After the first fetch of a (re)connected session, with the newest head seen on the server.
    func hello(_ head: ObjectID?) { ring(.hello, head: head, to: nil) }
    /// The answer to a hello.
    func tellHead(_ head: ObjectID, to peer: String) { ring(.head, head: head, to: peer) }

    private func ring(_ kind: DoorbellKind, head: ObjectID?, to peer: String?) {
        // Strictly increasing across restarts without storing a counter: never below the clock in µs.
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        let sequence = shared.state.withLock { s -> UInt64 in s.lastSent = max(s.lastSent + 1, now); return s.lastSent }
        let message = DoorbellMessage(kind: kind, device: shared.device, sequence: sequence, sentAt: now / 1_000_000,
                                      head: head.flatMap { bytesFromHex($0.hex) } ?? [])
        notifier.ring(folderTag: seal.folderTag, payload: seal.seal(message), to: peer)
    }

    /// Counts a doorbell whose head turned out to be here already (the fetch was skipped).
    func noteAlreadyKnown() { shared.state.withLock { $0.counters.alreadyKnown += 1 } }

    /// Opens and checks one received doorbell; nil (and a counter) when it must change nothing.
    static func verify(_ shared: Shared, from: String, tag: String, payload: String) -> Request? {
        let message: DoorbellMessage
        do throws(ShadowError) {
            message = try shared.seal.open(folderTag: tag, payload: payload)
        } catch {
            shared.state.withLock {
                switch error.code {
                case .notFound: $0.counters.otherFolder += 1
                case .authenticationFailed: $0.counters.forged += 1
                default: $0.counters.malformed += 1
                }
            }
            return nil
        }
        let now = UInt64(Date().timeIntervalSince1970)
        let sender = hexString(message.device)
        return shared.state.withLock { s -> Request? in
            if message.device == shared.device { s.counters.own += 1; return nil }
            if now > staleSeconds && message.sentAt < now - staleSeconds { s.counters.stale += 1; return nil }
            if let last = s.lastSeen[sender], message.sequence <= last { s.counters.replayed += 1; return nil }
            s.lastSeen[sender] = message.sequence
            s.counters.accepted += 1
            s.lastAccepted = Date()
            var announced: Announcement?
            if !message.head.isEmpty {
                guard let head = ObjectID(hex: hexString(message.head)) else { s.counters.malformed += 1; return nil }
                announced = Announcement(head: head, device: sender, sentAt: message.sentAt, source: message.kind == .pushed ? .pushed : .seen)
            }
            switch message.kind {
            case .hello: return .hello(to: from, announced: announced)
            case .pushed, .head: return announced.map { .fetch($0) }
            }
        }
    }

    /// The `xmpp` object of `shadowsync status --json`.
    func statusReply() -> DaemonStatusReply.Doorbell {
        let n = notifier.status
        let s = shared.state.withLock { $0 }
        let c = s.counters
        return DaemonStatusReply.Doorbell(
            state: n.state, connected: n.connected, peersOnline: n.peersOnline, connects: n.connects,
            doorbellsSent: n.doorbellsSent, doorbellsReceived: n.doorbellsReceived, accepted: c.accepted, alreadyKnown: c.alreadyKnown,
            rejected: .init(forged: c.forged, replayed: c.replayed, stale: c.stale, otherFolder: c.otherFolder, malformed: c.malformed, own: c.own),
            jid: n.boundJID, lastError: n.lastError, lastSent: n.lastSent.map(isoText), lastReceived: s.lastAccepted.map(isoText),
            reconnectAt: n.reconnectAt.map(isoText))
    }

    // MARK: Configuration

    /// The notifier's settings from the folder's config; nil when no `xmpp.jid` is set (poll only).
    static func settings(for config: FolderConfig) throws(ShadowError) -> XMPPSettings? {
        guard let jid = config.value(.xmppJID), !jid.isEmpty else { return nil }
        guard let passwordFile = config.path(.xmppPasswordFile) else {
            throw ShadowError(.invalidArgument, "xmpp.jid is set but xmpp.password-file is not",
                              advice: "put the account's password in a file (chmod 600) and set xmpp.password-file")
        }
        let password = try readSecretFile(passwordFile, key: .xmppPasswordFile)
        var host: String?, port: UInt16 = 0
        if let server = config.value(.xmppServer), !server.isEmpty {
            (host, port) = try parseServer(server)
        }
        let trust: XMPPTrust
        if let fp = config.value(.xmppFingerprint), !fp.isEmpty { trust = .pinnedSHA256(fp) }
        else if let ca = config.path(.xmppCAFile) { trust = .caFile(ca.description) }
        else { trust = .system }
        var addressing = XMPPAddressing.sharedAccount
        var roomPassword: XMPPSecret?
        if let room = config.value(.xmppRoom), !room.isEmpty {
            addressing = .room(room)
            if let f = config.path(.xmppRoomPasswordFile) { roomPassword = try readSecretFile(f, key: .xmppRoomPasswordFile) }
        } else if let peers = config.value(.xmppPeers), !peers.isEmpty {
            addressing = .peers(peers.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init))
        }
        let settings = XMPPSettings(account: jid, password: password, host: host, port: port, trust: trust,
                                    addressing: addressing, roomPassword: roomPassword)
        try settings.validate()
        return settings
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`; the default port is RFC 6120's client port.
    static func parseServer(_ text: String) throws(ShadowError) -> (String, UInt16) {
        let xmppPort = 5222
        do throws(ShadowError) {
            guard !text.contains(where: \.isWhitespace) else { throw ShadowError(.invalidArgument, "a space in the host") }
            if text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 { return (String(text.dropFirst().dropLast()), UInt16(xmppPort)) }
            let (host, port) = try HostAndPort.parse(text, defaultPort: xmppPort)
            return (host, UInt16(port))
        } catch {
            throw ShadowError(.invalidArgument, "xmpp.server '\(text)' is not host, host:port or [v6]:port (port 1 to 65535)")
        }
    }

    /// A password file's contents as an XMPPSecret; the intermediate copy is wiped.
    private static func readSecretFile(_ file: BytePath, key: ConfigKey) throws(ShadowError) -> XMPPSecret {
        try SecretFiles.requirePrivate(file, key.rawValue)
        var bytes: [UInt8]
        do { bytes = try FileSystem.readFile(file, limit: 4096) } catch {
            throw ShadowError(error.code, "\(key): \(error.message)", advice: error.advice)
        }
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        return XMPPSecret(bytes)
    }
}

/// How a one-shot command's doorbell went (`sync` or `join` pushed without a daemon): printed, never an
/// error, because polling still brings the change to the other machines.
public enum OneShotRing: Sendable, Equatable, CustomStringConvertible {
    case rang(peers: Int)
    case nobodyOnline
    case failed(String)

    public var description: String {
        switch self {
        case .rang(let peers): "doorbell: rang \(peers) other agent(s)"
        case .nobodyOnline: "doorbell: no other agent online (they fetch when they connect)"
        case .failed(let why): "doorbell: not rung (\(why)); the other machines find the change at their next poll"
        }
    }
}

extension DoorbellService {
    /// The whole one-shot ring, login to logout, at most this long: a `sync` should not hang on a slow server.
    static let oneShotSeconds = 10.0
    /// After the session is up and the broadcast had its presence grace, this long for the send to show.
    static let oneShotSettleSeconds = 1.5
    /// Time for a sent doorbell to leave before the stream is closed.
    static let oneShotFlushSeconds = 0.2

    /// A one-shot command pushed `head`: log in to the folder's XMPP account, ring the other agents once,
    /// log out. Nil when the folder has no doorbell configured.
    static func ringOnce(_ config: FolderConfig, keys: ReadKeys?, device: [UInt8], head: ObjectID) -> OneShotRing? {
        let settings: XMPPSettings?
        do { settings = try DoorbellService.settings(for: config) } catch { return .failed(error.message) }
        guard let settings else { return nil }
        guard let keys else { return .failed("this machine's key cannot seal a doorbell") }
        let bell = DoorbellService(settings: settings, keys: keys, device: device, handle: { _ in }, log: { _ in })
        bell.start()
        defer { bell.stop() }
        bell.pushed(head)
        let start = monotonicSeconds()
        var connectedAt: Double?
        while monotonicSeconds() - start < oneShotSeconds {
            let s = bell.notifier.status
            if s.doorbellsSent > 0 {
                pause(seconds: oneShotFlushSeconds)
                return .rang(peers: s.doorbellsSent)
            }
            if s.connected { connectedAt = connectedAt ?? monotonicSeconds() }
            else if s.state == "offline", let e = s.lastError { return .failed(e) }
            if let connectedAt, monotonicSeconds() - connectedAt > XMPPNotifier.presenceGraceSeconds + oneShotSettleSeconds {
                return .nobodyOnline
            }
            pause(seconds: 0.05)
        }
        return .failed("no XMPP session within \(Int(oneShotSeconds)) s")
    }
}
