import Foundation
import Testing
import TestSupport
import ShadowCore
import ShadowCrypto

/// Revoking a stolen machine, through the binary: laptop, desktop and stolen join by invite; the
/// laptop revokes stolen; what stolen signs from then on is refused by every machine and by the
/// server hook, while laptop and desktop go on syncing.
@Suite(.serialized) struct RevocationTests {
    /// Three machines joined by invite, all in sync.
    static func threeMachines(_ s: Scratch, remote: String, extra: [String] = []) throws -> (Agent, Agent, Agent) {
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), stolen = s.agent("stolen")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", remote, "--no-passphrase", "--device-name", "laptop"] + extra)
        for (agent, name) in [(desktop, "desktop"), (stolen, "stolen")] {
            let invite = try InviteTests.invite(laptop, ["--name", name])
            try agent.ok(["join", remote, agent.folder, "--invite", invite, "--no-passphrase"] + extra)
        }
        for agent in [laptop, desktop, stolen] { try agent.sync() }
        return (laptop, desktop, stolen)
    }

    /// What a thief does with the stolen machine's key file and a modified client: a commit on top of
    /// `parent`, signed with the stolen device's key, with valid metadata. Returns its id, written into
    /// the stolen machine's shadow repository.
    static func forgedCommit(by agent: Agent, parent: String) throws -> String {
        let shadow = try agent.ok(["config", "get", "shadow", "--folder", agent.folder]).trimmingCharacters(in: .whitespacesAndNewlines)
        let keys = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: shadow + "/shadowsync.key"))), passphrase: nil)
        let device = try keys.requireDevice()
        func git(_ args: [String], input: String? = nil) throws -> String {
            let r = try TestProcess.run("/usr/bin/git", ["-C", shadow] + args, stdin: input.map { Array($0.utf8) })
            #expect(r.status == 0, "git \(args): \(r.stderr)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let tree = try git(["rev-parse", "\(parent)^{tree}"])
        let meta = try CommitMetadata(deviceID: device.id, sequence: 1_000_000, wallTimeMillis: 1_800_000_000_000, epoch: 0).seal(keys: keys)
        let identity = "shdw <shdw@invalid> 0 +0000"
        let body = "tree \(tree)\nparent \(parent)\nauthor \(identity)\ncommitter \(identity)\n\nShdw-Meta: \(meta)\n"
        let signature = Signatures.text(Signatures.sign(Array(body.utf8), purpose: .commit, device: device, vaultID: keys.vaultID))
        let signed = body.replacingOccurrences(of: "committer \(identity)\n", with: "committer \(identity)\nshdwsig \(signature)\n")
        return try git(["hash-object", "-t", "commit", "-w", "--stdin"], input: signed)
    }

    @Test func aRevokedDevicesCommitsAreRefusedEverywhereAndTheOthersGoOn() throws {
        let s = try Scratch("revoke")
        let (laptop, desktop, stolen) = try Self.threeMachines(s, remote: s.remote)
        let revoked = try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        #expect(revoked.contains("revoked device stolen"), "\(revoked)")
        try desktop.sync()
        let listed = try DeviceTests.devices(desktop)
        #expect(listed["stolen"]?["revoked"] as? Bool == true && listed["laptop"]?["revoked"] as? Bool == false)

        // The stolen machine's own client stops: its changes are no longer accepted.
        try stolen.write("from-thief.txt", "mine now\n")
        let refusedHere = try stolen.run(["sync", "--folder", stolen.folder])
        #expect(refusedHere.status != 0 && refusedHere.stderr.contains("this device was revoked"), "\(refusedHere.stderr)")
        // A modified client signs anyway and pushes with plain git: the server (no hook here) takes it.
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let forged = try Self.forgedCommit(by: stolen, parent: good)
        let shadow = try stolen.ok(["config", "get", "shadow", "--folder", stolen.folder]).trimmingCharacters(in: .whitespacesAndNewlines)
        let push = try TestProcess.run("/usr/bin/git", ["-C", shadow, "push", "-q", s.remote, "\(forged):refs/heads/main"])
        #expect(push.status == 0, "\(push.stderr)")
        // Both remaining machines refuse it, name the revoked device, and change nothing.
        for agent in [laptop, desktop] {
            let before = agent.snapshot()
            let r = try agent.run(["sync", "--folder", agent.folder])
            #expect(r.status == 2, "\(r.status) \(r.stderr)")
            #expect(r.stderr.contains("which device") && r.stderr.contains("revoked: its changes are refused") && r.stderr.contains("nothing was changed locally"), "\(r.stderr)")
            #expect(agent.snapshot() == before)
        }
        // Once the server's branch is back on the last good commit, the two go on syncing.
        try s.git(["update-ref", "refs/heads/main", good])
        try laptop.write("after.txt", "written after the revocation\n")
        try laptop.sync()
        try desktop.sync()
        #expect(desktop.read("after.txt") == "written after the revocation\n")
        #expect(desktop.read("from-thief.txt") == nil)
        for agent in [laptop, desktop] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }

    /// The same over a real sshd with the shipped pre-receive hook: the forged push never lands.
    @Test(.enabled(if: SSHServer.available)) func theServerHookRefusesARevokedDevicesPush() throws {
        let server = try SSHServer.info()
        let s = try Scratch("revoke-hook")
        let repo = try s.serverRepository()
        let ssh = ["--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        let (laptop, desktop, stolen) = try Self.threeMachines(s, remote: server.url(repo), extra: ssh)
        try (try laptop.ok(["key", "export", "--verify-only", "--folder", laptop.folder])).write(toFile: repo + "/shadowsync-verify", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Hooks/pre-receive").path,
                                         toPath: repo + "/hooks/pre-receive")
        #expect(SSHServer.shell(["git", "-C", repo, "config", "shadowsync.binary", Binaries.productsDirectory.appendingPathComponent("shadowsync").path]).status == 0)
        try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        _ = try stolen.run(["sync", "--folder", stolen.folder])  // fetches the revocation, refuses to commit
        let good = SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let forged = try Self.forgedCommit(by: stolen, parent: good)
        let shadow = try stolen.ok(["config", "get", "shadow", "--folder", stolen.folder]).trimmingCharacters(in: .whitespacesAndNewlines)
        let sshCommand = "ssh -i \(server.key("client_ed25519")) -o UserKnownHostsFile=\(server.knownHosts) -o BatchMode=yes -p \(server.port)"
        let push = SSHServer.shell(["git", "-C", shadow, "push", server.url(repo), "\(forged):refs/heads/main"], environment: ["GIT_SSH_COMMAND": sshCommand])
        #expect(push.status != 0)
        #expect(push.output.contains("pre-receive hook declined") && push.output.contains("revoked"), "\(push.output)")
        #expect(SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines) == good)
        // Laptop and desktop keep syncing through the hook.
        try desktop.write("d.txt", "from desktop\n")
        try desktop.sync()
        try laptop.sync()
        #expect(laptop.read("d.txt") == "from desktop\n")
    }

    @Test func aReadOnlyDeviceCannotRevoke() throws {
        let s = try Scratch("revoke-ro")
        let laptop = s.agent("laptop"), reader = s.agent("reader")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try reader.ok(["join", s.remote, reader.folder, "--key-file", try laptop.exportKey(["--read-only"]), "--no-passphrase"])
        let r = try reader.run(["device", "revoke", "laptop", "--folder", reader.folder])
        #expect(r.status == 2 && r.stderr.contains("read-only device: it cannot revoke"), "\(r.stderr)")
        let own = try laptop.run(["device", "revoke", "laptop", "--folder", laptop.folder])
        #expect(own.status == 2 && own.stderr.contains("the device you are on"), "\(own.stderr)")
    }
}

/// The recovery key: exported once from the machine that created the vault, it is all that is needed
/// when every machine is lost.
@Suite struct RecoveryKeyTests {
    @Test func theRecoveryKeyDecryptsAndAdmitsANewDeviceWhenEveryMachineIsLost() throws {
        let s = try Scratch("recovery")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), fresh = s.agent("fresh")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        let recovery = try laptop.run(["key", "export", "--recovery", "--folder", laptop.folder])
        #expect(recovery.status == 0 && recovery.stdout.hasPrefix("shdw1-rw-") && recovery.stderr.contains("keep it offline"), "\(recovery.stderr)")
        let file = s.root.appendingPathComponent("recovery.txt").path
        try recovery.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop), "--no-passphrase", "--device-name", "desktop"])
        try desktop.write("later.txt", "written by the desktop\n")
        try desktop.sync()
        // A device joined by invite has no recovery key to give.
        let none = try desktop.run(["key", "export", "--recovery", "--folder", desktop.folder])
        #expect(none.status == 2 && none.stderr.contains("no recovery key"), "\(none.stderr)")

        // Both machines are gone; the recovery key alone reads everything and admits a new machine.
        for agent in [laptop, desktop] { try FileManager.default.removeItem(atPath: agent.home) }
        let out = s.root.appendingPathComponent("restored").path
        #expect(try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", file, "--to", out]).status == 0)
        #expect(try String(contentsOfFile: out + "/later.txt", encoding: .utf8) == "written by the desktop\n")
        try fresh.ok(["join", s.remote, fresh.folder, "--key-file", file, "--no-passphrase", "--device-name", "fresh"])
        try fresh.write("after-loss.txt", "new machine\n")
        try fresh.sync()
        let listed = try DeviceTests.devices(fresh)
        #expect(listed["fresh"]?["admitted_by"] as? String == "vault key" && listed.count == 3)
        #expect(try fresh.ok(["fsck", "--folder", fresh.folder]).hasPrefix("ok: "))
    }
}
