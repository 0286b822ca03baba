import Foundation
import Testing
import TestSupport

/// The command line's contract as the docs state it (Docs/OPERATIONS.md "Exit statuses", the man page):
/// exit statuses, help texts, and the refusal of secret files that others can read.
@Suite struct CLIContractTests {
    /// A file holding `text` with permission bits `mode`, under the scratch root.
    func secret(_ s: Scratch, _ name: String, _ text: String, mode: mode_t) throws -> String {
        let path = s.root.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    /// Refused with exit 2, naming the file, its mode and the fix.
    func expectRefused(_ r: Binaries.Outcome, _ path: String, mode: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 2, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("\(path) is accessible by other users (mode \(mode))"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("chmod 600 \(path)"), "\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func usageErrorsExitTwo() throws {
        let s = try Scratch("usage")
        let a = s.agent("a")
        for args in [["sync", "--no-such-flag"], ["init"], ["log", "--limit", "0"], ["log", "--limit", "many"],
                     ["init", a.folder, "--remote", s.remote, "--no-passphrase", "--passphrase-file", "/nonexistent"]] {
            let r = try a.run(args)
            #expect(r.status == 2, "\(args) -> \(r.status): \(r.stderr)")
            #expect(r.stderr.contains("Usage:") || r.stderr.contains("Error:"), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: a.folder) && !FileManager.default.fileExists(atPath: s.remote))
        let help = try a.run(["log", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--limit <limit>") && help.stdout.contains("(default: all)"), "\(help.stdout)")
        #expect(!help.stdout.contains("9223372036854775807"), "\(help.stdout)")
    }

    /// `sync` exits 0 when it resolved a conflict into a copy; `status` exits 1 while a copy is there,
    /// 0 with only pending changes.
    @Test func conflictsAreReportedAndStatusAsksForAttention() throws {
        let s = try Scratch("exitcodes")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "base\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try a.write("pending.txt", "not yet synced\n")
        let pending = try a.run(["status", "--folder", a.folder])
        #expect(pending.status == 0 && pending.stdout.contains("pending:  1 change(s)"), "\(pending.status): \(pending.stdout)")

        try a.write("doc.txt", "from a\n")
        try a.sync()
        try b.write("doc.txt", "from b\n")
        let merged = try b.run(["sync", "--folder", b.folder])
        #expect(merged.status == 0, "\(merged.stdout) \(merged.stderr)")
        #expect(merged.stdout.contains("conflict  doc.txt"), "\(merged.stdout)")
        let copies = try b.names().filter { $0.contains(".sync-conflict-") }
        #expect(copies.count == 1, "\(copies)")

        let status = try b.run(["status", "--folder", b.folder])
        #expect(status.status == 1, "\(status.status): \(status.stdout) \(status.stderr)")
        #expect(status.stdout.contains("conflict copies: 1"), "\(status.stdout)")
        #expect(try b.run(["status", "--folder", b.folder, "--json"]).status == 1)
        // Dealt with: the copy removed and synced, nothing needs attention.
        for c in copies { try b.remove(c) }
        try b.sync()
        let clean = try b.run(["status", "--folder", b.folder])
        #expect(clean.status == 0 && clean.stdout.contains("state:    in sync"), "\(clean.status): \(clean.stdout)")
    }

    /// A passphrase file readable by group or others is refused by init and join before anything is
    /// created, and by every command that reads it later (as the key file is).
    @Test func openPassphraseFilesAreRefused() throws {
        let s = try Scratch("passfile")
        let a = s.agent("a"), b = s.agent("b")
        let open = try secret(s, "open.pass", "correct horse\n", mode: 0o644)
        expectRefused(try a.run(["init", a.folder, "--remote", s.remote, "--passphrase-file", open, "--kdf-profile", "interactive"]), open, mode: "644")
        #expect(!FileManager.default.fileExists(atPath: a.folder) && !FileManager.default.fileExists(atPath: s.remote))
        #expect(try a.run(["config", "list", "--folder", a.folder]).status != 0)

        let closed = try secret(s, "a.pass", "correct horse\n", mode: 0o600)
        try a.write("doc.txt", "hello\n")
        try a.ok(["init", a.folder, "--remote", s.remote, "--passphrase-file", closed, "--kdf-profile", "interactive"])
        let key = try a.exportKey()
        expectRefused(try b.run(["join", s.remote, b.folder, "--key-file", key, "--passphrase-file", open, "--kdf-profile", "interactive"]), open, mode: "644")
        #expect(!FileManager.default.fileExists(atPath: b.folder))

        #expect(chmod(closed, 0o640) == 0)
        for args in [["sync"], ["log"], ["key", "export"], ["fsck"]] {
            expectRefused(try a.run(args + ["--folder", a.folder]), closed, mode: "640")
        }
        let doctor = try a.run(["doctor", "--folder", a.folder])
        #expect(doctor.status == 1 && doctor.stdout.contains("is accessible by other users (mode 640)"), "\(doctor.stdout)")
        let shadowKey = try a.run(["config", "get", "shadow", "--folder", a.folder]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        expectRefused(try a.run(["decrypt", "--key-file", shadowKey + "/shadowsync.key", "--passphrase-file", closed, s.remote,
                                 "--to", s.root.appendingPathComponent("out").path]), closed, mode: "640")
        #expect(chmod(closed, 0o600) == 0)
        try a.sync()
    }

    /// An SSH private key or its passphrase file readable by group or others: refused by init before
    /// anything is created, by `config set`, and by a command that opens the repository.
    @Test func openSSHKeyFilesAreRefused() throws {
        let s = try Scratch("sshkey")
        let a = s.agent("a")
        let key = try secret(s, "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n", mode: 0o640)
        let pass = try secret(s, "id_ed25519.pass", "phrase\n", mode: 0o604)
        expectRefused(try a.run(["init", a.folder, "--remote", s.remote, "--no-passphrase", "--ssh-key", key]), key, mode: "640")
        #expect(chmod(key, 0o600) == 0)
        expectRefused(try a.run(["init", a.folder, "--remote", s.remote, "--no-passphrase", "--ssh-key", key, "--ssh-key-passphrase-file", pass]), pass, mode: "604")
        #expect(!FileManager.default.fileExists(atPath: a.folder) && !FileManager.default.fileExists(atPath: s.remote))

        try a.initialize()
        expectRefused(try a.run(["config", "set", "ssh.key-passphrase-file", pass, "--folder", a.folder]), pass, mode: "604")
        try a.ok(["config", "set", "ssh.key", key, "--folder", a.folder])
        #expect(chmod(key, 0o644) == 0)
        expectRefused(try a.run(["log", "--folder", a.folder]), key, mode: "644")
        try a.write("new.txt", "needs a push\n")
        expectRefused(try a.run(["sync", "--folder", a.folder]), key, mode: "644")
        #expect(chmod(key, 0o600) == 0)
        try a.ok(["log", "--folder", a.folder])
    }

    /// The XMPP password file: refused by `config set` and by `run`, which reads it at start.
    @Test func openXMPPPasswordFileIsRefused() throws {
        let s = try Scratch("xmpppw")
        let a = s.agent("a")
        try a.initialize()
        let pw = try secret(s, "xmpp.pass", "pw\n", mode: 0o644)
        expectRefused(try a.run(["config", "set", "xmpp.password-file", pw, "--folder", a.folder]), pw, mode: "644")
        #expect(chmod(pw, 0o600) == 0)
        try a.ok(["config", "set", "xmpp.password-file", pw, "--folder", a.folder])
        try a.ok(["config", "set", "xmpp.jid", "agents@localhost", "--folder", a.folder])
        try a.ok(["config", "set", "xmpp.server", "127.0.0.1:1", "--folder", a.folder])
        #expect(chmod(pw, 0o644) == 0)
        let r = try Binaries.run("shadowsync", ["run", "--folder", a.folder], environment: a.environment, timeoutSeconds: 30)
        expectRefused(r, pw, mode: "644")
    }
}
