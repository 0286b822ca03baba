import Foundation
import Testing
import TestSupport

/// `shadowsync ui` as a user runs it: two folders of one user (one with its daemon running), the
/// server's checks over plain HTTP, then the page in a real browser (Tests/browser-test.py).
@Suite(.serialized) struct UITests {
    /// One user's two folders: `docs` (with a conflict copy made against a second device) and `notes`
    /// (a file saved twice, with `shadowsync run` holding the folder).
    final class Setup {
        let scratch: Scratch
        let a: Agent
        let notes: String
        let daemon: TestProcess
        let ui: TestProcess
        let url: String
        let port: Int
        let token: String

        /// `more` sets up further folders before the UI starts.
        init(more: ((Scratch, Agent) throws -> Void)? = nil) throws {
            scratch = try Scratch("ui")
            a = scratch.agent("a")
            let b = scratch.agent("b")
            try a.initialize()
            try a.write("doc.txt", "line one\nbase\n")
            try a.sync()
            try b.join(keyFile: try a.exportKey())
            try a.write("doc.txt", "line one\nmine\n")
            try b.write("doc.txt", "line one\ntheirs\n")
            try b.sync()
            try a.sync()

            notes = scratch.root.appendingPathComponent("notes").path
            try a.ok(["init", notes, "--remote", scratch.root.appendingPathComponent("notes.git").path, "--no-passphrase"])
            for version in ["first\n", "second\n"] {
                try version.write(toFile: notes + "/todo.txt", atomically: true, encoding: .utf8)
                try a.ok(["sync", "--folder", notes])
            }
            try more?(scratch, a)
            daemon = try TestProcess(Binaries.url(of: "shadowsync").path, ["run", "--folder", notes], environment: a.environment)
            ui = try TestProcess(Binaries.url(of: "shadowsync").path, ["ui", "--listen", "127.0.0.1:0"], environment: a.environment)
            guard ui.waitForOutput("ShadowSync UI: ", timeout: 30),
                  let line = ui.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix("ShadowSync UI: ") }),
                  let address = URLComponents(string: String(line.dropFirst("ShadowSync UI: ".count))),
                  let port = address.port, let token = address.queryItems?.first(where: { $0.name == "token" })?.value else {
                throw CocoaError(.fileReadUnknown, userInfo: ["ui": ui.stdoutSoFar + ui.stderrSoFar])
            }
            url = address.string!
            self.port = port
            self.token = token
            // The daemon answers on its control socket once it has started.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, try folders(["X-ShadowSync-Token": token]).first(where: { $0["folder"] as? String == notes })?["running"] as? Bool != true {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }

        func stop() {
            ui.signal(SIGTERM)
            daemon.signal(SIGTERM)
            _ = ui.wait(timeout: 10)
            _ = daemon.wait(timeout: 10)
        }

        /// One HTTP/1.1 request over a plain socket, so the test chooses every header (Host included).
        func http(_ method: String, _ path: String, headers: [String: String] = [:], body: String = "") throws -> (status: Int, head: String, body: String) {
            var lines = ["\(method) \(path) HTTP/1.1", "Connection: close"]
            var all = ["Host": "127.0.0.1:\(port)"]
            all.merge(headers) { _, new in new }
            for (k, v) in all.sorted(by: { $0.key < $1.key }) where !v.isEmpty { lines.append("\(k): \(v)") }
            if !body.isEmpty || method == "POST" { lines.append("Content-Length: \(body.utf8.count)") }
            let request = lines.joined(separator: "\r\n") + "\r\n\r\n" + body
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["connect": errno]) }
            _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var reply: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                reply += buffer[0..<n]
            }
            let text = String(decoding: reply, as: UTF8.self)
            let parts = text.components(separatedBy: "\r\n\r\n")
            let status = Int(parts[0].split(separator: " ").dropFirst().first ?? "") ?? 0
            return (status, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
        }

        func folders(_ headers: [String: String]) throws -> [[String: Any]] {
            let r = try http("GET", "/api/folders", headers: headers)
            return (try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [[String: Any]]) ?? []
        }
    }

    /// A folder whose key only a terminal could unlock, with no daemon: the page still shows its head
    /// from the folder's files, and says why it cannot show more.
    @Test func aFolderWithALockedKeyShowsWhatItsFilesTell() throws {
        var locked = ""
        let s = try Setup { scratch, a in
            locked = scratch.root.appendingPathComponent("locked").path
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
            try "kept\n".write(toFile: locked + "/kept.txt", atomically: true, encoding: .utf8)
            let secret = scratch.root.appendingPathComponent("passphrase").path
            try "correct horse\n".write(toFile: secret, atomically: true, encoding: .utf8)
            chmod(secret, 0o600)
            try a.ok(["init", locked, "--remote", scratch.root.appendingPathComponent("locked.git").path, "--passphrase-file", secret,
                      "--kdf-profile", "interactive"])
            try a.ok(["config", "set", "passphrase-file", "", "--folder", locked])
        }
        defer { s.stop() }
        let head = try #require(((try? JSONSerialization.jsonObject(with: Data(try s.a.ok(["status", "--json", "--folder", locked]).utf8))) as? [String: Any])?["head"] as? String)
        let folder = try #require(try s.folders(["X-ShadowSync-Token": s.token]).first { $0["folder"] as? String == locked })
        #expect(folder["state"] as? String == "stopped" && folder["head"] as? String == head, "\(folder)")
        let problems = (folder["problems"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
        #expect(problems.contains { $0.contains("protected by a passphrase") }, "\(problems)")
    }

    @Test func theServerAnswersOnlyItsOwnPageWithTheToken() throws {
        let s = try Setup()
        defer { s.stop() }
        let withToken = ["X-ShadowSync-Token": s.token]
        #expect(try s.http("GET", "/api/folders").status == 401)
        #expect(try s.http("GET", "/api/folders", headers: ["X-ShadowSync-Token": String(s.token.reversed())]).status == 401)
        #expect(try s.http("GET", "/api/folders", headers: ["Authorization": "Bearer " + s.token]).status == 200)
        let list = try s.folders(withToken)
        #expect(Set(list.compactMap { $0["folder"] as? String }) == [s.a.folder, s.notes], "\(list)")
        let docs = list.first { $0["folder"] as? String == s.a.folder }
        let copies = docs?["conflicts"] as? [String] ?? []
        #expect(copies.count == 1 && copies[0].hasPrefix("doc.sync-conflict-"), "\(list)")
        let notes = list.first { $0["folder"] as? String == s.notes }
        #expect(notes?["running"] as? Bool == true, "\(list)")
        // When each device last pushed: this one, for the folder it pushed to.
        let devices = notes?["devices"] as? [[String: Any]] ?? []
        #expect(devices.contains { $0["this_device"] as? Bool == true && ($0["last_push"] as? String)?.hasPrefix("20") == true }, "\(list)")
        let notesName = notes?["name"] as? String ?? ""

        // DNS rebinding: a foreign name resolving to 127.0.0.1 carries it in Host.
        #expect(try s.http("GET", "/api/folders", headers: withToken.merging(["Host": "evil.example:\(s.port)"]) { $1 }).status == 403)
        #expect(try s.http("GET", "/", headers: ["Host": "evil.example"]).status == 403)

        // The first load trades the token for a cookie only the page's own requests carry.
        let first = try s.http("GET", "/?token=\(s.token)")
        #expect(first.status == 303)
        let setCookie = first.head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }.map(String.init) ?? ""
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains(s.token), "\(first.head)")
        #expect(try s.http("GET", "/?token=" + String(repeating: "0", count: 64)).status == 403)
        let cookie = ["Cookie": "shadowsync_ui_\(s.port)=\(s.token)"]
        #expect(try s.folders(cookie).count == 2)
        #expect(try s.http("GET", "/api/folders", headers: cookie.merging(["Sec-Fetch-Site": "cross-site"]) { $1 }).status == 403)

        // A change from another site is refused, with or without the cookie; the daemon stays as it was.
        let json = ["Content-Type": "application/json"]
        let pause = "/api/folders/\(notesName)/pause"
        let own = "http://127.0.0.1:\(s.port)"
        for headers in [["Origin": "http://evil.example"], ["Origin": own, "Sec-Fetch-Site": "cross-site"], [:], ["Origin": "null"]] {
            let r = try s.http("POST", pause, headers: cookie.merging(json) { $1 }.merging(headers) { $1 }, body: "{}")
            #expect(r.status == 403, "\(headers): \(r.status) \(r.body)")
        }
        #expect(try s.http("POST", pause, headers: cookie.merging(["Origin": own, "Content-Type": "text/plain"]) { $1 }, body: "{}").status == 415)
        let post0 = withToken.merging(json) { $1 }.merging(["Origin": own]) { $1 }
        #expect(try s.folders(withToken).first { $0["name"] as? String == notesName }?["paused"] as? Bool == false)
        // From the page itself it works, through the folder's daemon.
        #expect(try s.http("POST", pause, headers: cookie.merging(json) { $1 }.merging(["Origin": own, "Sec-Fetch-Site": "same-origin"]) { $1 }, body: "{}").status == 200)
        #expect(try s.folders(withToken).first { $0["name"] as? String == notesName }?["paused"] as? Bool == true)
        #expect(try s.http("POST", "/api/folders/\(notesName)/resume", headers: withToken.merging(json) { $1 }.merging(["Origin": own]) { $1 }, body: "{}").status == 200)
        #expect(try s.folders(withToken).first { $0["name"] as? String == notesName }?["paused"] as? Bool == false)
        let sync = try s.http("POST", "/api/folders/\(notesName)/sync", headers: post0, body: "{}")
        #expect(sync.status == 200 && sync.body.contains("pass"), "\(sync.body)")
        // A folder without a daemon has nothing to pause.
        #expect(try s.http("POST", "/api/folders/\(docs?["name"] as? String ?? "")/pause", headers: post0, body: "{}").status == 404)

        // Only conflict copies can be resolved: the API removes or moves nothing else.
        let docsName = docs?["name"] as? String ?? ""
        let stamp = try s.http("GET", "/api/folders/\(docsName)/file?path=doc.txt", headers: withToken).body
        let body = #"{"copy": "doc.txt", "choice": "keep-original", "copy_stamp": "\#(stampOf(stamp))"}"#
        #expect(try s.http("POST", "/api/folders/\(docsName)/resolve", headers: withToken.merging(json) { $1 }.merging(["Origin": own]) { $1 }, body: body).status == 400)
        #expect(s.a.read("doc.txt") != nil)

        // Every change is a compare-and-swap on what the page showed: an edit made meanwhile wins.
        let post = withToken.merging(json) { $1 }.merging(["Origin": own]) { $1 }
        let copy = copies.first ?? ""
        let shown = try s.http("GET", "/api/folders/\(docsName)/conflict?copy=\(copy)", headers: withToken)
        #expect(shown.status == 200 && shown.body.contains("mine") && shown.body.contains("theirs"), "\(shown.body)")
        let sides = (try JSONSerialization.jsonObject(with: Data(shown.body.utf8)) as? [String: Any]) ?? [:]
        let copyStamp = (sides["copy"] as? [String: Any])?["stamp"] as? String ?? ""
        let originalStamp = (sides["original"] as? [String: Any])?["stamp"] as? String ?? ""
        let copyText = s.a.read(copy)
        Thread.sleep(forTimeInterval: 0.01)
        try s.a.write("doc.txt", "line one\nedited meanwhile\n")
        let late = #"{"copy": "\#(copy)", "choice": "keep-copy", "copy_stamp": "\#(copyStamp)", "original_stamp": "\#(originalStamp)"}"#
        let refused = try s.http("POST", "/api/folders/\(docsName)/resolve", headers: post, body: late)
        #expect(refused.status == 409, "\(refused.body)")
        #expect(s.a.read("doc.txt") == "line one\nedited meanwhile\n" && s.a.read(copy) == copyText)

        // A restore refuses while the file has changes not synced yet: the version it replaces must be in the history.
        let history = try s.http("GET", "/api/folders/\(docsName)/history?path=doc.txt", headers: withToken)
        let commits = ((try JSONSerialization.jsonObject(with: Data(history.body.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["commit"] as? String }
        #expect(commits.count >= 2, "\(history.body)")
        let now = stampOf(try s.http("GET", "/api/folders/\(docsName)/file?path=doc.txt", headers: withToken).body)
        let restore = #"{"path": "doc.txt", "commit": "\#(commits.last ?? "")", "stamp": "\#(now)"}"#
        let unsynced = try s.http("POST", "/api/folders/\(docsName)/restore", headers: post, body: restore)
        #expect(unsynced.status == 409 && unsynced.body.contains("not synced"), "\(unsynced.body)")
        #expect(s.a.read("doc.txt") == "line one\nedited meanwhile\n")

        // Resolving drops no edit that is not synced yet: not the original keep-copy replaces, not the copy keep-original removes.
        func stamps() throws -> (copy: String, original: String) {
            let shown = try s.http("GET", "/api/folders/\(docsName)/conflict?copy=\(copy)", headers: withToken).body
            let sides = (try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any]) ?? [:]
            return ((sides["copy"] as? [String: Any])?["stamp"] as? String ?? "", (sides["original"] as? [String: Any])?["stamp"] as? String ?? "")
        }
        let current = try stamps()
        let overEdit = #"{"copy": "\#(copy)", "choice": "keep-copy", "copy_stamp": "\#(current.copy)", "original_stamp": "\#(current.original)"}"#
        let keptEdit = try s.http("POST", "/api/folders/\(docsName)/resolve", headers: post, body: overEdit)
        #expect(keptEdit.status == 409 && keptEdit.body.contains("not synced"), "\(keptEdit.body)")
        #expect(s.a.read("doc.txt") == "line one\nedited meanwhile\n" && s.a.read(copy) == copyText)
        Thread.sleep(forTimeInterval: 0.01)
        try s.a.write(copy, "line one\nmine, edited\n")
        let edited = try stamps()
        let dropEdit = #"{"copy": "\#(copy)", "choice": "keep-original", "copy_stamp": "\#(edited.copy)"}"#
        let keptCopy = try s.http("POST", "/api/folders/\(docsName)/resolve", headers: post, body: dropEdit)
        #expect(keptCopy.status == 409 && keptCopy.body.contains("not synced"), "\(keptCopy.body)")
        #expect(s.a.read(copy) == "line one\nmine, edited\n" && s.a.read("doc.txt") == "line one\nedited meanwhile\n")

        // Keep both: the copy takes the name the user chose, nothing else moves.
        let both = #"{"copy": "\#(copy)", "choice": "keep-both", "copy_stamp": "\#(edited.copy)", "new_name": "doc (other).txt"}"#
        #expect(try s.http("POST", "/api/folders/\(docsName)/resolve", headers: post, body: both).status == 200)
        #expect(s.a.read("doc (other).txt") == "line one\nmine, edited\n" && s.a.read(copy) == nil && s.a.read("doc.txt") == "line one\nedited meanwhile\n")
        let taken = #"{"copy": "\#(copy)", "choice": "keep-both", "copy_stamp": "\#(copyStamp)", "new_name": "doc.txt"}"#
        #expect(try s.http("POST", "/api/folders/\(docsName)/resolve", headers: post, body: taken).status != 200)

        // Ignore rules: the two files, written only as the page saw them; no other file through this call.
        let rules = try s.http("GET", "/api/folders/\(docsName)/ignore", headers: withToken)
        #expect(rules.status == 200 && rules.body.contains(#""kind":"missing""#), "\(rules.body)")
        let save = #"{"file": ".shadowsyncignore", "text": "build/\n"}"#
        #expect(try s.http("POST", "/api/folders/\(docsName)/ignore", headers: post, body: save).status == 200)
        #expect(s.a.read(".shadowsyncignore") == "build/\n")
        #expect(try s.http("POST", "/api/folders/\(docsName)/ignore", headers: post, body: #"{"file": ".shadowsyncignore", "text": "x\n"}"#).status == 409)
        #expect(try s.http("POST", "/api/folders/\(docsName)/ignore", headers: post, body: #"{"file": "doc.txt", "text": "x\n"}"#).status == 400)
        #expect(s.a.read(".shadowsyncignore") == "build/\n" && s.a.read("doc.txt") == "line one\nedited meanwhile\n")
    }

    func stampOf(_ json: String) -> String {
        ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any])?["stamp"] as? String ?? ""
    }

    /// The page in Chromium: both folders, a conflict resolved with "Keep that", an old version restored.
    @Test func aBrowserResolvesAConflictAndRestoresAVersion() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromedriver"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let selenium = chromium && ((try? TestProcess.run(python, ["-c", "import selenium"]).status) == 0)
        if !selenium {
            // Only a developer machine without them may skip; CI installs them (Examples/setup-debian.sh).
            #expect(!ContinuousIntegration.isSet, "chromium, chromium-driver and python3-selenium are required under CI")
            return
        }
        let s = try Setup()
        defer { s.stop() }
        let copy = try FileManager.default.contentsOfDirectory(atPath: s.a.folder).first { $0.hasPrefix("doc.sync-conflict-") }
        let copyText = copy.flatMap { s.a.read($0) }
        #expect(copyText != nil && copyText != s.a.read("doc.txt"))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("browser-test.py").path
        let r = try TestProcess.run(python, [script, s.url, s.a.folder, s.notes, "todo.txt"], timeout: 120)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        // What the browser did is on disk: the copy's version in place and no copy left; the old version back.
        #expect(s.a.read("doc.txt") == copyText)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.a.folder).filter { $0.contains(".sync-conflict-") }.isEmpty)
        #expect(try String(contentsOfFile: s.notes + "/todo.txt", encoding: .utf8) == "first\n")
    }
}
