import Foundation
import Testing
import TestSupport

/// Devices through the binary: every machine its own key and name, shown by `device list`, `log` and
/// `status`, renamed with `device rename`.
@Suite struct DeviceTests {
    /// `device list --json` as name → object.
    static func devices(_ agent: Agent) throws -> [String: [String: Any]] {
        let text = try agent.ok(["device", "list", "--json", "--folder", agent.folder])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text)")
        return Dictionary(list.map { (($0["name"] as? String) ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func everyMachineIsADeviceWithItsOwnNameAndKey() throws {
        let s = try Scratch("devices")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), spare = s.agent("spare"), reader = s.agent("reader")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        let key = try laptop.exportKey()
        try desktop.ok(["join", s.remote, desktop.folder, "--key-file", key, "--no-passphrase", "--device-name", "desktop"])
        try spare.ok(["join", s.remote, spare.folder, "--key-file", key, "--no-passphrase", "--device-name", "spare"])
        try reader.ok(["join", s.remote, reader.folder, "--key-file", try laptop.exportKey(["--read-only"]), "--no-passphrase", "--device-name", "tv"])
        try desktop.write("from-desktop.txt", "two\n")
        try desktop.sync()
        try laptop.sync()

        let listed = try Self.devices(laptop)
        #expect(Set(listed.keys) == ["laptop", "desktop", "spare"], "\(listed.keys)")
        #expect(listed["laptop"]?["this_device"] as? Bool == true)
        #expect(listed["desktop"]?["role"] as? String == "read-write" && listed["desktop"]?["admitted_by"] as? String == "vault key")
        #expect(listed["desktop"]?["last_commit"] as? String != nil && listed["desktop"]?["revoked"] as? Bool == false)
        // Three different keys: three different ids.
        #expect(Set(listed.values.compactMap { $0["id"] as? String }).count == 3)
        // The server sees device records but no names.
        let names = try s.git(["log", "-p", "--all"])
        for name in ["laptop", "desktop", "spare"] { #expect(!names.contains(name)) }

        // log and status name the devices.
        let log = try laptop.ok(["log", "--folder", laptop.folder])
        #expect(log.contains("device desktop (") && log.contains("device laptop ("), "\(log)")
        #expect(try laptop.ok(["status", "--folder", laptop.folder]).contains("device:   laptop ("))
        #expect(try laptop.ok(["status", "--json", "--folder", laptop.folder]).contains("\"device_name\":\"laptop\""))

        // A rename is published with a pass and reaches the others; the read-only machine reads the names.
        let renamed = try desktop.ok(["device", "rename", "workstation", "--folder", desktop.folder])
        #expect(renamed.contains("this device is now named workstation"), "\(renamed)")
        try laptop.sync()
        #expect(Set(try Self.devices(laptop).keys) == ["laptop", "workstation", "spare"])
        #expect(try laptop.ok(["log", "--folder", laptop.folder]).contains("device workstation ("))
        try reader.sync()
        #expect(Set(try Self.devices(reader).keys) == ["laptop", "workstation", "spare"])
        let refused = try reader.run(["device", "rename", "box", "--folder", reader.folder])
        #expect(refused.status == 2 && refused.stderr.contains("read-only"), "\(refused.stderr)")
        let bad = try laptop.run(["device", "rename", String(repeating: "x", count: 64), "--folder", laptop.folder])
        #expect(bad.status == 2 && bad.stderr.contains("1 to 63 bytes"), "\(bad.stderr)")

        // Everything still verifies from the root on every machine.
        for agent in [laptop, desktop, spare, reader] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }
}
