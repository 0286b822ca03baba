import Testing
import ShadowCore
import ShadowCrypto
import ShadowGit
import TestSupport
@testable import ShadowAgent
@testable import ShadowXMPP

/// Mutation fuzzing of what the agent parses: the notifier's incoming stanzas (through libstrophe's
/// own XML parser, then the bell extraction, then the sealed payload), folder configs, known_hosts,
/// the pre-receive hook's input, server and remote addresses. Nothing may crash; a changed bell must
/// never open to a different message.
@Suite struct AgentDecoderFuzzTests {
    @Test func notifierMessageParser() throws {
        let seal = DoorbellSeal(keys: VaultKeys.generate().read!)
        let message = DoorbellMessage(kind: .pushed, device: Array(repeating: 3, count: 16), sequence: 5, sentAt: 1_800_000_000, head: Array(repeating: 4, count: 20))
        let xml = "<message from='a@example.org/r1' to='b@example.org' type='normal' id='x1'>"
            + "<bell xmlns='\(XMPPNotifier.namespace)' folder='\(seal.folderTag)'>\(seal.seal(message))</bell></message>"
        let context = try StropheContext(pin: nil)
        // The seed itself goes through: otherwise the loop below would prove nothing.
        let stanza = try #require(ParsedStanza(context, xml: xml))
        let bell = try #require(NotifierCore.bell(in: stanza.view))
        #expect(bell.from == "a@example.org/r1")
        #expect(try seal.open(folderTag: bell.folderTag, payload: bell.payload) == message)
        // A payload over the limit is not even copied.
        let huge = xml.replacingOccurrences(of: "</bell>", with: String(repeating: "A", count: 2000) + "</bell>")
        #expect(ParsedStanza(context, xml: huge).flatMap { NotifierCore.bell(in: $0.view) } == nil)

        var m = Mutator(state: 21)
        var parsed = 0, extracted = 0, opened = 0
        for _ in 0..<fuzzIterations {
            let mutated = m.mutate(xml)
            guard let stanza = ParsedStanza(context, xml: mutated) else { continue }
            parsed += 1
            guard let b = NotifierCore.bell(in: stanza.view) else { continue }
            extracted += 1
            if let opened_ = try? seal.open(folderTag: b.folderTag, payload: b.payload) {
                // Only a change outside the sealed text (an attribute, the id, whitespace) may still open,
                // and then to the very message that was sealed.
                #expect(opened_ == message)
                opened += 1
            }
        }
        #expect(parsed > 0 && extracted > 0 && extracted < fuzzIterations, "parsed \(parsed), extracted \(extracted), opened \(opened)")
    }

    @Test func folderConfigKnownHostsAndHookInput() throws {
        let config = FolderConfig(name: "t", values: ["folder": "/home/u/notes", "shadow": "/s", "state": "/st", "remote": "ssh://git@example.org:2222/srv/notes.git",
                                                       "sync.quiet-ms": "300", "xmpp.jid": "a@example.org"])
        let text = config.render()
        #expect(try FolderConfig.parse(text, name: "t").values == config.values)
        let hosts = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
            + "@revoked example.org ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\n|1|abc=|def= ecdsa-sha2-nistp256 AAAAE2VjZHNh\n"
        let hook = "\(String(repeating: "0", count: 40)) \(String(repeating: "a", count: 40)) refs/heads/main\n"
        var m = Mutator(state: 22)
        var configsRefused = 0
        for _ in 0..<fuzzIterations {
            let c = m.mutate(text)
            if let parsed = try? FolderConfig.parse(c, name: "t") {
                // Whatever parses renders and parses back to the same values (no lossy keys).
                #expect(try FolderConfig.parse(parsed.render(), name: "t").values == parsed.values)
            } else { configsRefused += 1 }
            _ = KnownHosts.parse(m.mutate(hosts), file: BytePath("/k"))
            _ = try? PushVerifier.parse(m.mutate(hook))
            _ = try? DoorbellService.parseServer(m.mutate("xmpp.example.org:5222"))
            _ = try? RemoteAddress.parse(m.mutate("ssh://git@example.org:2222/srv/notes.git"))
            _ = try? RemoteAddress.parse(m.mutate("git@[::1]:notes.git"))
        }
        #expect(configsRefused > 0)
    }
}
