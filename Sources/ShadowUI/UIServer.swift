import Dispatch
import Glibc
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import ShadowAgent
import ShadowCore
import ShadowCrypto

/// `shadowsync ui`: the web page and its JSON API (Docs/OPERATIONS.md, "The web UI"), on loopback only.
public enum UIServer {
    /// The largest request body the API accepts (an ignore file is the biggest thing sent).
    static let maximumBodyBytes = 1 << 20

    /// Parses `--listen HOST:PORT` and `--open`, serves until SIGINT or SIGTERM.
    public static func main(arguments: [String]) async -> Int32 {
        var listen = "127.0.0.1:0", open = false
        var rest = arguments[...]
        while let a = rest.popFirst() {
            switch a {
            case "--listen":
                guard let v = rest.popFirst() else { return usage("--listen needs HOST:PORT") }
                listen = v
            case "--open": open = true
            default: return usage("unknown argument \(a)")
            }
        }
        do {
            let (host, port) = try ListenAddress.parse(listen)
            try await serve(host: host, port: port, open: open)
            return 0
        } catch let error as ShadowError {
            printError(error)
            return error.isRetryable ? 3 : 2
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            printError(ShadowError(.alreadyExists, "\(listen) is already in use by another program",
                                   advice: "choose another port with --listen, or 127.0.0.1:0 for any free one"))
            return 2
        } catch {
            writeError("shadowsync ui: \(error)\n")
            return 3
        }
    }

    static func usage(_ message: String) -> Int32 {
        writeError("shadowsync ui: \(message)\nusage: shadowsync ui [--listen 127.0.0.1:PORT] [--open]\n")
        return 2
    }

    static func printError(_ error: ShadowError) {
        writeError("error: \(error.message)\n" + (error.advice.isEmpty ? "" : "  what to do: \(error.advice)\n"))
    }

    static func writeOutput(_ text: String) {
        writeStandardOutput(Array(text.utf8))
    }

    static func writeError(_ text: String) {
        Array(text.utf8).withUnsafeBytes { writeStandardError($0) }
    }

    static func serve(host: String, port: Int, open: Bool) async throws {
        let browser = try FolderBrowser()
        let token = AccessToken()
        let policy = Mutex<AccessPolicy?>(nil)
        let router = Router()
        router.add(middleware: GuardMiddleware(policy: { policy.withLock { $0 } }))
        API.register(on: router, browser: browser)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                policy.withLock { $0 = AccessPolicy(token: token, port: bound, listenHost: host) }
                let shown = host.contains(":") ? "[\(host)]" : host
                let url = "http://\(shown):\(bound)/?token=\(token.text)"
                // Written at once, not buffered: a script reading the address waits for this line.
                writeOutput("ShadowSync UI: \(url)\n(the address holds a secret token: open it in a browser on this machine; Ctrl-C stops the UI)\n")
                if open { Opener.open(url) }
            },
            logger: Logger(label: "shadowsync-ui", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await app.runService()
    }
}

/// `--listen` takes loopback only: the UI changes files and is guarded by a token, not by TLS.
enum ListenAddress {
    static func parse(_ text: String) throws(ShadowError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ShadowError(.invalidArgument, "--listen \(text) is not HOST:PORT", advice: "for example --listen 127.0.0.1:8384 (port 0: any free port)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard loopback, !host.hasPrefix("127.") || (parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }) else {
            throw ShadowError(.invalidArgument, "the UI listens on loopback only, not on \(host)",
                              advice: "use 127.0.0.1 or [::1]; to reach it from another machine, forward the port over SSH (ssh -L)")
        }
        return (host == "localhost" ? "127.0.0.1" : host, port)
    }
}

/// Applies `AccessPolicy` to every request and adds the headers that keep the page to itself.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: @Sendable () -> AccessPolicy?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let policy = policy() else { return API.refusal(503, "starting") }
        let h = request.headers
        let bearer = h[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let decision = policy.decide(AccessPolicy.Request(
            method: request.method.rawValue, path: request.uri.path, queryToken: request.uri.queryParameters.get("token"),
            host: request.head.authority, origin: h[.origin], fetchSite: h[API.secFetchSite], contentType: h[.contentType],
            headerToken: h[API.tokenHeader] ?? bearer, cookieToken: request.cookies[policy.cookieName]?.value))
        var response: Response
        switch decision {
        case .allow:
            do {
                response = try await next(request, context)
            } catch let error as HTTPResponseError {
                response = API.refusal(Int(error.status.code), "\(error.status.reasonPhrase)")
            }
        case .setCookieAndRedirect:
            response = Response(status: .seeOther, headers: [.location: "/"])
            response.setCookie(Cookie(name: policy.cookieName, value: policy.token.text, path: "/", httpOnly: true, sameSite: .strict))
        case .refuse(let status, let reason):
            response = API.refusal(status, reason)
        }
        response.headers[.cacheControl] = "no-store"
        response.headers[.contentSecurityPolicy] = "default-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
        response.headers[API.contentTypeOptions] = "nosniff"
        response.headers[API.referrerPolicy] = "no-referrer"
        return response
    }
}

/// Runs a blocking call (daemon sockets, decryption) off the server's threads.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws(ShadowError) -> T) async throws(ShadowError) -> T {
    let result: Result<T, ShadowError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: Result { () throws(ShadowError) in try body() }) }
    }
    return try result.get()
}
