public import ShadowCrypto

/// Who may use the UI: a browser on this machine that was given the token. Every request is judged
/// here before any route runs, so the checks stay in one place and are unit-tested without a server.
public struct AccessPolicy: Sendable {
    public let token: AccessToken
    /// The `Host` values a browser sends for this server (127.0.0.1:PORT, localhost:PORT, [::1]:PORT, and
    /// the address it listens on): any other name is a DNS-rebinding page that resolved its own name to loopback.
    public let allowedHosts: Set<String>
    /// The cookie that carries the token after the first load: named after the port, since cookies are
    /// not kept apart by port and two UIs may run side by side.
    public let cookieName: String

    /// `listenHost` is the loopback address the server is bound to (such as 127.0.0.2 or ::1): the address
    /// it prints names it, so a browser sends it as Host.
    public init(token: AccessToken, port: Int, listenHost: String? = nil) {
        self.token = token
        var hosts: Set<String> = ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"]
        if let listenHost { hosts.insert((listenHost.contains(":") ? "[\(listenHost)]" : listenHost).lowercased() + ":\(port)") }
        allowedHosts = hosts
        cookieName = "shadowsync_ui_\(port)"
    }

    /// What a request carries that the checks look at.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// The `token` query parameter of the first load.
        public var queryToken: String?
        public var host: String?
        public var origin: String?
        public var fetchSite: String?
        public var contentType: String?
        /// `X-ShadowSync-Token`, or `Authorization: Bearer …`.
        public var headerToken: String?
        public var cookieToken: String?

        public init(method: String, path: String, queryToken: String? = nil, host: String?, origin: String? = nil,
                    fetchSite: String? = nil, contentType: String? = nil, headerToken: String? = nil, cookieToken: String? = nil) {
            self.method = method
            self.path = path
            self.queryToken = queryToken
            self.host = host
            self.origin = origin
            self.fetchSite = fetchSite
            self.contentType = contentType
            self.headerToken = headerToken
            self.cookieToken = cookieToken
        }
    }

    public enum Decision: Equatable, Sendable {
        case allow
        /// The first load with the right token: set the cookie and send the browser to `/`, so the
        /// token leaves the address bar.
        case setCookieAndRedirect
        case refuse(status: Int, reason: String)
    }

    /// Paths that reveal nothing: the page and its script and style, which ask `/api/` for everything.
    public static let publicPaths: Set<String> = ["/", "/app.js", "/app.css"]

    public func decide(_ r: Request) -> Decision {
        guard let host = r.host?.lowercased(), allowedHosts.contains(host) else {
            return .refuse(status: 403, reason: "this server answers only to its own address, 127.0.0.1, localhost and [::1] on its own port (foreign Host header)")
        }
        let changes = !(r.method == "GET" || r.method == "HEAD")
        if changes && r.method != "POST" { return .refuse(status: 405, reason: "only GET and POST are used") }
        // A page from another site may not act here, nor read: browsers say where a request comes from.
        if let site = r.fetchSite?.lowercased(), site != "same-origin", site != "none" {
            return .refuse(status: 403, reason: "cross-site request refused")
        }
        if changes {
            guard let origin = r.origin, allowedHosts.contains(where: { "http://\($0)" == origin.lowercased() }) else {
                return .refuse(status: 403, reason: "a change needs an Origin header naming this server (cross-site request refused)")
            }
            // A form can post text/plain across sites without asking first; JSON needs a preflight.
            guard let type = r.contentType?.lowercased(), type.hasPrefix("application/json") else {
                return .refuse(status: 415, reason: "a change is sent as application/json")
            }
        }
        if r.path == "/", let presented = r.queryToken {
            return token.matches(presented) ? .setCookieAndRedirect : .refuse(status: 403, reason: "wrong token: open the address 'shadowsync ui' printed")
        }
        if Self.publicPaths.contains(r.path) && !changes { return .allow }
        let presented = r.headerToken ?? r.cookieToken
        guard let presented, token.matches(presented) else {
            return .refuse(status: 401, reason: "no valid token: open the address 'shadowsync ui' printed")
        }
        return .allow
    }
}
