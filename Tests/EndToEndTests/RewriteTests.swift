import Foundation
import Testing
import TestSupport
import ShadowCore
import ShadowCrypto

/// Signed history rewrites through the binary (FORMAT.md §5.4): `forget` of a large file on one machine,
/// the space given back on the bare repository, the other machines (one of them offline with edits of
/// its own) following; a rewrite no writer signed refused; a refused head replaced.
@Suite(.serialized) struct RewriteTests {
    /// The bytes of every file under `path`.
    static func diskBytes(_ path: String) -> Int {
        var total = 0
        if let walk = FileManager.default.enumerator(atPath: path) {
            for case let name as String in walk {
                let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
                if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
            }
        }
        return total
    }

    static func shadow(_ agent: Agent) throws -> String {
        try agent.ok(["config", "get", "shadow", "--folder", agent.folder]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let bigBytes = 40 << 20

    @Test func forgettingALargeFileGivesItsSpaceBackAndEveryMachineFollows() throws {
        let s = try Scratch("forget")
        let (laptop, desktop, offline) = try RevocationTests.threeMachines(s, remote: s.remote)
        // Random, so neither git nor the packs can shrink it: the space forget gives back is all of it.
        let big = Array(try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: Self.bigBytes))
        try laptop.write(Array("big.bin".utf8), big)
        try laptop.sync()
        try desktop.sync()
        try offline.sync()
        #expect(offline.read("doc.txt") == "one\n" && FileManager.default.fileExists(atPath: offline.folder + "/big.bin"))
        try laptop.remove("big.bin")
        try laptop.sync()
        try desktop.sync()
        // The offline machine edits while the rewrite happens: it must keep every edit.
        try offline.write("doc.txt", "one, edited offline\n")
        try offline.write("offline.txt", "written offline\n")

        let asked = try laptop.run(["forget", "big.bin", "--folder", laptop.folder])
        #expect(asked.status != 0 && asked.stdout.contains("would forget big.bin") && asked.stdout.contains("1 version(s), \(Self.bigBytes) bytes"),
                "\(asked.stdout) \(asked.stderr)")
        let present = try desktop.run(["forget", "doc.txt", "--yes", "--folder", desktop.folder])
        #expect(present.status == 2 && present.stderr.contains("still in the folder"), "\(present.stderr)")

        let before = Self.diskBytes(s.remote)
        let done = try laptop.ok(["forget", "big.bin", "--yes", "--folder", laptop.folder])
        #expect(done.contains("forgot    big.bin") && done.contains("pushed") && done.contains("reclaimed the remote"), "\(done)")
        try s.git(["gc", "-q", "--prune=now"])
        let after = Self.diskBytes(s.remote)
        #expect(before - after > Self.bigBytes * 9 / 10, "bare repository: \(before) → \(after) bytes")
        #expect(Self.diskBytes(try Self.shadow(laptop) + "/.git") < Self.bigBytes / 4)

        let followed = try desktop.ok(["sync", "--folder", desktop.folder])
        #expect(followed.contains("rewritten history from the server"), "\(followed)")
        #expect(Self.diskBytes(try Self.shadow(desktop) + "/.git") < Self.bigBytes / 4)
        let offlineSync = try offline.ok(["sync", "--folder", offline.folder])
        #expect(offlineSync.contains("rewritten history from the server"), "\(offlineSync)")
        #expect(offline.read("doc.txt") == "one, edited offline\n" && offline.read("offline.txt") == "written offline\n")
        #expect(!FileManager.default.fileExists(atPath: offline.folder + "/big.bin"))
        try desktop.sync()
        try laptop.sync()
        for agent in [laptop, desktop, offline] {
            #expect(agent.read("offline.txt") == "written offline\n" && agent.read("doc.txt") == "one, edited offline\n")
            let log = try agent.ok(["log", "--folder", agent.folder])
            #expect(!log.contains("big.bin") && log.contains("doc.txt"), "\(agent.name): \(log)")
            #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: "))
        }
    }

    static func commitCount(_ agent: Agent) throws -> Int {
        try agent.ok(["log", "--folder", agent.folder]).split(separator: "\n").filter { $0.contains("  device ") }.count
    }

    @Test func retentionKeepsTheNewestCommitsAndTheOtherMachineFollows() throws {
        let s = try Scratch("retention")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop")
        try laptop.write("doc.txt", "v0\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop, ["--name", "desktop"]), "--no-passphrase"])
        try laptop.sync()
        for i in 1...6 {
            try laptop.write("doc.txt", "v\(i)\n")
            try laptop.sync()
        }
        try desktop.sync()
        let before = try Self.commitCount(laptop)
        let asked = try laptop.run(["forget", "--keep-last", "2", "--folder", laptop.folder])
        #expect(asked.status != 0 && asked.stdout.contains("would keep") && asked.stdout.contains("squash"), "\(asked.stdout) \(asked.stderr)")
        let done = try laptop.ok(["forget", "--keep-last", "2", "--yes", "--folder", laptop.folder])
        #expect(done.contains("squashed") && done.contains("pushed"), "\(done)")
        let after = try Self.commitCount(laptop)
        #expect(after < before && after >= 2, "\(before) → \(after)")
        #expect(try desktop.ok(["sync", "--folder", desktop.folder]).contains("rewritten history from the server"))
        #expect(try Self.commitCount(desktop) == after)
        #expect(desktop.read("doc.txt") == "v6\n")
        #expect(try desktop.ok(["show", "doc.txt", "--at", "HEAD~1", "--folder", desktop.folder]) == "v5\n")
        for agent in [laptop, desktop] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }

    /// A forget killed between moving the branch and pushing: the next sync pushes the rewrite.
    @Test func aForgetCutOffBeforeItsPushIsPushedByTheNextSync() throws {
        let s = try Scratch("forget-crash")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop")
        try laptop.write("doc.txt", "one\n")
        try laptop.write("oops.txt", "pasted by mistake\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop, ["--name", "desktop"]), "--no-passphrase"])
        try laptop.remove("oops.txt")
        try laptop.sync()
        try desktop.sync()
        let killed = try laptop.run(["forget", "oops.txt", "--yes", "--folder", laptop.folder], crashAt: "rewrite-ref")
        #expect(killed.status != 0)
        let resumed = try laptop.ok(["sync", "--folder", laptop.folder])
        #expect(resumed.contains("pushed"), "\(resumed)")
        #expect(try desktop.ok(["sync", "--folder", desktop.folder]).contains("rewritten history from the server"))
        for agent in [laptop, desktop] {
            #expect(!(try agent.ok(["log", "--folder", agent.folder])).contains("oops.txt"))
            #expect(agent.read("doc.txt") == "one\n")
        }
    }

    /// A device admitted after a file was added forgets it: the re-created commits from before its
    /// admission are vouched for by the tip of the rewrite, and every machine verifies them from the root.
    @Test func aDeviceAdmittedLaterCanForgetWhatCameBeforeIt() throws {
        let s = try Scratch("forget-later")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop")
        try laptop.write("doc.txt", "one\n")
        try laptop.write("oops.txt", "in the first commit\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop, ["--name", "desktop"]), "--no-passphrase"])
        try desktop.remove("oops.txt")
        try desktop.sync()
        try laptop.sync()
        let done = try desktop.ok(["forget", "oops.txt", "--yes", "--folder", desktop.folder])
        #expect(done.contains("forgot    oops.txt"), "\(done)")
        #expect(try laptop.ok(["sync", "--folder", laptop.folder]).contains("rewritten history from the server"))
        for agent in [laptop, desktop] {
            #expect(!(try agent.ok(["log", "--folder", agent.folder])).contains("oops.txt"))
            #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: "))
        }
        let fresh = s.agent("fresh")
        try fresh.ok(["join", s.remote, fresh.folder, "--invite", try InviteTests.invite(laptop, ["--name", "fresh"]), "--no-passphrase"])
        #expect(fresh.read("doc.txt") == "one\n" && fresh.read("oops.txt") == nil)
    }

    /// A running daemon replaces a head signed by a revoked device by itself; the other machine syncs on.
    @Test func aDaemonReplacesARevokedDevicesHeadByItself() throws {
        let s = try Scratch("rwd")  // the control socket's path stays under 108 bytes
        let (laptop, desktop, stolen) = try RevocationTests.threeMachines(s, remote: s.remote)
        try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        try desktop.sync()
        _ = try stolen.run(["sync", "--folder", stolen.folder])  // fetches the revocation, refuses to commit
        try laptop.setFastTimings()
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let forged = try RevocationTests.forgedCommit(by: stolen, parent: good)
        let push = try TestProcess.run("/usr/bin/git", ["-C", try Self.shadow(stolen), "push", "-q", s.remote, "\(forged):refs/heads/main"])
        #expect(push.status == 0, "\(push.stderr)")
        let daemon = try RunningDaemon(laptop)
        try eventually("the daemon replaces the revoked device's head") {
            let head = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
            return head != forged && head != good
        }
        // The server's head moves before the daemon's log line is written.
        try eventually("the daemon logs the replacement") { daemon.log.contains("replaced the server's head \(forged.prefix(12))") }
        _ = daemon.stop()
        try desktop.write("d.txt", "from desktop\n")
        try desktop.sync()
        try laptop.sync()
        #expect(laptop.read("d.txt") == "from desktop\n")
        #expect(try TestProcess.run("/usr/bin/git", ["-C", s.remote, "merge-base", "--is-ancestor", forged, "main"]).status == 1)
    }

    /// A rewrite commit for `agent`'s key: `tree` with `parent` (none: a new root), a rewrite record
    /// naming `replaces`, signed with the agent's device key (nil: unsigned).
    static func rewriteCommit(by agent: Agent, signed: Bool, tree: String, parent: String?, replaces: String, in git: (([String], String?) throws -> String)) throws -> String {
        let keys = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: try shadow(agent) + "/shadowsync.key"))), passphrase: nil)
        let device = try keys.requireDevice()
        let meta = try CommitMetadata(deviceID: device.id, sequence: 2_000_000, wallTimeMillis: 1_800_000_000_000, epoch: 0).seal(keys: keys)
        let identity = "shdw <shdw@invalid> 0 +0000"
        let body = "tree \(tree)\n" + (parent.map { "parent \($0)\n" } ?? "") + "author \(identity)\ncommitter \(identity)\n\nShdw-Meta: \(meta)\nShdw-Rewrite: \(replaces)\n"
        var object = body
        if signed {
            let signature = Signatures.text(Signatures.sign(Array(body.utf8), purpose: .commit, device: device, vaultID: keys.vaultID))
            object = body.replacingOccurrences(of: "committer \(identity)\n", with: "committer \(identity)\nshdwsig \(signature)\n")
        }
        return try git(["hash-object", "-t", "commit", "-w", "--stdin"], object).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aRewriteNoWriterSignedIsRefusedByEveryMachine() throws {
        let s = try Scratch("rewrite-refused")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), reader = s.agent("reader")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop, ["--name", "desktop"]), "--no-passphrase"])
        try reader.ok(["join", s.remote, reader.folder, "--invite", try InviteTests.invite(laptop, ["--read-only", "--name", "reader"]), "--no-passphrase"])
        try laptop.write("doc.txt", "two\n")
        try laptop.sync()
        try desktop.sync()
        let head = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let root = try s.git(["rev-list", "--max-parents=0", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let rootTree = try s.git(["rev-parse", "\(root)^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let git: ([String], String?) throws -> String = { args, input in try s.git(args, input: input) }
        // Unsigned, and signed by a read-only device: both "replace" main with the root's tree.
        let unsigned = try Self.rewriteCommit(by: laptop, signed: false, tree: rootTree, parent: root, replaces: head, in: git)
        let readOnly = try Self.rewriteCommit(by: reader, signed: true, tree: rootTree, parent: root, replaces: head, in: git)
        for forged in [unsigned, readOnly] {
            try s.git(["update-ref", "refs/heads/main", forged])
            for agent in [laptop, desktop] {
                let before = agent.snapshot()
                let r = try agent.run(["sync", "--folder", agent.folder])
                #expect(r.status == 2 && r.stderr.contains("nothing was changed locally"), "\(r.status) \(r.stderr)")
                #expect(agent.snapshot() == before)
            }
        }
        // A writer pushes its own history back over the refused head, naming it.
        let replaced = try laptop.ok(["sync", "--replace-refused", "--folder", laptop.folder])
        #expect(replaced.contains("replaced the server's refused head \(readOnly.prefix(12))"), "\(replaced)")
        try desktop.write("d.txt", "from desktop\n")
        try desktop.sync()
        try laptop.sync()
        #expect(laptop.read("d.txt") == "from desktop\n" && desktop.read("doc.txt") == "two\n")
    }

    /// A revoked device "rewrites" history back to before its revocation, naming the head it replaces:
    /// the tip of that rewrite lacks the revocation the others verified, so they refuse it.
    @Test func aRevokedDeviceCannotRewriteItsRevocationAway() throws {
        let s = try Scratch("rewrite-revoked")
        let (laptop, desktop, stolen) = try RevocationTests.threeMachines(s, remote: s.remote)
        try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        try desktop.sync()
        let head = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try s.git(["rev-parse", "main~1"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let tree = try s.git(["rev-parse", "\(before)^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let git: ([String], String?) throws -> String = { args, input in try s.git(args, input: input) }
        let forged = try Self.rewriteCommit(by: stolen, signed: true, tree: tree, parent: before, replaces: head, in: git)
        try s.git(["update-ref", "refs/heads/main", forged])
        for agent in [laptop, desktop] {
            let snapshot = agent.snapshot()
            let r = try agent.run(["sync", "--folder", agent.folder])
            #expect(r.status == 2 && r.stderr.contains("does not contain commit \(head.prefix(12))"), "\(r.status) \(r.stderr)")
            #expect(agent.snapshot() == snapshot)
        }
    }

    /// Over a real sshd with the shipped pre-receive hook: an unsigned rewrite and a read-only one are
    /// declined, `forget` (a writer's rewrite) is taken, and a head a revoked device put past the hook
    /// is replaced with `sync --replace-refused`.
    @Test(.enabled(if: SSHServer.available)) func theServerHookTakesAWritersRewriteOnly() throws {
        let server = try SSHServer.info()
        let s = try Scratch("rewrite-hook")
        let repo = try s.serverRepository()
        let ssh = ["--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        let (laptop, desktop, stolen) = try RevocationTests.threeMachines(s, remote: server.url(repo), extra: ssh)
        try (try laptop.ok(["key", "export", "--verify-only", "--folder", laptop.folder])).write(toFile: repo + "/shadowsync-verify", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Hooks/pre-receive").path,
                                         toPath: repo + "/hooks/pre-receive")
        #expect(SSHServer.shell(["git", "-C", repo, "config", "shadowsync.binary", Binaries.productsDirectory.appendingPathComponent("shadowsync").path]).status == 0)
        func serverHead() -> String { SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines) }
        let sshCommand = "ssh -i \(server.key("client_ed25519")) -o UserKnownHostsFile=\(server.knownHosts) -o BatchMode=yes -p \(server.port)"

        let reader = s.agent("reader")
        try reader.ok(["join", server.url(repo), reader.folder, "--invite", try InviteTests.invite(laptop, ["--read-only", "--name", "reader"]), "--no-passphrase"] + ssh)
        try laptop.write("secret.txt", "pasted by mistake\n")
        try laptop.sync()
        try laptop.remove("secret.txt")
        try laptop.sync()
        try desktop.sync()
        let good = serverHead()
        let shadow = try Self.shadow(laptop)
        let git: ([String], String?) throws -> String = { args, input in
            let r = try TestProcess.run("/usr/bin/git", ["-C", shadow] + args, stdin: input.map { Array($0.utf8) })
            return r.stdout
        }
        let root = try git(["rev-list", "--max-parents=0", good], nil).trimmingCharacters(in: .whitespacesAndNewlines)
        let rootTree = try git(["rev-parse", "\(root)^{tree}"], nil).trimmingCharacters(in: .whitespacesAndNewlines)
        // Unsigned, and signed by a read-only device: the hook declines both.
        for (agent, signed) in [(laptop, false), (reader, true)] {
            let forged = try Self.rewriteCommit(by: agent, signed: signed, tree: rootTree, parent: root, replaces: good, in: git)
            let push = SSHServer.shell(["git", "-C", shadow, "push", "-f", server.url(repo), "\(forged):refs/heads/main"], environment: ["GIT_SSH_COMMAND": sshCommand])
            #expect(push.status != 0 && push.output.contains("pre-receive hook declined"), "\(push.output)")
            #expect(serverHead() == good)
        }
        // A writer's forget goes through the hook.
        let done = try laptop.ok(["forget", "secret.txt", "--yes", "--folder", laptop.folder])
        #expect(done.contains("forgot    secret.txt") && done.contains("pushed"), "\(done)")
        let rewritten = serverHead()
        #expect(rewritten != good)
        #expect(try desktop.ok(["sync", "--folder", desktop.folder]).contains("rewritten history from the server"))
        #expect(!(try desktop.ok(["log", "--folder", desktop.folder])).contains("secret.txt"))

        // The stolen machine is revoked; a commit it signed lands on the server past the hook (written
        // there directly, as before the hook was installed). The laptop replaces it through the hook.
        try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        _ = try stolen.run(["sync", "--folder", stolen.folder])
        let last = serverHead()
        let forged = try RevocationTests.forgedCommit(by: stolen, parent: last)
        let stolenShadow = try Self.shadow(stolen)
        // Past the hook: the object copied in and main moved by hand on the server.
        let copy = try TestProcess.run("/bin/sh", ["-c", "git -C \"$1\" cat-file commit \"$2\" | git -C \"$3\" hash-object -t commit -w --stdin && git -C \"$3\" update-ref refs/heads/main \"$2\"",
                                                   "sh", stolenShadow, forged, repo])
        #expect(copy.status == 0 && serverHead() == forged, "\(copy.stderr)")
        let refused = try desktop.run(["sync", "--folder", desktop.folder])
        #expect(refused.status == 2 && refused.stderr.contains("revoked"), "\(refused.stderr)")
        let replaced = try laptop.ok(["sync", "--replace-refused", "--folder", laptop.folder])
        #expect(replaced.contains("replaced the server's refused head"), "\(replaced)")
        #expect(serverHead() != forged)
        try desktop.write("d.txt", "from desktop\n")
        try desktop.sync()
        try laptop.sync()
        #expect(laptop.read("d.txt") == "from desktop\n")
    }
}
