import Foundation
import Testing
import ShadowCore
import ShadowGit
@testable import ShadowAgent
import ShadowXMPP

/// The configuration examples in Examples/config are what users copy: each must load as it stands.
@Suite struct ExampleConfigTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/config")

    @Test func everyExampleLoadsWithKnownKeysAndAValidRemote() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".conf") }.sorted()
        #expect(names == ["notes-with-history.conf", "rsync-net-style.conf", "vps-bare-repo.conf"])
        for name in names {
            let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
            let config = try FolderConfig.parse(text, name: name)
            let address = try RemoteAddress.parse(config.remote)
            #expect(address.kind == (name.hasPrefix("notes") ? .local : .ssh), "\(name)")
            for key in [ConfigKey.syncQuietMs, .syncMaxDelayMs, .syncPollSeconds] {
                #expect(config.integer(key, -1) > 0, "\(name): \(key)")
            }
            if let jid = config.value(.xmppJID) {
                #expect(XMPPSettings.isBareJID(jid) && config.path(.xmppPasswordFile) != nil, "\(name)")
            }
        }
    }
}
