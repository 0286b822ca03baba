import Foundation
import Testing

/// Damaged local files, as a user or a failing disk leaves them: the folder's config, the key file,
/// the agent's index, the shadow repository's git index and the journal. The config and key file are
/// the user's: a clear error (exit 2) that names them and changes nothing. The others are the agent's
/// own caches and crash record: rebuilt or recovered as after a crash, with nothing lost.
@Suite(.serialized) struct BadInputTests {
    static func files(named name: String, under root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []).filter { ($0 as NSString).lastPathComponent == name }.map { root + "/" + $0 }
    }

    @Test func damagedConfigAndKeyFileAreClearErrorsThatChangeNothing() throws {
        let s = try Scratch("bad-input")
        let a = s.agent("a")
        try a.write("doc.txt", "v1\n")
        try a.initialize()
        try a.write("doc.txt", "v2, not yet synced\n")
        let before = a.snapshot(), head = try s.git(["rev-parse", "main"])

        let configs = a.home + "/config/shadowsync/folders"
        let config = configs + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: configs).first))
        let keyFile = try #require(Self.files(named: "shadowsync.key", under: a.home + "/data").first)
        let goodConfig = try Data(contentsOf: URL(fileURLWithPath: config)), goodKey = try Data(contentsOf: URL(fileURLWithPath: keyFile))

        var damaged = goodKey
        damaged[damaged.count / 2] ^= 0x40
        let cases: [(what: String, file: String, bytes: Data, says: String)] = [
            ("config with a line that is not key = value", config, goodConfig + Data("this line is not a setting\n".utf8), "key = value"),
            ("config that is not text", config, Data([0xff, 0xfe, 0x00, 0x01]), "config"),
            ("key file with one byte changed", keyFile, damaged, "key file"),
            ("key file cut short", keyFile, goodKey.prefix(20), "key file"),
            ("empty key file", keyFile, Data(), "key file"),
        ]
        for c in cases {
            try c.bytes.write(to: URL(fileURLWithPath: c.file))
            let r = try a.run(["sync", "--folder", a.folder])
            #expect(r.status == 2, "\(c.what): exit \(r.status) \(r.stderr)")
            #expect(r.stderr.lowercased().contains(c.says), "\(c.what): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(c.what) crashed: \(r.stderr)")
            #expect(a.snapshot() == before, "\(c.what) changed the folder")
            #expect(try s.git(["rev-parse", "main"]) == head, "\(c.what) pushed something")
            try goodConfig.write(to: URL(fileURLWithPath: config))
            try goodKey.write(to: URL(fileURLWithPath: keyFile))
        }
        print("damaged local files, each refused with exit 2 and nothing changed:\n" + cases.map { "  \($0.what)" }.joined(separator: "\n"))

        // Restored, the edit made meanwhile goes through.
        try a.sync()
        let b = s.agent("b")
        try b.join(keyFile: try a.exportKey())
        #expect(b.read("doc.txt") == "v2, not yet synced\n")
    }

    @Test func damagedIndexAndJournalAreRebuiltWithNothingLost() throws {
        let s = try Scratch("bad-state")
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<5 { try a.write("f\(i).txt", "base \(i)\n") }
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try a.write("f1.txt", "edited after the last sync\n")
        try a.remove("f2.txt")
        try a.write("new.txt", "new\n")

        // Two indexes: the agent's stat index and the shadow repository's git index. Both are caches.
        let indexes = Self.files(named: "index", under: a.home + "/data")
        #expect(indexes.count == 2, "\(indexes)")
        for index in indexes {
            let good = try Data(contentsOf: URL(fileURLWithPath: index))
            try good.prefix(good.count / 3).write(to: URL(fileURLWithPath: index))
        }
        let journal = try #require(Self.files(named: "journal", under: a.home + "/data").first)
        try Data("apply not-a-commit\n".utf8).write(to: URL(fileURLWithPath: journal))
        // Neither stops the sync: both are rebuilt, and the edits made meanwhile are committed.
        try a.sync()
        try b.sync()
        var expected = a.snapshot()
        expected["f2.txt"] = nil
        #expect(b.snapshot() == a.snapshot())
        #expect(b.read("f1.txt") == "edited after the last sync\n" && b.read("f2.txt") == nil && b.read("new.txt") == "new\n")
        #expect(b.snapshot() == expected)
        #expect(!a.snapshot().keys.contains { $0.contains(".sync-conflict-") }, "rebuilding made conflict copies: \(a.snapshot())")
    }

    /// A remote that is a repository with a work tree, or a repository that is not a vault: permanent
    /// errors (exit 2, never retried as a network error) that say what the remote is and what to do.
    @Test func nonBareOrForeignRemotesArePermanentErrorsThatSayWhatToDo() throws {
        let s = try Scratch("wrong-remote")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        let workTree = s.root.appendingPathComponent("checkout").path
        try s.git(["init", "-q", "-b", "main", workTree], in: s.root.path)
        try a.write("x.txt", "x\n")
        let initInto = try a.run(["init", a.folder, "--remote", workTree, "--no-passphrase"])
        #expect(initInto.status == 2, "exit \(initInto.status): \(initInto.stderr)")
        #expect(initInto.stderr.contains("is a repository with a work tree (not bare)") && initInto.stderr.contains("git clone --bare"), "\(initInto.stderr)")
        #expect(!initInto.stderr.contains("network"), "\(initInto.stderr)")

        // A vault's machine whose remote setting is changed to a checkout of the vault.
        try b.write("y.txt", "y\n")
        try b.initialize()
        let checkout = s.root.appendingPathComponent("vault-checkout").path
        try s.git(["clone", "-q", s.remote, checkout], in: s.root.path)
        _ = try b.ok(["config", "set", "remote", checkout, "--folder", b.folder])
        try b.write("y.txt", "y2\n")
        let sync = try b.run(["sync", "--folder", b.folder])
        #expect(sync.status == 2 && sync.stderr.contains("\(checkout) is a repository with a work tree"), "exit \(sync.status): \(sync.stderr)")
        #expect(b.read("y.txt") == "y2\n")

        // A bare repository of plain git commits is not a vault.
        try s.git(["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "--allow-empty", "-m", "plain"], in: workTree)
        let plain = s.root.appendingPathComponent("plain.git").path
        try s.git(["clone", "-q", "--bare", workTree, plain], in: s.root.path)
        let join = try c.run(["join", plain, c.folder, "--key-file", try b.exportKey(), "--no-passphrase"])
        #expect(join.status == 2 && join.stderr.contains("is not a ShadowSync vault"), "exit \(join.status): \(join.stderr)")
        #expect(!join.stderr.contains("server injecting"), "\(join.stderr)")
    }
}
