import Foundation
import Testing
import TestSupport

/// `shadowsync key passwd` and `passphrase-command`, through the binary.
@Suite struct KeyPasswdTests {
    /// A passphrase file of mode 0600 in the scratch area.
    static func secretFile(_ s: Scratch, _ name: String, _ text: String) throws -> String {
        let path = s.root.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        return path
    }

    static func keyFile(_ a: Agent) throws -> String {
        try a.ok(["config", "get", "shadow", "--folder", a.folder]).trimmingCharacters(in: .whitespacesAndNewlines) + "/shadowsync.key"
    }

    /// Opens the key file alone, as `decrypt` does on a machine without the folder.
    static func opens(_ s: Scratch, _ key: String, _ flags: [String]) throws -> Binaries.Outcome {
        let out = s.root.appendingPathComponent("decrypted-\(UUID().uuidString.prefix(8))").path
        return try Binaries.run("shadowsync", ["decrypt", s.remote, "--key-file", key, "--to", out] + flags)
    }

    @Test func changesThePassphraseAndRefusesAWrongOldOne() throws {
        let s = try Scratch("passwd")
        let a = s.agent("a")
        let old = try Self.secretFile(s, "old.pass", "correct horse\n")
        let new = try Self.secretFile(s, "new.pass", "battery staple\n")
        let wrong = try Self.secretFile(s, "wrong.pass", "not it\n")
        try a.write("doc.txt", "hello\n")
        try a.ok(["init", a.folder, "--remote", s.remote, "--passphrase-file", old, "--kdf-profile", "interactive"])
        let key = try Self.keyFile(a)
        let before = try Data(contentsOf: URL(fileURLWithPath: key))

        // A wrong current passphrase: refused, the key file untouched byte for byte.
        let refused = try a.run(["key", "passwd", "--folder", a.folder, "--old-passphrase-file", wrong,
                                 "--new-passphrase-file", new, "--kdf-profile", "interactive"])
        #expect(refused.status == 2, "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("the current passphrase does not open"), "\(refused.stderr)")
        #expect(refused.stderr.contains("the key file was not changed"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == before)

        // The current passphrase comes from the folder's passphrase-file; the new file is remembered.
        let changed = try a.ok(["key", "passwd", "--folder", a.folder, "--new-passphrase-file", new, "--kdf-profile", "interactive"])
        #expect(changed.contains("now opens with the new passphrase"), "\(changed)")
        #expect(changed.contains("config: passphrase-file = \(new)"), "\(changed)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) != before)
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try Self.opens(s, key, ["--passphrase-file", new]).status == 0)
        let withOld = try Self.opens(s, key, ["--passphrase-file", old])
        #expect(withOld.status == 2 && withOld.stderr.contains("wrong passphrase"), "\(withOld.stderr)")
        // The folder goes on working with the remembered new file.
        try a.write("doc.txt", "hello again\n")
        try a.sync()
        #expect(try a.ok(["config", "get", "passphrase-file", "--folder", a.folder]).contains(new))

        // And back: the old passphrase given explicitly as the new one round-trips.
        try a.ok(["key", "passwd", "--folder", a.folder, "--old-passphrase-file", new, "--new-passphrase-file", old, "--kdf-profile", "interactive"])
        #expect(try Self.opens(s, key, ["--passphrase-file", old]).status == 0)
        #expect(try Self.opens(s, key, ["--passphrase-file", new]).status == 2)
    }

    @Test func aPassphraseCommandOpensTheKeyWithoutAFile() throws {
        let s = try Scratch("passcmd")
        let a = s.agent("a")
        let stash = try Self.secretFile(s, "keyring", "from the keyring\n")
        let command = "cat '\(stash)'"
        try a.write("doc.txt", "one\n")
        try a.ok(["init", a.folder, "--remote", s.remote, "--passphrase-command", command, "--kdf-profile", "interactive"])
        #expect(try a.ok(["config", "get", "passphrase-command", "--folder", a.folder]).contains(command))
        let key = try Self.keyFile(a)
        #expect(try Self.opens(s, key, ["--passphrase-command", command]).status == 0)
        try a.write("doc.txt", "two\n")
        try a.sync()

        // A command that fails is reported as such, not as a wrong passphrase typed.
        let failing = try Self.opens(s, key, ["--passphrase-command", "echo nope >&2; exit 3"])
        #expect(failing.status == 2)
        #expect(failing.stderr.contains("the passphrase command exited with status 3"), "\(failing.stderr)")
        // A command printing the wrong passphrase.
        let wrong = try Self.opens(s, key, ["--passphrase-command", "echo other"])
        #expect(wrong.stderr.contains("wrong passphrase"), "\(wrong.stderr)")

        // Changing to a file passphrase drops the command from the config; then to none at all.
        let file = try Self.secretFile(s, "file.pass", "now a file\n")
        let changed = try a.ok(["key", "passwd", "--folder", a.folder, "--new-passphrase-file", file, "--kdf-profile", "interactive"])
        #expect(changed.contains("config: passphrase-command removed"), "\(changed)")
        #expect(try a.run(["config", "get", "passphrase-command", "--folder", a.folder]).status == 1)
        try a.ok(["key", "passwd", "--folder", a.folder, "--no-new-passphrase"])
        #expect(try Self.opens(s, key, []).status == 0)
        try a.write("doc.txt", "three\n")
        try a.sync()
    }
}
