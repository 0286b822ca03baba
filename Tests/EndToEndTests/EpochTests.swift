import Foundation
import Testing
import TestSupport
import ShadowCore

/// Key epochs through the binary: after `device revoke` of a machine joined by invite, what is written
/// is sealed under a key the revoked machine never receives, whatever it kept (its key file, the
/// strings it exported, its shadow repository), by ShadowSync's own reader and by the format's second
/// implementation alike; a revoked machine that holds the vault key is told apart and keeps reading.
@Suite(.serialized) struct EpochTests {
    /// The name records (`.n`) that `commit` adds to its first parent, read from the bare remote.
    static func addedNameRecords(_ s: Scratch, _ commit: String) throws -> [String] {
        try s.git(["diff-tree", "-r", "--name-only", "--diff-filter=A", "\(commit)~1", commit]).split(separator: "\n")
            .map(String.init).filter { $0.hasSuffix(".n") }
    }

    /// Writes a blob of the remote into a file and returns its path.
    static func blobFile(_ s: Scratch, _ commit: String, _ path: String, as name: String) throws -> String {
        let file = s.root.appendingPathComponent(name).path
        let r = try TestProcess.run("/usr/bin/git", ["-C", s.remote, "cat-file", "blob", "\(commit):\(path)"])
        #expect(r.status == 0, "\(r.stderr)")
        try Data(r.stdoutBytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Runs the format's second implementation on one name record with one capability.
    static func formatCheckOpen(_ record: String, _ capability: String) throws -> Binaries.Outcome {
        let script = SSHServer.testsDirectory.appendingPathComponent("format-check.py").path
        return try TestProcess.run("/usr/bin/python3", [script, "--open", record, capability])
    }

    @Test func aFileWrittenAfterARevocationStaysSealedFromTheRevokedMachine() throws {
        let s = try Scratch("epoch-revoke")
        let (laptop, desktop, stolen) = try RevocationTests.threeMachines(s, remote: s.remote)
        // Everything the thief keeps: the key file, a string exported while it was trusted, the shadow repository.
        let stolenShadow = try stolen.ok(["config", "get", "shadow", "--folder", stolen.folder]).trimmingCharacters(in: .whitespacesAndNewlines)
        let stolenKeyFile = stolenShadow + "/shadowsync.key"
        let stolenExport = try stolen.exportKey(["--read-only"])
        let recovery = try laptop.exportKey(["--recovery"])

        let revoked = try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        #expect(revoked.contains("new key epoch"), "\(revoked)")
        try laptop.write("after.txt", "written after the revocation\n")
        try laptop.sync()
        let head = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let added = try Self.addedNameRecords(s, head)
        #expect(added.count == 1, "\(added)")
        let record = try Self.blobFile(s, head, added[0], as: "after.n")

        // The others sync on and read it; the revoked machine's client fetches it but reads nothing.
        try desktop.sync()
        #expect(desktop.read("after.txt") == "written after the revocation\n")
        _ = try stolen.run(["sync", "--folder", stolen.folder])
        #expect(stolen.read("after.txt") == nil)
        let fetched = try TestProcess.run("/usr/bin/git", ["-C", stolenShadow, "fetch", "-q", s.remote, "main:refs/remotes/thief/main"])
        #expect(fetched.status == 0, "\(fetched.stderr)")

        // ShadowSync's own reader, with each thing the thief holds, on the server and on its own copy.
        for (repository, keyArgs) in [(s.remote, ["--key-file", stolenKeyFile]), (s.remote, ["--key-file", stolenExport]),
                                      (stolenShadow, ["--key-file", stolenKeyFile])] {
            let out = s.root.appendingPathComponent("thief-\(UUID().uuidString)").path
            let r = try Binaries.run("shadowsync", ["decrypt", repository, "--to", out, "--rev", head] + keyArgs)
            #expect(r.status != 0 && r.stderr.contains("key epoch 1"), "\(r.status) \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out + "/after.txt"))
        }
        // The format's own rules, from a second implementation: the stolen string cannot open the record;
        // the desktop's read key (exported after it received the new epoch) can.
        let refused = try Self.formatCheckOpen(record, stolenExport)
        #expect(refused.status == 1 && refused.stdout.contains("sealed under key epoch 1") && refused.stdout.contains("does not verify"), "\(refused.stdout) \(refused.stderr)")
        let opened = try Self.formatCheckOpen(record, try desktop.exportKey(["--read-only"]))
        #expect(opened.status == 0 && opened.stdout == "after.txt\n", "\(opened.stdout) \(opened.stderr)")

        // The recovery key reads every epoch into a new folder.
        let restored = s.root.appendingPathComponent("restored").path
        let r = try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", recovery, "--to", restored])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: restored + "/doc.txt", encoding: .utf8) == "one\n")
        #expect(try String(contentsOfFile: restored + "/after.txt", encoding: .utf8) == "written after the revocation\n")
        // ... and admits a new device, which reads every epoch and writes under the newest.
        let rescued = s.agent("rescued")
        try rescued.ok(["join", s.remote, rescued.folder, "--key-file", recovery, "--no-passphrase", "--device-name", "rescued"])
        #expect(rescued.read("doc.txt") == "one\n" && rescued.read("after.txt") == "written after the revocation\n")
        // A machine invited after the revocation reaches the old epoch through the chain.
        let fresh = s.agent("fresh")
        try fresh.ok(["join", s.remote, fresh.folder, "--invite", try InviteTests.invite(desktop, ["--name", "fresh"]), "--no-passphrase"])
        #expect(fresh.read("doc.txt") == "one\n" && fresh.read("after.txt") == "written after the revocation\n")
        try fresh.write("fresh.txt", "from the new machine\n")
        try fresh.sync()
        for agent in [laptop, desktop, rescued] {
            try agent.sync()
            #expect(agent.read("fresh.txt") == "from the new machine\n")
        }
        let latest = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let r2 = try Binaries.run("shadowsync", ["decrypt", s.remote, "--to", s.root.appendingPathComponent("thief-late").path, "--rev", latest, "--key-file", stolenKeyFile])
        #expect(r2.status != 0 && r2.stderr.contains("key epoch 1"), "\(r2.stderr)")
        for agent in [laptop, desktop, fresh] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }

    /// A machine that holds the vault key (joined with a read-write key string, like the one that ran
    /// `init`) derives the recovery key every epoch is sealed to: `device revoke` says it keeps reading,
    /// on the terminal and in `--json`, and says nothing of the kind for a machine joined by invite.
    @Test func revokingAMachineThatHoldsTheVaultKeySaysItKeepsReading() throws {
        let s = try Scratch("epoch-vault-key")
        let laptop = s.agent("laptop"), bee = s.agent("bee"), dee = s.agent("dee"), cee = s.agent("cee")
        try laptop.write("doc.txt", "one\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        let key = try laptop.exportKey([])
        for (agent, name) in [(bee, "bee"), (dee, "dee")] {
            try agent.ok(["join", s.remote, agent.folder, "--key-file", key, "--no-passphrase", "--device-name", name])
        }
        try cee.ok(["join", s.remote, cee.folder, "--invite", try InviteTests.invite(laptop, ["--name", "cee"]), "--no-passphrase"])
        try laptop.sync()
        func keyFile(_ agent: Agent) throws -> String {
            try agent.ok(["config", "get", "shadow", "--folder", agent.folder]).trimmingCharacters(in: .whitespacesAndNewlines) + "/shadowsync.key"
        }
        let beeKey = try keyFile(bee), ceeKey = try keyFile(cee)

        let text = try laptop.ok(["device", "revoke", "bee", "--folder", laptop.folder])
        #expect(text.contains("revoked device bee") && text.contains("NOT hidden from it") && text.contains("it holds the vault key")
                && text.contains("only a new vault shuts it out") && !text.contains("never receives"), "\(text)")
        func revokeJSON(_ name: String) throws -> [String: Any] {
            let out = try laptop.ok(["device", "revoke", name, "--json", "--folder", laptop.folder])
            return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        }
        let held = try revokeJSON("dee")
        #expect(held["device"] as? String == "dee" && held["epoch"] as? Int == 2 && held["holds_vault_key"] as? Bool == true
                && held["reads_new_epochs"] as? Bool == true && (held["advice"] as? String)?.contains("only a new vault") == true, "\(held)")
        let invited = try revokeJSON("cee")
        #expect(invited["device"] as? String == "cee" && invited["epoch"] as? Int == 3 && invited["holds_vault_key"] as? Bool == false
                && invited["reads_new_epochs"] as? Bool == false && invited["advice"] is NSNull && invited["pass"] is [String: Any], "\(invited)")

        // What the warning says is so: bee's key file opens what is written afterwards; cee's does not.
        try laptop.write("after2.txt", "written after both revocations\n")
        try laptop.sync()
        let byBee = s.root.appendingPathComponent("bee-reads").path
        let opened = try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", beeKey, "--to", byBee])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(try String(contentsOfFile: byBee + "/after2.txt", encoding: .utf8) == "written after both revocations\n")
        let byCee = s.root.appendingPathComponent("cee-reads").path
        let refused = try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", ceeKey, "--to", byCee])
        #expect(refused.status != 0 && refused.stderr.contains("key epoch 3"), "\(refused.status) \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: byCee + "/after2.txt"))
    }

    @Test func keyRotateStartsAnEpochAndReencryptsOnlyWhenAsked() throws {
        let s = try Scratch("epoch-rotate")
        let laptop = s.agent("laptop"), desktop = s.agent("desktop"), reader = s.agent("reader")
        try laptop.write("doc.txt", "one\n")
        try laptop.write("dir/old.txt", "old\n")
        try laptop.ok(["init", laptop.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try desktop.ok(["join", s.remote, desktop.folder, "--invite", try InviteTests.invite(laptop, ["--name", "desktop"]), "--no-passphrase"])
        try reader.ok(["join", s.remote, reader.folder, "--key-file", try laptop.exportKey(["--read-only"]), "--no-passphrase"])
        try laptop.sync()
        let before = try laptop.exportKey(["--read-only"])
        func epochOfRecords(_ commit: String) throws -> Set<UInt32> {
            let records = try s.git(["ls-tree", "-r", "--name-only", commit]).split(separator: "\n").map(String.init).filter { $0.hasSuffix(".n") }
            return Set(try records.map { path in
                let bytes = try TestProcess.run("/usr/bin/git", ["-C", s.remote, "cat-file", "blob", "\(commit):\(path)"]).stdoutBytes
                return UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24
            })
        }

        // A read-only machine cannot start an epoch.
        let denied = try reader.run(["key", "rotate", "--folder", reader.folder])
        #expect(denied.status == 2 && denied.stderr.contains("read-only device"), "\(denied.stderr)")

        // Lazy: nothing already written changes.
        #expect(try laptop.ok(["key", "rotate", "--folder", laptop.folder]).contains("key epoch 1 started"))
        let lazy = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try epochOfRecords(lazy) == [0])
        #expect(try s.git(["diff-tree", "-r", "--name-only", "\(lazy)~1", lazy]).split(separator: "\n").allSatisfy { $0.hasPrefix("devices/") })

        // --reencrypt: one commit puts every entry under the new epoch; the old string no longer opens the tree.
        #expect(try laptop.ok(["key", "rotate", "--reencrypt", "--folder", laptop.folder]).contains("key epoch 2 started"))
        let eager = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try s.git(["rev-list", "--count", "\(lazy)..\(eager)"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try epochOfRecords(eager) == [2])
        let out = s.root.appendingPathComponent("old-key").path
        let r = try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", before, "--to", out])
        #expect(r.status != 0 && r.stderr.contains("key epoch 2"), "\(r.stderr)")
        // The versions written before the rotation stay readable with the old key.
        let old = try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", before, "--to", out + "-lazy", "--rev", "\(lazy)~1"])
        #expect(old.status == 0, "\(old.stderr)")

        // The other machine received both epochs and reads on.
        try laptop.write("new.txt", "after two rotations\n")
        try laptop.sync()
        try desktop.sync()
        #expect(desktop.read("new.txt") == "after two rotations\n" && desktop.read("dir/old.txt") == "old\n")
        try desktop.write("from-desktop.txt", "desktop writes epoch 2\n")
        try desktop.sync()
        try laptop.sync()
        #expect(laptop.read("from-desktop.txt") == "desktop writes epoch 2\n")
        #expect(try epochOfRecords(try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)) == [2])
        for agent in [laptop, desktop] { #expect(try agent.ok(["fsck", "--folder", agent.folder]).hasPrefix("ok: ")) }
    }
}
