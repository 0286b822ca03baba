import Foundation
import Testing
@testable import ShadowAgent
import ShadowCore
import ShadowGit

/// A host key made with `ssh-keygen -t ed25519`; the hashed line below is `ssh-keygen -H` of
/// `[example.org]:2222 <this key>`, so the hashed-name check is tested against OpenSSH itself.
private let keyBase64 = "AAAAC3NzaC1lZDI1NTE5AAAAIKCZvZ6Ow7CqQtBeMK6sT8eoA7lA6BHyGQsvSlyKYvyS"
private let hashedLine = "|1|92rxbkG/CeqRBr4ACiBY+dLHJpI=|bIplcNr8D1KqpoonLresFlmVidw= ssh-ed25519 " + keyBase64
private let key = HostKey(type: "ssh-ed25519", blob: Array(Data(base64Encoded: keyBase64)!), sha256: [])
private let otherKey = HostKey(type: "ssh-ed25519", blob: Array(key.blob.dropLast()) + [0], sha256: [])

@Suite struct KnownHostsTests {
    func hosts(_ text: String) -> KnownHosts { KnownHosts.parse(text, file: BytePath("/test/known_hosts")) }

    @Test func sha1AndHMACMatchTheirStandardVectors() {
        // FIPS 180-4 "abc"; RFC 2202 HMAC-SHA1 test case 1.
        #expect(SHA1.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined() == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)).map { String(format: "%02x", $0) }.joined()
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        // A 64-byte-plus message crosses a block boundary.
        #expect(SHA1.hash(Array(String(repeating: "a", count: 1000).utf8)).map { String(format: "%02x", $0) }.joined() == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func hashedEntryFromSSHKeygenMatchesOnlyItsHostAndPort() {
        let k = hosts(hashedLine)
        #expect(k.verdict(for: "[example.org]:2222", key: key) == .known)
        #expect(k.verdict(for: "[EXAMPLE.org]:2222", key: key) == .known)
        #expect(k.verdict(for: "example.org", key: key) == .unknown)
        #expect(k.verdict(for: "[example.org]:2223", key: key) == .unknown)
        #expect(k.verdict(for: "[example.org]:2222", key: otherKey) == .changed(listedTypes: ["ssh-ed25519"], line: 1))
    }

    @Test func plainPatternsNegationsMarkersAndBadLines() {
        let text = """
        # comment
        garbage line
        @cert-authority *.example.org ssh-ed25519 \(keyBase64)
        *.example.org,!evil.example.org ssh-ed25519 \(keyBase64)
        @revoked revoked.example.org ssh-ed25519 \(keyBase64)
        revoked.example.org ssh-ed25519 \(keyBase64)
        h?st ssh-ed25519 \(keyBase64)
        """
        let k = hosts(text)
        #expect(k.verdict(for: "a.example.org", key: key) == .known)
        #expect(k.verdict(for: "evil.example.org", key: key) == .unknown)
        #expect(k.verdict(for: "example.org", key: key) == .unknown)
        #expect(k.verdict(for: "revoked.example.org", key: key) == .revoked(line: 5))
        #expect(k.verdict(for: "host", key: key) == .known)
        #expect(k.verdict(for: "hoost", key: key) == .unknown)
        #expect(k.verdict(for: "a.example.org", key: otherKey) == .changed(listedTypes: ["ssh-ed25519"], line: 4))
    }

    @Test func appendKeepsExistingLinesAndMakesAPrivateFile() throws {
        let dir = NSTemporaryDirectory() + "kh-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = BytePath(dir + "/.ssh/known_hosts")
        try KnownHosts.append(key, name: "[h]:2222", to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.description)
        try "# no newline at end".data(using: .utf8).map { data in
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: file.description))
            h.seekToEndOfFile(); h.write(data); h.closeFile()
        }
        try KnownHosts.append(otherKey, name: "h", to: file)
        let text = try String(contentsOfFile: file.description, encoding: .utf8)
        #expect(text == "[h]:2222 ssh-ed25519 \(keyBase64)\n# no newline at end\nh \(otherKey.knownHostsLine(for: "h").dropFirst(2))\n")
        #expect(try FileManager.default.attributesOfItem(atPath: file.description)[.posixPermissions] as? Int == 0o644)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/.ssh")[.posixPermissions] as? Int == 0o700)
        #expect(try KnownHosts.load(file).verdict(for: "[h]:2222", key: key) == .known)
    }

    @Test func fingerprintIsOpenSSHs() {
        // ssh-keygen -lf of the key above printed SHA256:NjNIi7uZPdcO3ntPxJ90cMB4F5+Ttd7Su1JLeLgsxro.
        let sha = Array(Data(base64Encoded: "NjNIi7uZPdcO3ntPxJ90cMB4F5+Ttd7Su1JLeLgsxro=")!)
        #expect(HostKey(type: "ssh-ed25519", blob: key.blob, sha256: sha).fingerprint == "SHA256:NjNIi7uZPdcO3ntPxJ90cMB4F5+Ttd7Su1JLeLgsxro")
    }
}

@Suite struct HostKeyDecisionTests {
    @Test func unknownIsRefusedUnlessTheExactFingerprintIsGiven() throws {
        let dir = NSTemporaryDirectory() + "kh-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = BytePath(dir + "/known_hosts")
        let sha = [UInt8](repeating: 7, count: 32)
        let k = HostKey(type: "ssh-ed25519", blob: key.blob, sha256: sha)
        #expect(SSHSetup.check(k, host: "h", port: 22, knownHosts: file, accept: nil)?.code == .hostKeyUnknown)
        #expect(SSHSetup.check(k, host: "h", port: 22, knownHosts: file, accept: "SHA256:other")?.code == .hostKeyUnknown)
        #expect(!FileManager.default.fileExists(atPath: file.description))
        #expect(SSHSetup.check(k, host: "h", port: 22, knownHosts: file, accept: k.fingerprint) == nil)
        #expect(try String(contentsOfFile: file.description, encoding: .utf8) == "h ssh-ed25519 \(keyBase64)\n")
        // Now known; a different key for the same host is "changed" even with a matching --accept-host-key.
        let other = HostKey(type: "ssh-ed25519", blob: otherKey.blob, sha256: sha)
        #expect(SSHSetup.check(other, host: "h", port: 22, knownHosts: file, accept: other.fingerprint)?.code == .hostKeyChanged)
        #expect(SSHSetup.check(k, host: "h", port: 2222, knownHosts: file, accept: nil)?.code == .hostKeyUnknown)
    }
}

@Suite struct RemoteAddressTests {
    @Test func everyRemoteForm() throws {
        let a = try RemoteAddress.parse("ssh://git@example.org:2222/srv/notes.git")
        #expect(a.kind == .ssh && a.user == "git" && a.host == "example.org" && a.port == 2222 && a.path == "/srv/notes.git")
        #expect(a.knownHostsName == "[example.org]:2222")
        let b = try RemoteAddress.parse("ssh://example.org/srv/notes.git")
        #expect(b.user == nil && b.port == 22 && b.knownHostsName == "example.org")
        let c = try RemoteAddress.parse("u123@u123.rsync.net:vaults/notes.git")
        #expect(c.kind == .ssh && c.user == "u123" && c.host == "u123.rsync.net" && c.port == 22 && c.path == "vaults/notes.git")
        #expect(c.url == "u123@u123.rsync.net:vaults/notes.git")
        let d = try RemoteAddress.parse("ssh://[::1]:2200/r.git")
        #expect(d.host == "::1" && d.port == 2200 && d.knownHostsName == "[::1]:2200")
        #expect(try RemoteAddress.parse("/srv/r.git").kind == .local)
        #expect(try RemoteAddress.parse("./dir:with-colon/r.git").kind == .local)
        #expect(try RemoteAddress.parse("relative/r.git").kind == .local)
        let f = try RemoteAddress.parse("file:///srv/r.git")
        #expect(f.kind == .local && f.url == "/srv/r.git")
    }

    @Test func badRemotesAreClearErrors() {
        for bad in ["", "https://example.org/r.git", "ssh://host", "ssh://host:99999/r", "ssh://:22/r", "host:", "file://relative", "ssh://h/\n"] {
            #expect(throws: ShadowError.self, "\(bad)") { try RemoteAddress.parse(bad) }
        }
    }

    @Test func trustHostTargets() throws {
        #expect(try RemoteAddress.parseHost("example.org") == ("example.org", 22))
        #expect(try RemoteAddress.parseHost("example.org:2222") == ("example.org", 2222))
        #expect(try RemoteAddress.parseHost("[::1]:2222") == ("::1", 2222))
        #expect(try RemoteAddress.parseHost("ssh://git@example.org:2200/r.git") == ("example.org", 2200))
        #expect(throws: ShadowError.self) { try RemoteAddress.parseHost("host:port") }
    }
}
