import Foundation
import Testing
@testable import ShadowAgent
import ShadowCore

/// The `xmpp.*` keys of a folder's config become notifier settings, or a clear error.
@Suite struct DoorbellConfigTests {
    func config(_ values: [String: String]) -> FolderConfig {
        FolderConfig(name: "t", values: ["folder": "/f", "shadow": "/s", "state": "/st", "remote": "/r"].merging(values) { _, n in n })
    }

    func passwordFile(_ text: String = "secret\n") throws -> String {
        let path = NSTemporaryDirectory() + "shadowsync-xmpp-pw-\(UInt32.random(in: 0...UInt32.max))"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    @Test func serverForms() throws {
        #expect(try DoorbellService.parseServer("xmpp.example.org") == ("xmpp.example.org", 5222))
        #expect(try DoorbellService.parseServer("127.0.0.1:25222") == ("127.0.0.1", 25222))
        #expect(try DoorbellService.parseServer("[::1]:5223") == ("::1", 5223))
        #expect(try DoorbellService.parseServer("[::1]") == ("::1", 5222))
        for bad in ["", ":5222", "host:0", "host:70000", "host:port", "[::1]x", "a b:5222"] {
            #expect(throws: ShadowError.self, "\(bad)") { _ = try DoorbellService.parseServer(bad) }
        }
    }

    @Test func noJIDMeansNoDoorbell() throws {
        #expect(try DoorbellService.settings(for: config([:])) == nil)
    }

    @Test func completeSettingsAndEveryRefusal() throws {
        let pw = try passwordFile()
        defer { unlink(pw) }
        let settings = try #require(try DoorbellService.settings(for: config([
            "xmpp.jid": "agents@example.org", "xmpp.password-file": pw, "xmpp.server": "10.0.0.1:5299",
            "xmpp.fingerprint": String(repeating: "AB:", count: 31) + "AB", "xmpp.peers": "laptop@example.org, desktop@example.org",
        ])))
        #expect(settings.host == "10.0.0.1" && settings.port == 5299)
        #expect(settings.trust == .pinnedSHA256(String(repeating: "AB:", count: 31) + "AB"))
        #expect(settings.addressing == .peers(["laptop@example.org", "desktop@example.org"]))

        func refusal(_ values: [String: String]) -> String? {
            do { _ = try DoorbellService.settings(for: config(values)); return nil } catch { return error.message }
        }
        #expect(refusal(["xmpp.jid": "agents@example.org"])?.contains("xmpp.password-file") == true)
        #expect(refusal(["xmpp.jid": "agents@example.org/laptop", "xmpp.password-file": pw])?.contains("bare JID") == true)
        #expect(refusal(["xmpp.jid": "agents", "xmpp.password-file": pw])?.contains("bare JID") == true)
        #expect(refusal(["xmpp.jid": "a@b", "xmpp.password-file": pw, "xmpp.fingerprint": "abcd"])?.contains("SHA-256") == true)
        #expect(refusal(["xmpp.jid": "a@b", "xmpp.password-file": pw, "xmpp.peers": "x@y, nobody"])?.contains("nobody") == true)
        #expect(refusal(["xmpp.jid": "a@b", "xmpp.password-file": pw, "xmpp.room": "room"])?.contains("room JID") == true)
        #expect(refusal(["xmpp.jid": "a@b", "xmpp.password-file": pw + ".missing"])?.contains("xmpp.password-file") == true)
        // A password file group or others may read is refused, like the key file.
        let shared = try passwordFile()
        defer { unlink(shared) }
        chmod(shared, 0o640)
        let sharedRefusal = refusal(["xmpp.jid": "a@b", "xmpp.password-file": shared])
        #expect(sharedRefusal?.contains("xmpp.password-file \(shared) is accessible by other users (mode 640)") == true, "\(sharedRefusal ?? "accepted")")
        let empty = try passwordFile("\n")
        defer { unlink(empty) }
        #expect(refusal(["xmpp.jid": "a@b", "xmpp.password-file": empty])?.contains("empty") == true)
    }
}
