import ShadowCrypto
import Testing
@testable import ShadowUI

/// The checks every request of the web UI passes: token, Host (DNS rebinding), cross-site refusal.
@Suite struct AccessPolicyTests {
    let token = AccessToken()
    var policy: AccessPolicy { AccessPolicy(token: token, port: 8384) }

    func request(_ method: String = "GET", _ path: String = "/api/folders", host: String? = "127.0.0.1:8384",
                 origin: String? = nil, site: String? = nil, type: String? = nil, header: String? = nil,
                 cookie: String? = nil, query: String? = nil) -> AccessPolicy.Request {
        AccessPolicy.Request(method: method, path: path, queryToken: query, host: host, origin: origin, fetchSite: site,
                             contentType: type, headerToken: header, cookieToken: cookie)
    }

    @Test func theAPINeedsTheToken() {
        #expect(policy.decide(request()) == .refuse(status: 401, reason: "no valid token: open the address 'shadowsync ui' printed"))
        #expect(policy.decide(request(header: token.text)) == .allow)
        #expect(policy.decide(request(cookie: token.text)) == .allow)
        #expect(policy.decide(request(header: AccessToken().text)) != .allow)
        #expect(policy.decide(request(cookie: String(token.text.dropLast()))) != .allow)
        #expect(policy.decide(request(header: "")) != .allow)
    }

    @Test func theFirstLoadTradesTheTokenForACookie() {
        #expect(policy.decide(request("GET", "/", query: token.text)) == .setCookieAndRedirect)
        if case .refuse(let status, _) = policy.decide(request("GET", "/", query: AccessToken().text)) { #expect(status == 403) } else { Issue.record("wrong token accepted") }
        // The page itself reveals nothing and loads without the token; its data does not.
        #expect(policy.decide(request("GET", "/")) == .allow)
        #expect(policy.decide(request("GET", "/app.js")) == .allow)
        #expect(policy.decide(request("GET", "/api/folders/x/history")) != .allow)
    }

    @Test func aForeignHostIsRefusedEvenWithTheToken() {
        for host in ["evil.example:8384", "127.0.0.1:9999", "localhost", "127.0.0.1", "", "127.0.0.1:8384.evil.example"] {
            guard case .refuse(let status, _) = policy.decide(request(host: host, header: token.text)) else {
                Issue.record("Host \(host) accepted"); continue
            }
            #expect(status == 403)
        }
        #expect(policy.decide(request(host: nil, header: token.text)) != .allow)
        for host in ["127.0.0.1:8384", "localhost:8384", "LOCALHOST:8384", "[::1]:8384"] {
            #expect(policy.decide(request(host: host, header: token.text)) == .allow)
        }
    }

    @Test func theAddressItListensOnIsItsOwn() {
        // --listen 127.0.0.2:8384 prints http://127.0.0.2:8384/: the browser sends that as Host and Origin.
        let bound = AccessPolicy(token: token, port: 8384, listenHost: "127.0.0.2")
        #expect(bound.decide(request(host: "127.0.0.2:8384", header: token.text)) == .allow)
        #expect(bound.decide(request("POST", "/api/folders/x/pause", host: "127.0.0.2:8384", origin: "http://127.0.0.2:8384",
                                     type: "application/json", header: token.text)) == .allow)
        #expect(bound.decide(request(host: "127.0.0.1:8384", header: token.text)) == .allow)
        for host in ["127.0.0.2:9999", "127.0.0.3:8384", "127.0.0.2"] {
            #expect(bound.decide(request(host: host, header: token.text)) != .allow, "\(host)")
        }
        #expect(policy.decide(request(host: "127.0.0.2:8384", header: token.text)) != .allow)
        let v6 = AccessPolicy(token: token, port: 8384, listenHost: "::1")
        #expect(v6.allowedHosts == policy.allowedHosts)
    }

    @Test func changesMustComeFromThePageItself() {
        let ok = request("POST", "/api/folders/x/pause", origin: "http://127.0.0.1:8384", site: "same-origin", type: "application/json", cookie: token.text)
        #expect(policy.decide(ok) == .allow)
        var evil = ok; evil.origin = "http://evil.example"
        #expect(policy.decide(evil) != .allow)
        var otherPort = ok; otherPort.origin = "http://127.0.0.1:9999"
        #expect(policy.decide(otherPort) != .allow)
        var noOrigin = ok; noOrigin.origin = nil
        #expect(policy.decide(noOrigin) != .allow)
        var crossSite = ok; crossSite.fetchSite = "cross-site"
        #expect(policy.decide(crossSite) != .allow)
        var sameSite = ok; sameSite.fetchSite = "same-site"
        #expect(policy.decide(sameSite) != .allow)
        var form = ok; form.contentType = "text/plain"
        #expect(policy.decide(form) != .allow)
        var put = ok; put.method = "PUT"
        #expect(policy.decide(put) == .refuse(status: 405, reason: "only GET and POST are used"))
        // A script (curl) sends no Sec-Fetch-Site; it still names the origin and the token.
        var script = ok; script.fetchSite = nil; script.cookieToken = nil; script.headerToken = token.text
        #expect(policy.decide(script) == .allow)
    }

    @Test func aCrossSiteReadIsRefused() {
        #expect(policy.decide(request(site: "cross-site", cookie: token.text)) != .allow)
        #expect(policy.decide(request(site: "same-origin", cookie: token.text)) == .allow)
    }

    @Test func tokensAreLongRandomAndCompareExactly() {
        let a = AccessToken(), b = AccessToken()
        #expect(a.text.count == 2 * AccessToken.randomBytes)
        #expect(a.text != b.text)
        #expect(a.matches(a.text) && !a.matches(b.text) && !a.matches(a.text + "0") && !a.matches(""))
    }

    @Test func onlyLoopbackIsListenedOn() throws {
        #expect(try ListenAddress.parse("127.0.0.1:0") == ("127.0.0.1", 0))
        #expect(try ListenAddress.parse("[::1]:8384") == ("::1", 8384))
        #expect(try ListenAddress.parse("localhost:8384") == ("127.0.0.1", 8384))
        for bad in ["0.0.0.0:8384", "192.168.1.2:80", "[::]:8384", "example.org:80", "127.0.0.1", "127.0.0.1:70000", "127.evil.example:80", "127.0.0.1.5:80", "127.1:80"] {
            #expect(throws: (any Error).self, "\(bad)") { try ListenAddress.parse(bad) }
        }
    }
}
