import Foundation
import Testing
import TestSupport

/// Admitting machines with one-time invites, through the binary.
@Suite struct InviteTests {
    static func invite(_ agent: Agent, _ flags: [String] = []) throws -> String {
        try agent.ok(["device", "invite", "--folder", agent.folder] + flags).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func threeMachinesJoinByInviteAndEachInviteAdmitsOne() throws {
        let s = try Scratch("invites")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), stolen = s.agent("stolen"), late = s.agent("late")
        let reader = s.agent("reader")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        let forDesktop = try Self.invite(laptop, ["--name", "desktop"])
        #expect(forDesktop.hasPrefix("shdw1-in-") && !forDesktop.contains("\n"), "\(forDesktop)")
        // The inviter need not be online: it published the invite and the joiner needs only the server.
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", forDesktop, "--no-passphrase"])
        #expect(desktop.read("doc.txt") == "one\n")
        // A device admitted by invite invites the next one itself (it holds no vault key).
        let forStolen = try Self.invite(desktop, ["--name", "stolen"])
        let keyFile = s.root.appendingPathComponent("invite-stolen.txt").path
        try forStolen.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try stolen.ok(["join", s.remote, stolen.folder, "--key-file", keyFile, "--no-passphrase"])
        let noKey = try desktop.run(["key", "export", "--folder", desktop.folder])
        #expect(noKey.status == 2 && noKey.stderr.contains("holds no vault key"), "\(noKey.stderr)")

        // Everyone writes; everyone converges; device list names all three, with who admitted whom.
        try desktop.write("from-desktop.txt", "d\n")
        try desktop.sync()
        try stolen.write("from-stolen.txt", "s\n")
        try stolen.sync()
        for agent in [laptop, desktop, stolen] { try agent.sync() }
        #expect(laptop.snapshot() == desktop.snapshot() && desktop.snapshot() == stolen.snapshot())
        let listed = try DeviceTests.devices(laptop)
        #expect(Set(listed.keys) == ["laptop", "desktop", "stolen"], "\(listed.keys)")
        #expect(listed["desktop"]?["admitted_by"] as? String == "laptop")
        #expect(listed["stolen"]?["admitted_by"] as? String == "desktop")
        #expect(listed["stolen"]?["role"] as? String == "read-write")
        let log = try laptop.ok(["log", "--folder", laptop.folder])
        #expect(log.contains("device stolen (") && log.contains("device desktop ("), "\(log)")

        // A used invite is refused, and nothing is left behind.
        let reused = try late.run(["join", s.remote, late.folder, "--invite", forDesktop, "--no-passphrase"])
        #expect(reused.status == 2 && reused.stderr.contains("was already used"), "\(reused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: late.folder))
        // A typo is a typo, not a server problem.
        var mistyped = Array(forDesktop)
        mistyped[20] = mistyped[20] == "a" ? "b" : "a"
        let typo = try late.run(["join", s.remote, late.folder, "--invite", String(mistyped), "--no-passphrase"])
        #expect(typo.status == 2 && typo.stderr.contains("checksum"), "\(typo.stderr)")
        // An invite nobody published (made offline, never pushed) is named as such.
        let other = s.agent("other")
        try other.write("x.txt", "x\n")
        let otherRepo = s.root.appendingPathComponent("other.git").path
        try other.ok(["init", other.folder, "--remote", otherRepo, "--no-passphrase"])
        let foreign = try Self.invite(other)
        let wrongVault = try late.run(["join", s.remote, late.folder, "--invite", foreign, "--no-passphrase"])
        #expect(wrongVault.status == 2, "\(wrongVault.stderr)")
        #expect(wrongVault.stderr.contains("another vault") || wrongVault.stderr.contains("is not in this vault's history"), "\(wrongVault.stderr)")

        // A read-only machine cannot admit anyone.
        try reader.ok(["join", s.remote, reader.folder, "--key-file", try laptop.exportKey(["--read-only"]), "--no-passphrase"])
        let refused = try reader.run(["device", "invite", "--folder", reader.folder])
        #expect(refused.status == 2 && refused.stderr.contains("read-only device: it cannot admit"), "\(refused.stderr)")

        // --invite-file keeps the invite out of the process list; case and spaces are forgiven as for --invite.
        let notAnInvite = s.root.appendingPathComponent("not-an-invite.txt").path
        try "hello\n".write(toFile: notAnInvite, atomically: true, encoding: .utf8)
        let wrongFile = try late.run(["join", s.remote, late.folder, "--invite-file", notAnInvite, "--no-passphrase"])
        #expect(wrongFile.status == 2 && wrongFile.stderr.contains("does not hold a ShadowSync invite"), "\(wrongFile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: late.folder))
        let forLate = try Self.invite(laptop, ["--name", "late"])
        let inviteFile = s.root.appendingPathComponent("invite-late.txt").path
        let spaced = forLate.uppercased().enumerated().map { $0.offset % 8 == 7 ? "\($0.element) " : "\($0.element)" }.joined()
        try (spaced + "\n").write(toFile: inviteFile, atomically: true, encoding: .utf8)
        try late.ok(["join", s.remote, late.folder, "--invite-file", inviteFile, "--no-passphrase"])
        #expect(late.read("doc.txt") == "one\n")
        #expect(try DeviceTests.devices(late)["late"]?["admitted_by"] as? String == "laptop")

        // An invite's lifetime is bounded (a year), so the expiry time cannot overflow.
        for hours in ["8761", "9223372036854775807", "0"] {
            let tooLong = try laptop.run(["device", "invite", "--folder", laptop.folder, "--expires-hours", hours])
            #expect(tooLong.status == 2 && tooLong.stderr.contains("--expires-hours must be between 1 and 8760"), "\(hours): \(tooLong.stderr)")
        }
        for agent in [laptop, desktop, stolen, reader, late] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }
}
