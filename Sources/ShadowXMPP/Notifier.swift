import Dispatch
import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
public import ShadowCore

/// The XMPP doorbell's transport: one thread runs libstrophe's event loop for one account; other threads
/// hand it doorbells through a queue. It keeps the connection up (backoff with jitter, pings, suspend
/// detection), tracks which peers are online, sends each doorbell to every online peer by full JID, and
/// reports received doorbell elements. It never sees keys: payloads arrive sealed and leave sealed.
public final class XMPPNotifier: Sendable {
    private let core: NotifierCore

    public init(settings: XMPPSettings, onEvent: @escaping @Sendable (XMPPEvent) -> Void) {
        core = NotifierCore(settings: settings, onEvent: onEvent)
    }

    public func start() {
        guard !core.started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let core = self.core
        if !startDetachedThread(name: "shadowsync-xmpp", { core.runLoop() }) {
            // Syncing goes on without the doorbell (polling finds remote changes); status says why.
            core.status.withLock { $0.state = "stopped"; $0.lastError = "could not start the XMPP thread (out of threads or memory)" }
            core.started.store(false, ordering: .releasing)
        }
    }

    /// Says goodbye to the server (unavailable presence, closed stream) and waits for the thread to end.
    public func stop() {
        guard core.started.load(ordering: .acquiring), !core.stopFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        core.finished.wait()
    }

    /// Sends a doorbell to every online peer, or only to `recipient` (a full JID a doorbell came from).
    /// While offline only the latest broadcast per folder tag is kept; replies to one peer are dropped.
    public func ring(folderTag: String, payload: String, to recipient: String? = nil) {
        core.inbox.withLock { $0.append(Outgoing(tag: folderTag, payload: payload, recipient: recipient)) }
    }

    public var status: XMPPStatus { core.status.withLock { $0 } }

    /// `doctor`: logs in once, waits for the session (or the failure) and logs out. Runs on the caller's
    /// thread with its own libstrophe context, so it never touches a running agent's connection.
    public static func probe(_ settings: XMPPSettings, timeoutSeconds: Double) -> Result<String, ShadowError> {
        let core = NotifierCore(settings: settings, onEvent: { _ in })
        return core.probe(timeoutSeconds: timeoutSeconds)
    }

    /// How long a doorbell rung before login waits for the peers' presence after it.
    public static var presenceGraceSeconds: Double { NotifierCore.presenceGraceSeconds }

    /// The XML namespace of the doorbell element (Docs/FORMAT.md, "Doorbell").
    public static let namespace = "urn:x-shadowsync:bell:1"
}

struct Outgoing: Sendable {
    var tag: String
    var payload: String
    var recipient: String?
}

/// Everything below runs on the notifier's thread, except the members marked otherwise.
final class NotifierCore: StropheConnectionDelegate, @unchecked Sendable {
    // MARK: Constants
    /// How long one loop turn waits for network events: a doorbell handed over from another thread waits
    /// at most this long. 50 ms costs 0.12 % of a core when idle (1 ms: 1.5 %, 10 ms: 0.37 %).
    static let pollMilliseconds: UInt = 50
    /// Reconnect backoff: 1 s doubling to 60 s, times 1–1.25 jitter (SparkleShare retries 2 → 64 s).
    /// Lower than the git backoff's 5 min cap: a reconnect costs the server one login.
    static let firstRetrySeconds = 1.0, maxRetrySeconds = 60.0
    /// XEP-0199 ping to the server this often; no answer by the next ping means the link is dead.
    /// (dvcs-autosync pinged every 30 s; NAT mappings commonly last 60 s or more.)
    static let pingIntervalSeconds = 45.0
    /// A jump of CLOCK_BOOTTIME over CLOCK_MONOTONIC this large means the machine was suspended: its TCP
    /// session is probably gone, and whatever happened meanwhile needs a fetch.
    static let suspendJumpSeconds = 5.0
    /// After login the server sends the peers' presence at once; a doorbell kept while offline waits for
    /// it (or this long, then goes to whoever is known: in a room, the room).
    static let presenceGraceSeconds = 1.0
    /// A doorbell payload is 144 base64 characters; anything much larger is not one.
    static let maxPayloadCharacters = 1024

    // MARK: Shared with other threads
    let inbox = Mutex<[Outgoing]>([])
    let started = Atomic<Bool>(false)
    let stopFlag = Atomic<Bool>(false)
    let finished = DispatchSemaphore(value: 0)
    let status = Mutex(XMPPStatus())

    // MARK: Notifier thread only
    private let settings: XMPPSettings
    private let onEvent: @Sendable (XMPPEvent) -> Void
    private let resource = JID.randomResource()
    private var context: StropheContext?
    private var connection: StropheConnection?
    private var online = false
    private var disconnectedAt: Double?
    private var failures = 0
    private var retryAt = 0.0
    private var peers = Set<String>()
    private var waitingBroadcasts: [String: Outgoing] = [:]
    private var lastPingAt = 0.0
    private var pingOutstanding: String?
    private var suspendOffset = NotifierCore.bootOffset()
    private var reason: String?
    /// When to send what was rung while offline (set at each connect).
    private var flushWaitingAt: Double?
    /// Set once the loop ends: the goodbye disconnect is not a failure.
    private var stopping = false

    init(settings: XMPPSettings, onEvent: @escaping @Sendable (XMPPEvent) -> Void) {
        self.settings = settings
        self.onEvent = onEvent
    }

    private var fullJID: String { settings.account + "/" + resource }
    private var allowedBare: Set<String> {
        switch settings.addressing {
        case .sharedAccount: return [settings.account.lowercased()]
        case .peers(let list): return Set(([settings.account] + list).map { $0.lowercased() })
        case .room(let room): return [room.lowercased()]
        }
    }

    private func pinnedFingerprint() -> String? {
        if case .pinnedSHA256(let fp) = settings.trust { return XMPPTrust.normalisedFingerprint(fp) }
        return nil
    }

    // MARK: The loop

    func runLoop() {
        let context: StropheContext
        do throws(ShadowError) {
            context = try StropheContext(pin: pinnedFingerprint())
        } catch {
            status.withLock { $0.state = "stopped"; $0.lastError = error.description }
            finished.signal()
            return
        }
        self.context = context
        status.withLock { $0.state = "connecting"; $0.boundJID = fullJID }
        while !stopFlag.load(ordering: .acquiring) {
            let now = monotonicSeconds()
            drainInbox(context)
            if connection == nil && now >= retryAt { connect(context) }
            if disconnectedAt != nil { releaseConnection() }
            checkSuspend()
            if online { keepAlive(context, now: now) }
            if online, let at = flushWaitingAt, now >= at || !peers.isEmpty {
                flushWaitingAt = nil
                let waiting = waitingBroadcasts.values
                waitingBroadcasts.removeAll()
                inbox.withLock { $0.insert(contentsOf: waiting, at: 0) }
            }
            context.runOnce(milliseconds: Self.pollMilliseconds)
        }
        stopping = true
        if let c = connection {
            if online {
                c.send(Stanza(context, name: "presence", attributes: [("type", "unavailable")]))
                c.disconnect()
                let deadline = monotonicSeconds() + 1
                while disconnectedAt == nil && monotonicSeconds() < deadline { context.runOnce(milliseconds: 10) }
            }
            connection = nil
        }
        status.withLock { $0.state = "stopped"; $0.connected = false }
        self.context = nil
        finished.signal()
    }

    private func releaseConnection() {
        // Never inside the connection's own callback: the loop releases it on the next turn.
        connection?.delegate = nil
        connection = nil
        disconnectedAt = nil
    }

    private func connect(_ context: StropheContext) {
        let c = StropheConnection(context: context, jid: fullJID, password: settings.password, trust: settings.trust)
        c.delegate = self
        connection = c
        _ = context.takeCertFailure()
        _ = context.takeLogProblem()
        _ = context.takeSocketError()
        status.withLock { $0.state = "connecting" }
        if !c.connect(host: settings.host, port: settings.port) {
            connection = nil
            let where_ = settings.host.map { "\($0):\(settings.port)" } ?? JID.domain(settings.account)
            failed("cannot start connecting to \(where_)\(context.takeLogProblem().map { " (\($0))" } ?? "")")
        }
    }

    private func failed(_ why: String) {
        failures += 1
        let wait = min(Self.maxRetrySeconds, Self.firstRetrySeconds * pow(2, Double(min(failures - 1, 16)))) * Double.random(in: 1.0...1.25)
        retryAt = monotonicSeconds() + wait
        reason = why
        status.withLock {
            $0.state = "offline"
            $0.connected = false
            $0.peersOnline = 0
            $0.lastError = why
            $0.reconnectAt = Date().addingTimeInterval(wait)
        }
        onEvent(.offline(reason: why))
    }

    private func drainInbox(_ context: StropheContext) {
        let work = inbox.withLock { q -> [Outgoing] in defer { q.removeAll() }; return q }
        for item in work {
            if online, let c = connection { send(item, context, c) }
            else if item.recipient == nil { waitingBroadcasts[item.tag] = item }  // the latest only
        }
    }

    private func send(_ item: Outgoing, _ context: StropheContext, _ c: StropheConnection) {
        var sent = 0
        func message(to: String, type: String) -> Stanza {
            let m = Stanza(context, name: "message", attributes: [("to", to), ("type", type), ("id", JID.randomResource())])
            m.add(Stanza(context, name: "bell", namespace: XMPPNotifier.namespace, attributes: [("folder", item.tag)])
                .add(Stanza(context, text: item.payload)))
            // XEP-0334: nothing archives or copies a doorbell; XEP-0280: carbons stay with this resource.
            for hint in ["no-store", "no-permanent-store", "no-copy"] { m.add(Stanza(context, name: hint, namespace: "urn:xmpp:hints")) }
            if type != "groupchat" { m.add(Stanza(context, name: "private", namespace: "urn:xmpp:carbons:2")) }
            return m
        }
        if let to = item.recipient {
            c.send(message(to: to, type: "headline")); sent = 1
        } else if case .room(let room) = settings.addressing {
            c.send(message(to: room, type: "groupchat")); sent = 1
        } else {
            // Directed to each resource: a message to the bare JID may reach only the "most available" one.
            for peer in peers.sorted() { c.send(message(to: peer, type: "headline")); sent += 1 }
        }
        if sent > 0 { status.withLock { $0.lastSent = Date(); $0.doorbellsSent += sent } }
    }

    private func keepAlive(_ context: StropheContext, now: Double) {
        guard now - lastPingAt >= Self.pingIntervalSeconds, let c = connection else { return }
        if pingOutstanding != nil {
            reason = "the XMPP server did not answer a ping within \(Int(Self.pingIntervalSeconds)) s"
            c.disconnect()
            return
        }
        let id = "ping-" + JID.randomResource()
        let iq = Stanza(context, name: "iq", attributes: [("type", "get"), ("id", id), ("to", JID.domain(settings.account))])
        iq.add(Stanza(context, name: "ping", namespace: "urn:xmpp:ping"))
        c.send(iq)
        pingOutstanding = id
        lastPingAt = now
    }

    private func checkSuspend() {
        let offset = Self.bootOffset()
        if offset - suspendOffset > Self.suspendJumpSeconds {
            suspendOffset = offset
            if let c = connection, online {
                reason = "the machine was suspended: reconnecting"
                c.disconnect()
            } else {
                retryAt = 0
            }
        }
    }

    /// CLOCK_BOOTTIME − CLOCK_MONOTONIC: grows only while the machine sleeps.
    static func bootOffset() -> Double {
        var boot = timespec(), mono = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return Double(boot.tv_sec - mono.tv_sec) + Double(boot.tv_nsec - mono.tv_nsec) / 1e9
    }

    // MARK: Connection events

    func connection(event: StropheConnection.Event, error: Int32) {
        guard let context, let c = connection else { return }
        switch event {
        case .connected:
            guard c.isSecured else {  // MANDATORY_TLS should make this impossible; never trust it blindly
                reason = "the XMPP session is not encrypted: refusing it"
                c.disconnect()
                return
            }
            online = true
            failures = 0
            reason = nil
            peers.removeAll()
            pingOutstanding = nil
            lastPingAt = monotonicSeconds()
            // Negative priority: a human client on the same account keeps receiving the chats.
            c.send(Stanza(context, name: "presence").add(Stanza(context, name: "priority").add(Stanza(context, text: "-1"))))
            switch settings.addressing {
            case .sharedAccount: break
            case .peers(let list):
                for peer in list { c.send(Stanza(context, name: "presence", attributes: [("to", peer), ("type", "subscribe")])) }
            case .room(let room):
                let x = Stanza(context, name: "x", namespace: "http://jabber.org/protocol/muc")
                x.add(Stanza(context, name: "history", attributes: [("maxstanzas", "0")]))
                if let pw = settings.roomPassword {
                    _ = pw.withCString { x.add(Stanza(context, name: "password").add(Stanza(context, text: String(cString: $0)))) }
                }
                c.send(Stanza(context, name: "presence", attributes: [("to", room + "/" + resource)]).add(x))
            }
            let bound = c.boundJID ?? fullJID
            status.withLock {
                $0.state = "connected"; $0.connected = true; $0.connects += 1; $0.lastError = nil
                $0.reconnectAt = nil; $0.boundJID = bound; $0.peersOnline = 0
            }
            onEvent(.online)
            // The latest doorbell rung while offline goes out once the peers' presence has arrived.
            flushWaitingAt = monotonicSeconds() + Self.presenceGraceSeconds
        case .disconnected, .failed:
            let wasOnline = online
            online = false
            peers.removeAll()
            disconnectedAt = monotonicSeconds()
            let why = reason ?? context.takeCertFailure().map { $0 + " — set xmpp.ca-file to the CA that signed it, or pin it with xmpp.fingerprint after checking it" }
                ?? explain(error: context.takeSocketError() ?? error, secured: c.isSecured, wasOnline: wasOnline, neverConnected: event == .failed,
                           log: context.takeLogProblem())
            reason = nil
            if !stopping { failed(why) }
        }
    }

    private func explain(error: Int32, secured: Bool, wasOnline: Bool, neverConnected: Bool, log: String?) -> String {
        let where_ = settings.host.map { "\($0):\(settings.port)" } ?? JID.domain(settings.account)
        if wasOnline { return "lost the XMPP connection to \(where_)" + (error != 0 ? " (\(String(cString: strerror(error))))" : "") }
        if neverConnected || error == ECONNREFUSED || error == ETIMEDOUT || error == EHOSTUNREACH || error == ENETUNREACH {
            return "cannot reach the XMPP server \(where_)" + (error != 0 ? " (\(String(cString: strerror(error))))" : "")
        }
        if let log, log.lowercased().contains("auth") || log.lowercased().contains("sasl") {
            return "the XMPP server refused the login of \(settings.account) (\(log)) — check xmpp.password-file and the account"
        }
        if secured && error == 0 {
            return "the XMPP server refused the login of \(settings.account) — check xmpp.password-file and the account"
        }
        if let log, log.lowercased().contains("tls") || log.lowercased().contains("ssl") {
            return "TLS with the XMPP server \(where_) failed (\(log)); ShadowSync never talks XMPP without TLS"
        }
        return "the XMPP connection to \(where_) failed" + (error != 0 ? " (\(String(cString: strerror(error))))" : "") + (log.map { " (\($0))" } ?? "")
    }

    // MARK: Stanzas

    func received(_ stanza: ReceivedStanza) {
        guard let context, let c = connection else { return }
        switch stanza.name {
        case "message": message(stanza)
        case "presence": presence(stanza, context, c)
        case "iq": iq(stanza, context, c)
        default: break
        }
    }

    private func isSelf(_ from: String) -> Bool {
        let f = from.lowercased()
        if case .room(let room) = settings.addressing, f == (room + "/" + resource).lowercased() { return true }
        return f == fullJID.lowercased()
    }

    private func message(_ stanza: ReceivedStanza) {
        guard let bell = Self.bell(in: stanza), !isSelf(bell.from), allowedBare.contains(JID.bare(bell.from).lowercased()) else { return }
        status.withLock { $0.doorbellsReceived += 1 }
        onEvent(.doorbell(from: bell.from, folderTag: bell.folderTag, payload: bell.payload))
    }

    /// The bell a message stanza carries, before any check of who sent it: not an error, a sender, a
    /// `bell` child in our namespace, a folder tag of at most 64 characters and a payload of at most
    /// `maxPayloadCharacters`. Anything else carries no bell. The payload is opened (and authenticated)
    /// by the agent, never here.
    static func bell(in stanza: ReceivedStanza) -> (from: String, folderTag: String, payload: String)? {
        guard stanza.name == "message", stanza.type != "error", let from = stanza.from,
              let bell = stanza.child("bell", namespace: XMPPNotifier.namespace),
              let tag = bell.attribute("folder"), tag.count <= 64,
              let payload = bell.text(limit: maxPayloadCharacters) else { return nil }
        return (from, tag, payload)
    }

    private func presence(_ stanza: ReceivedStanza, _ context: StropheContext, _ c: StropheConnection) {
        guard let from = stanza.from, !isSelf(from) else { return }
        let bare = JID.bare(from).lowercased()
        switch stanza.type {
        case "subscribe":
            // Only listed peers may see this agent's presence; anyone else's request is left unanswered.
            if case .peers(let list) = settings.addressing, list.contains(where: { $0.lowercased() == bare }) {
                c.send(Stanza(context, name: "presence", attributes: [("to", JID.bare(from)), ("type", "subscribed")]))
            }
        case "error":
            if case .room(let room) = settings.addressing, bare == room.lowercased() {
                let condition = stanza.child(named: "error").flatMap { e in
                    ["not-authorized", "registration-required", "forbidden", "item-not-found", "conflict", "not-allowed"]
                        .first { e.child($0, namespace: "urn:ietf:params:xml:ns:xmpp-stanzas") != nil }
                } ?? "error"
                status.withLock { $0.lastError = "cannot join the XMPP room \(room) (\(condition)): check xmpp.room and its membership or password" }
            }
        case nil, "available":
            guard allowedBare.contains(bare), JID.resource(from) != nil else { return }
            peers.insert(from)
        case "unavailable":
            peers.remove(from)
        default:
            return
        }
        let n = peers.count
        status.withLock { $0.peersOnline = n }
    }

    private func iq(_ stanza: ReceivedStanza, _ context: StropheContext, _ c: StropheConnection) {
        let type = stanza.type ?? ""
        if type == "result" || type == "error" {
            if let id = stanza.id, id == pingOutstanding { pingOutstanding = nil }
            return
        }
        guard type == "get" || type == "set", let id = stanza.id else { return }
        var attributes = [("type", "result"), ("id", id)]
        if let from = stanza.from { attributes.append(("to", from)) }
        if type == "get", stanza.child("ping", namespace: "urn:xmpp:ping") != nil {
            c.send(Stanza(context, name: "iq", attributes: attributes))
            return
        }
        // RFC 6120 §8.2.3: an entity must answer every get/set; this one offers nothing.
        attributes[0] = ("type", "error")
        let error = Stanza(context, name: "error", attributes: [("type", "cancel")])
        error.add(Stanza(context, name: "service-unavailable", namespace: "urn:ietf:params:xml:ns:xmpp-stanzas"))
        c.send(Stanza(context, name: "iq", attributes: attributes).add(error))
    }

    // MARK: doctor

    func probe(timeoutSeconds: Double) -> Result<String, ShadowError> {
        let context: StropheContext
        do throws(ShadowError) { context = try StropheContext(pin: pinnedFingerprint()) } catch { return .failure(error) }
        self.context = context
        defer { connection = nil; self.context = nil }
        connect(context)
        let deadline = monotonicSeconds() + timeoutSeconds
        while connection != nil && !online && disconnectedAt == nil && monotonicSeconds() < deadline {
            context.runOnce(milliseconds: Self.pollMilliseconds)
        }
        guard online, let c = connection else {
            let why = reason ?? "no answer from the XMPP server within \(Int(timeoutSeconds)) s"
            return .failure(ShadowError(.remoteUnavailable, why))
        }
        let bound = c.boundJID ?? fullJID
        c.disconnect()
        let end = monotonicSeconds() + 1
        while disconnectedAt == nil && monotonicSeconds() < end { context.runOnce(milliseconds: 10) }
        return .success("logged in as \(JID.bare(bound)) with a random resource, over verified TLS")
    }
}
