import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
internal import CStrophe
import ShadowCore

// The only file that touches libstrophe handles directly. libstrophe is not thread-safe: every object
// here is created, used and released on the notifier's thread (Notifier.swift).

/// libstrophe's functions (CStrophe.h), loaded by the first `StropheContext`.
var strophe: shadow_strophe { shadow_strophe_api.pointee }

/// Loads libstrophe, once per process (a global's initialiser runs once, whichever thread asks first):
/// nil, or the loader's reason it could not.
private let stropheLoadFailure: String? = {
    var message = [CChar](repeating: 0, count: 512)
    guard shadow_strophe_load(&message, message.count) != 0 else { return nil }
    return String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()

/// A new stanza or connection: libstrophe returns NULL only when malloc fails, where Swift's own
/// allocations stop the process too (as the implicitly unwrapped return of a linked libstrophe did).
private func allocated(_ pointer: OpaquePointer?) -> OpaquePointer {
    guard let pointer else { preconditionFailure("libstrophe is out of memory") }
    return pointer
}

/// Keeps the last warning or error libstrophe logged: its log is the only place some failures are named.
final class StropheLogSink: Sendable {
    let lastProblem = Mutex<String?>(nil)
    let socketError = Mutex<Int32?>(nil)
}

private func stropheLog(_ userdata: UnsafeMutableRawPointer?, _ level: xmpp_log_level_t,
                        _ area: UnsafePointer<CChar>?, _ msg: UnsafePointer<CChar>?) {
    guard let userdata, let msg else { return }
    let sink = Unmanaged<StropheLogSink>.fromOpaque(userdata).takeUnretainedValue()
    let text = String(cString: msg)
    // libstrophe 0.12 reports a refused or timed-out TCP connect only here, at debug level, and hands
    // the connection handler error 0.
    let socketFailure = "connection failed, error "
    if text.hasPrefix(socketFailure), let code = Int32(text.dropFirst(socketFailure.count)) {
        sink.socketError.withLock { $0 = code }
    }
    guard level.rawValue >= XMPP_LEVEL_WARN.rawValue else { return }
    let where_ = area.map { String(cString: $0) } ?? ""
    sink.lastProblem.withLock { $0 = "\(where_): \(text)" }
}

/// The certificate decision, per context: libstrophe's certfail handler gets no userdata and in 0.12.2
/// xmpp_tlscert_get_conn() returns NULL (a libstrophe bug), so the handler finds its context by address.
struct CertPolicy: Sendable {
    var pin: String?
    var failure: String?
}
let certPolicies = Mutex<[UInt: CertPolicy]>([:])

private func certFailed(_ cert: OpaquePointer?, _ errormsg: UnsafePointer<CChar>?) -> Int32 {
    guard let cert else { return 0 }
    let key = UInt(bitPattern: strophe.xmpp_tlscert_get_ctx(cert).map { UnsafeRawPointer($0) })
    let fingerprint = strophe.xmpp_tlscert_get_string(cert, XMPP_CERT_FINGERPRINT_SHA256).map { String(cString: $0) } ?? ""
    let subject = strophe.xmpp_tlscert_get_string(cert, XMPP_CERT_SUBJECT).map { String(cString: $0) } ?? "?"
    let why = errormsg.map { String(cString: $0) } ?? "not trusted"
    return certPolicies.withLock { policies -> Int32 in
        if let pin = policies[key]?.pin, !fingerprint.isEmpty, XMPPTrust.normalisedFingerprint(fingerprint) == pin { return 1 }
        let colons = stride(from: 0, to: fingerprint.count, by: 2).map { i -> String in
            let a = fingerprint.index(fingerprint.startIndex, offsetBy: i)
            return String(fingerprint[a..<fingerprint.index(a, offsetBy: 2)])
        }.joined(separator: ":")
        policies[key, default: CertPolicy()].failure =
            "the XMPP server's certificate is not trusted (\(why); subject \(subject); SHA-256 \(colons))"
        return 0
    }
}

/// Owns one xmpp_ctx_t (and libstrophe's global init, which is reference-counted).
final class StropheContext: @unchecked Sendable {
    let raw: OpaquePointer
    let sink = StropheLogSink()
    private let logger: UnsafeMutablePointer<xmpp_log_t>

    init(pin: String?) throws(ShadowError) {
        if let failure = stropheLoadFailure {
            throw ShadowError(.notFound, "cannot load libstrophe, which XMPP notifications need: \(failure)",
                              advice: "install it (Debian: apt-get install libstrophe0), or remove the folder's XMPP settings")
        }
        logger = .allocate(capacity: 1)
        logger.initialize(to: xmpp_log_t(handler: stropheLog, userdata: Unmanaged.passUnretained(sink).toOpaque()))
        strophe.xmpp_initialize()
        guard let context = strophe.xmpp_ctx_new(nil, logger) else {
            strophe.xmpp_shutdown()
            logger.deinitialize(count: 1)
            logger.deallocate()
            throw ShadowError(.ioFailure, "libstrophe could not make an XMPP context (out of memory)", advice: "close some programs and try again")
        }
        raw = context
        certPolicies.withLock { $0[key] = CertPolicy(pin: pin) }
    }

    private var key: UInt { UInt(bitPattern: UnsafeRawPointer(raw)) }

    /// What the certificate handler refused last, cleared by reading.
    func takeCertFailure() -> String? {
        certPolicies.withLock { p in defer { p[key]?.failure = nil }; return p[key]?.failure }
    }

    func takeLogProblem() -> String? { sink.lastProblem.withLock { p in defer { p = nil }; return p } }
    func takeSocketError() -> Int32? { sink.socketError.withLock { e in defer { e = nil }; return e } }

    /// Waits up to `milliseconds` for network events and runs the handlers they trigger.
    func runOnce(milliseconds: UInt) { strophe.xmpp_run_once(raw, milliseconds) }

    deinit {
        certPolicies.withLock { _ = $0.removeValue(forKey: key) }
        strophe.xmpp_ctx_free(raw)
        logger.deinitialize(count: 1)
        logger.deallocate()
        strophe.xmpp_shutdown()
    }
}

/// Owns one stanza reference; children added to it take their own reference.
final class Stanza {
    let raw: OpaquePointer

    init(_ context: StropheContext, name: String, namespace: String? = nil, attributes: [(String, String)] = []) {
        raw = allocated(strophe.xmpp_stanza_new(context.raw))
        _ = strophe.xmpp_stanza_set_name(raw, name)
        if let namespace { _ = strophe.xmpp_stanza_set_ns(raw, namespace) }
        for (k, v) in attributes { _ = strophe.xmpp_stanza_set_attribute(raw, k, v) }
    }

    /// A text node.
    init(_ context: StropheContext, text: String) {
        raw = allocated(strophe.xmpp_stanza_new(context.raw))
        _ = strophe.xmpp_stanza_set_text(raw, text)
    }

    @discardableResult
    func add(_ child: Stanza) -> Stanza {
        _ = strophe.xmpp_stanza_add_child(raw, child.raw)
        return self
    }

    deinit { _ = strophe.xmpp_stanza_release(raw) }
}

/// Owns a stanza parsed from XML text by libstrophe's own parser (the one stanzas off the wire go
/// through): how the fuzz tests reach the notifier's message parser without a server.
final class ParsedStanza {
    let raw: OpaquePointer

    init?(_ context: StropheContext, xml: String) {
        guard let s = strophe.xmpp_stanza_new_from_string(context.raw, xml) else { return nil }
        raw = s
    }

    var view: ReceivedStanza { ReceivedStanza(raw: raw) }

    deinit { _ = strophe.xmpp_stanza_release(raw) }
}

/// A borrowed view of a stanza libstrophe passed to a handler: valid only during the handler.
struct ReceivedStanza {
    let raw: OpaquePointer

    var name: String? { strophe.xmpp_stanza_get_name(raw).map { String(cString: $0) } }
    var from: String? { strophe.xmpp_stanza_get_from(raw).map { String(cString: $0) } }
    var type: String? { strophe.xmpp_stanza_get_type(raw).map { String(cString: $0) } }
    var id: String? { strophe.xmpp_stanza_get_id(raw).map { String(cString: $0) } }
    func attribute(_ name: String) -> String? { strophe.xmpp_stanza_get_attribute(raw, name).map { String(cString: $0) } }

    func child(_ name: String, namespace: String) -> ReceivedStanza? {
        strophe.xmpp_stanza_get_child_by_name_and_ns(raw, name, namespace).map(ReceivedStanza.init)
    }

    func child(named name: String) -> ReceivedStanza? {
        strophe.xmpp_stanza_get_child_by_name(raw, name).map(ReceivedStanza.init)
    }

    /// The concatenated text content, or nil when longer than `limit` bytes (never copied then).
    func text(limit: Int) -> String? {
        var total = 0
        var node = strophe.xmpp_stanza_get_children(raw)
        var out = ""
        while let n = node {
            if strophe.xmpp_stanza_is_text(n) != 0, let t = strophe.xmpp_stanza_get_text_ptr(n) {
                let s = String(cString: t)
                total += s.utf8.count
                if total > limit { return nil }
                out += s
            }
            node = strophe.xmpp_stanza_get_next(n)
        }
        return out
    }
}

/// Called for every connection event with the owner registered at `connect`.
protocol StropheConnectionDelegate: AnyObject {
    func connection(event: StropheConnection.Event, error: Int32)
    func received(_ stanza: ReceivedStanza)
}

/// Owns one xmpp_conn_t: a single login attempt and, if it succeeds, the session.
final class StropheConnection {
    /// `failed`: the TCP connection was never made; `disconnected`: a session or handshake ended.
    enum Event { case connected, disconnected, failed }

    let raw: OpaquePointer
    private let context: StropheContext
    /// Weak by design: the delegate owns this connection.
    weak var delegate: StropheConnectionDelegate?

    init(context: StropheContext, jid: String, password: XMPPSecret, trust: XMPPTrust) {
        self.context = context
        raw = allocated(strophe.xmpp_conn_new(context.raw))
        strophe.xmpp_conn_set_jid(raw, jid)
        password.withCString { strophe.xmpp_conn_set_pass(raw, $0) }
        // TLS is mandatory; no legacy auth. Stream management is off: after a reconnect the agent fetches
        // anyway, so resuming the old stream would add state without saving a doorbell that matters.
        _ = strophe.xmpp_conn_set_flags(raw, Int(XMPP_CONN_FLAG_MANDATORY_TLS | XMPP_CONN_FLAG_DISABLE_SM))
        if case .caFile(let path) = trust { strophe.xmpp_conn_set_cafile(raw, path) }
        strophe.xmpp_conn_set_certfail_handler(raw, certFailed)
        // TCP keepalive notices a dead peer even when nothing is sent (libstrophe's own defaults).
        strophe.xmpp_conn_set_sockopt_callback(raw, strophe.xmpp_sockopt_cb_keepalive)
    }

    deinit { _ = strophe.xmpp_conn_release(raw) }

    var isSecured: Bool { strophe.xmpp_conn_is_secured(raw) != 0 }
    var boundJID: String? { strophe.xmpp_conn_get_bound_jid(raw).map { String(cString: $0) } }

    /// Starts connecting; false when it could not even start (events follow only on true).
    func connect(host: String?, port: UInt16) -> Bool {
        let me = Unmanaged.passUnretained(self).toOpaque()
        return strophe.xmpp_connect_client(raw, host, port, { _, event, error, _, userdata in
            guard let userdata else { return }
            let me = Unmanaged<StropheConnection>.fromOpaque(userdata).takeUnretainedValue()
            if event == XMPP_CONN_CONNECT {
                // Every stanza of the session goes to the delegate; filtering happens there.
                strophe.xmpp_handler_add(me.raw, { _, stanza, userdata in
                    guard let userdata, let stanza else { return 1 }
                    let me = Unmanaged<StropheConnection>.fromOpaque(userdata).takeUnretainedValue()
                    me.delegate?.received(ReceivedStanza(raw: stanza))
                    return 1
                }, nil, nil, nil, userdata)
                me.delegate?.connection(event: .connected, error: error)
            } else if event == XMPP_CONN_DISCONNECT {
                me.delegate?.connection(event: .disconnected, error: error)
            } else if event == XMPP_CONN_FAIL {
                me.delegate?.connection(event: .failed, error: error)
            }
        }, me) == 0
    }

    func send(_ stanza: Stanza) { strophe.xmpp_send(raw, stanza.raw) }
    func disconnect() { strophe.xmpp_disconnect(raw) }
}
