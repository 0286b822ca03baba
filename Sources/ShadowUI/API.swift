import FoundationEssentials
import HTTPTypes
import Hummingbird
import ShadowAgent
import ShadowCore

/// The JSON API under `/api/` (Docs/OPERATIONS.md lists it): what the page uses, and what scripts may.
/// A folder is named by its config name (`name` in `GET /api/folders`); file paths are relative to it.
enum API {
    static let tokenHeader = HTTPField.Name("X-ShadowSync-Token")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    static func register(on router: Router<BasicRequestContext>, browser: FolderBrowser) {
        router.get("/") { _, _ in Self.asset(Page.html, "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.asset(Page.script, "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.asset(Page.style, "text/css; charset=utf-8") }

        router.get("/api/folders") { _, _ in
            await Self.reply { () throws(ShadowError) in try browser.folders() }
        }
        for (action, request) in [("pause", ControlRequest.pause), ("resume", .resume), ("sync", .sync)] {
            router.post("/api/folders/:name/\(action)") { _, context in
                let name = context.parameters.get("name") ?? ""
                return await Self.reply { () throws(ShadowError) in Message(message: try browser.control(name, request)) }
            }
        }
        router.get("/api/folders/:name/conflict") { request, context in
            let (name, copy) = (context.parameters.get("name") ?? "", request.uri.queryParameters.get("copy") ?? "")
            return await Self.reply { () throws(ShadowError) in try browser.conflict(name, copy: copy) }
        }
        router.post("/api/folders/:name/resolve") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await Self.withBody(request, as: ResolveBody.self) { (b) throws(ShadowError) in
                guard let choice = ConflictChoice(rawValue: b.choice) else {
                    throw ShadowError(.invalidArgument, "choice must be keep-original, keep-copy or keep-both")
                }
                return Message(message: try browser.resolve(name, copy: b.copy, choice: choice, copyStamp: b.copyStamp,
                                                             originalStamp: b.originalStamp, newName: b.newName))
            }
        }
        router.get("/api/folders/:name/history") { request, context in
            let (name, path) = (context.parameters.get("name") ?? "", request.uri.queryParameters.get("path") ?? "")
            return await Self.reply { () throws(ShadowError) in try browser.history(name, path: path).map(LogEntryJSON.init) }
        }
        router.get("/api/folders/:name/version") { request, context in
            let name = context.parameters.get("name") ?? ""
            let (path, commit) = (request.uri.queryParameters.get("path") ?? "", request.uri.queryParameters.get("commit") ?? "")
            return await Self.reply { () throws(ShadowError) in try browser.version(name, path: path, at: commit) }
        }
        router.get("/api/folders/:name/file") { request, context in
            let (name, path) = (context.parameters.get("name") ?? "", request.uri.queryParameters.get("path") ?? "")
            return await Self.reply { () throws(ShadowError) in try browser.current(name, path: path) }
        }
        router.post("/api/folders/:name/restore") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await Self.withBody(request, as: RestoreBody.self) { (b) throws(ShadowError) in
                Message(message: try browser.restore(name, path: b.path, at: b.commit, currentStamp: b.stamp))
            }
        }
        router.get("/api/folders/:name/ignore") { _, context in
            let name = context.parameters.get("name") ?? ""
            return await Self.reply { () throws(ShadowError) in try browser.ignoreRules(name) }
        }
        router.post("/api/folders/:name/ignore") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await Self.withBody(request, as: IgnoreBody.self) { (b) throws(ShadowError) in
                Message(message: try browser.setIgnoreRules(name, file: b.file, text: b.text, stamp: b.stamp))
            }
        }
    }

    struct Message: Encodable, Sendable { let message: String }

    struct ResolveBody: Decodable, Sendable {
        let copy: String, choice: String, copyStamp: String
        let originalStamp: String?, newName: String?
        enum CodingKeys: String, CodingKey {
            case copy, choice
            case copyStamp = "copy_stamp", originalStamp = "original_stamp", newName = "new_name"
        }
    }

    struct RestoreBody: Decodable, Sendable { let path: String, commit: String, stamp: String? }
    struct IgnoreBody: Decodable, Sendable { let file: String, text: String, stamp: String? }

    static func asset(_ text: String, _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func refusal(_ status: Int, _ reason: String) -> Response {
        json(HTTPResponse.Status(code: status), jsonText(["error": reason]))
    }

    /// Runs `body` off the server's threads; a ShadowError becomes `{"error", "advice", "code"}`:
    /// 404 for what is not there, 409 for what changed meanwhile, 400 for a bad request, 503 when retrying may help.
    static func reply<T: Encodable & Sendable>(_ body: @escaping @Sendable () throws(ShadowError) -> T) async -> Response {
        do {
            let value = try await offload(body)
            return json(.ok, jsonText(value))
        } catch {
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .sourceChanged, .alreadyExists: .conflict
            case _ where error.isRetryable: .serviceUnavailable
            default: .badRequest
            }
            var fields = ["error": error.message, "code": "\(error.code)"]
            if !error.advice.isEmpty { fields["advice"] = error.advice }
            return json(status, jsonText(fields))
        }
    }

    static func withBody<B: Decodable & Sendable, T: Encodable & Sendable>(
        _ request: Request, as type: B.Type, _ body: @escaping @Sendable (B) throws(ShadowError) -> T) async -> Response {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: UIServer.maximumBodyBytes),
              let decoded = try? JSONDecoder().decode(B.self, from: Data(buffer.readableBytesView)) else {
            return refusal(400, "the request body is not the JSON this call takes")
        }
        return await reply { () throws(ShadowError) in try body(decoded) }
    }
}
