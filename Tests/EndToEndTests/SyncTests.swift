import Foundation
import Testing

/// The sync engine through the real binary, two or three agents, a local bare repository.
@Suite(.serialized) struct SyncTests {
    @Test func everyKindOfChangeReachesEveryAgent() throws {
        let s = try Scratch("kinds")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("notes/todo.txt", "buy milk\n")
        try a.write("empty", "")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        try c.join(keyFile: key)
        #expect(b.read("notes/todo.txt") == "buy milk\n")

        // Creates of every kind on A: non-UTF-8 name, 255-byte name, exec bit, symlink, empty directory.
        try a.write([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e], [0, 1, 2, 255])
        try a.write(String(repeating: "n", count: 255), "long name\n")
        try a.write("bin/run.sh", "#!/bin/sh\necho hi\n")
        chmod(a.folder + "/bin/run.sh", 0o755)
        try FileManager.default.createSymbolicLink(atPath: a.folder + "/link", withDestinationPath: "notes/todo.txt")
        try FileManager.default.createSymbolicLink(atPath: a.folder + "/dangling", withDestinationPath: "/nowhere/at/all")
        try FileManager.default.createDirectory(atPath: a.folder + "/empty-dir", withIntermediateDirectories: true)
        try a.sync()
        try b.sync()
        try c.sync()
        #expect(b.snapshot() == a.snapshot())
        #expect(c.snapshot() == a.snapshot())
        #expect(b.snapshot()["bin/run.sh"] == "file+x:#!/bin/sh\necho hi\n")
        #expect(b.snapshot()["dangling"] == "link:/nowhere/at/all")
        #expect(b.snapshot()["empty-dir"] == "dir")

        // Edits, deletes and renames on B, a directory rename on C.
        try b.write("notes/todo.txt", "buy milk\nand bread\n")
        try b.remove("empty")
        try b.move(String(repeating: "n", count: 255), "short")
        chmod(b.folder + "/bin/run.sh", 0o644)
        try b.sync()
        try c.sync()
        try c.move("notes", "papers")
        try c.remove("link")
        try c.sync()
        try a.sync()
        try b.sync()
        let expected = c.snapshot()
        #expect(expected["papers/todo.txt"] == "file:buy milk\nand bread\n")
        #expect(expected["notes"] == nil && expected["empty"] == nil)
        #expect(expected["short"] == "file:long name\n")
        #expect(expected["bin/run.sh"] == "file:#!/bin/sh\necho hi\n")
        #expect(a.snapshot() == expected)
        #expect(b.snapshot() == expected)

        // Nothing pending anywhere, and a further sync changes nothing.
        let status = try a.ok(["status", "--folder", a.folder, "--json"])
        #expect(status.contains("\"in_sync\":true") && status.contains("\"pending\":[]"))
        let again = try a.ok(["sync", "--folder", a.folder])
        #expect(!again.contains("committed") && !again.contains("applied"), "\(again)")
    }

    /// A pass with nothing to do against a local remote never loads libgit2 (DeferredGitStore); one
    /// that has something to fetch does. The dynamic loader itself reports what it loads (LD_DEBUG).
    @Test func aNoOpSyncAgainstALocalRemoteNeverLoadsLibgit2() throws {
        let s = try Scratch("noop-libgit2")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("one.txt", "one\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        func syncReportingLoads(_ agent: Agent) throws -> (stdout: String, loadedLibgit2: Bool) {
            let r = try Binaries.run("shadowsync", ["sync", "--folder", agent.folder],
                                     environment: agent.environment.merging(["LD_DEBUG": "files"]) { $1 })
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("libsodium"), "the loader's report is there: \(r.stderr.prefix(300))")
            return (r.stdout, r.stderr.contains("libgit2"))
        }
        let idle = try syncReportingLoads(b)
        #expect(idle.stdout.hasPrefix("in sync at"))
        #expect(!idle.loadedLibgit2)

        try a.write("two.txt", "two\n")
        try a.sync()
        let fetching = try syncReportingLoads(b)
        #expect(fetching.stdout.contains("applied"))
        #expect(fetching.loadedLibgit2)
        #expect(b.read("two.txt") == "two\n")

        let idleAgain = try syncReportingLoads(b)
        #expect(idleAgain.stdout.hasPrefix("in sync at") && !idleAgain.loadedLibgit2)
    }

    @Test func renamesKeepTheContentBlob() throws {
        let s = try Scratch("rename")
        let a = s.agent("a")
        try a.write("dir/big.bin", String(repeating: "0123456789", count: 20_000))
        try a.initialize()
        let before = Set(try s.git(["ls-tree", "-r", "main"]).split(separator: "\n").map { $0.split(separator: " ")[2].prefix(40) })
        try a.move("dir", "moved")
        try a.sync()
        let tree = try s.git(["ls-tree", "-r", "main"]).split(separator: "\n").map { $0.split(separator: " ")[2].prefix(40) }
        // Every blob after the directory rename existed before, except the two new name records (.n of
        // moved and moved/big.bin): the content object is the same blob, only name records moved.
        let fresh = tree.filter { !before.contains($0) }
        #expect(fresh.count == 2, "new blobs after a rename: \(fresh)")
    }

    @Test func conflictsKeepEveryVersion() throws {
        let s = try Scratch("conflicts")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("both.txt", "base\n")
        try a.write("gone.txt", "base\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())

        try a.write("both.txt", "from a\n")
        try b.write("both.txt", "from b\n")
        try a.remove("gone.txt")
        try b.write("gone.txt", "edited on b\n")
        try a.write("new.txt", "created on a\n")
        try b.write("new.txt", "created on b\n")
        try a.sync()
        let out = try b.ok(["sync", "--folder", b.folder])
        #expect(out.contains("conflict"))
        try a.sync()
        #expect(a.snapshot() == b.snapshot())

        let files = a.snapshot()
        let bothVersions = files.filter { $0.key.hasPrefix("both") }.values.sorted()
        #expect(bothVersions == ["file:from a\n", "file:from b\n"])
        let newVersions = files.filter { $0.key.hasPrefix("new") }.values.sorted()
        #expect(newVersions == ["file:created on a\n", "file:created on b\n"])
        // Modify beats delete.
        #expect(files["gone.txt"] == "file:edited on b\n")
        // Copies are named the Syncthing way.
        #expect(files.keys.contains { $0.hasPrefix("both.sync-conflict-") && $0.hasSuffix(".txt") })
        let listed = try a.ok(["conflicts", "--folder", a.folder])
        #expect(listed.contains("both.sync-conflict-") && listed.contains("new.sync-conflict-"))
    }

    @Test func twoAgentsResolvingTheSameConflictReachTheSameTree() throws {
        let s = try Scratch("symmetric")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("f.txt", "base\n")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        try c.join(keyFile: key)
        try a.write("f.txt", "a\n")
        try b.write("f.txt", "b\n")
        try a.sync()
        // B merges A's head into its own; C (no edits) just follows. A then merges B's merge.
        try b.sync()
        try c.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
        #expect(c.snapshot() == a.snapshot())
        #expect(a.snapshot().values.filter { $0.hasPrefix("file:") }.sorted() == ["file:a\n", "file:b\n"])
    }

    @Test func joiningANonEmptyFolderKeepsItsFiles() throws {
        let s = try Scratch("adopt")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("same.txt", "same\n")
        try a.write("differs.txt", "a's version\n")
        try a.initialize()
        try b.write("same.txt", "same\n")
        try b.write("differs.txt", "b's local version\n")
        try b.write("only-b.txt", "b only\n")
        try b.join(keyFile: try a.exportKey())
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
        let snap = a.snapshot()
        #expect(snap["differs.txt"] == "file:b's local version\n")
        #expect(snap.values.contains("file:a's version\n"))
        #expect(snap["only-b.txt"] == "file:b only\n")
        #expect(snap.filter { $0.value == "file:same\n" }.count == 1)
    }

    @Test func readOnlyMemberSyncsDownAndNeverPushes() throws {
        let s = try Scratch("readonly")
        let a = s.agent("a"), r = s.agent("r")
        try a.write("doc.txt", "v1\n")
        try a.initialize()
        try r.join(keyFile: try a.exportKey(["--read-only"]))
        #expect(r.read("doc.txt") == "v1\n")
        try a.write("doc.txt", "v2\n")
        try a.sync()
        try r.write("mine.txt", "local only\n")
        let out = try r.ok(["sync", "--folder", r.folder])
        #expect(r.read("doc.txt") == "v2\n")
        #expect(out.contains("read-only") && out.contains("mine.txt"))
        let head = try s.git(["rev-parse", "main"])
        try a.sync()
        #expect(a.read("mine.txt") == nil)
        #expect(try s.git(["rev-parse", "main"]) == head)
        // A verify-only key cannot join.
        let v = s.agent("v")
        let refused = try v.run(["join", s.remote, v.folder, "--key-file", try a.exportKey(["--verify-only"]), "--no-passphrase"])
        #expect(refused.status == 2 && refused.stderr.contains("verify-only"))
    }

    @Test func massDeleteGuardStopsAndAsks() throws {
        let s = try Scratch("guard")
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<30 { try a.write("f\(i).txt", "\(i)\n") }
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        for i in 0..<20 { try a.remove("f\(i).txt") }
        let tripped = try a.run(["sync", "--folder", a.folder])
        #expect(tripped.status == 1)
        #expect(tripped.stderr.contains("20 of 30 files vanished") && tripped.stderr.contains("--allow-mass-delete"))
        try b.sync()
        #expect(try b.names().count == 30)
        try a.ok(["sync", "--folder", a.folder, "--allow-mass-delete"])
        try b.sync()
        #expect(try b.names().count == 10)

        // Renaming the directory that holds every file is not a mass delete (found by convergence seed 33).
        for i in 20..<30 { try a.move("f\(i).txt", "f\(i)-moved.txt") }
        try FileManager.default.createDirectory(atPath: a.folder + "/all", withIntermediateDirectories: true)
        for i in 20..<30 { try a.move("f\(i)-moved.txt", "all/f\(i).txt") }
        try a.sync()
        try a.move("all", "renamed")
        try a.write("renamed/f20.txt", "edited after the move\n")
        try a.sync()
        try b.sync()
        #expect(try b.names() == ["renamed"])
        #expect(try b.names("renamed").count == 10 && b.read("renamed/f20.txt") == "edited after the move\n")
    }

    @Test func historyLogRestoreDecryptAndFsck() throws {
        let s = try Scratch("history")
        let a = s.agent("a")
        try a.write("notes.md", "first\n")
        try a.initialize()
        try a.write("notes.md", "second\n")
        try a.sync()
        try a.write("notes.md", "third\n")
        try a.sync()
        let log = try a.ok(["log", "notes.md", "--folder", a.folder, "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(log.utf8)) as! [[String: Any]]
        #expect(entries.count == 3)
        let oldest = entries.last!["commit"] as! String
        #expect((entries.first!["changes"] as! [String]) == ["M notes.md"])

        let restored = try a.ok(["restore", a.folder + "/notes.md", "--at", String(oldest.prefix(10)), "--here", "--folder", a.folder])
        #expect(restored.contains("notes.restored-\(oldest.prefix(8)).md"))
        #expect(a.read("notes.restored-\(oldest.prefix(8)).md") == "first\n")
        #expect(a.read("notes.md") == "third\n")
        // Never overwrites: restoring to the same place again is refused.
        let again = try a.run(["restore", a.folder + "/notes.md", "--at", String(oldest.prefix(10)), "--here", "--folder", a.folder])
        #expect(again.status == 2 && again.stderr.contains("already exists"))

        try a.sync()  // a copy restored --here is an ordinary new file: it syncs
        let out = s.root.appendingPathComponent("recovered").path
        let key = try a.exportKey()
        try a.ok(["decrypt", s.remote, "--key-file", key, "--to", out])
        #expect(Snapshot.take(out) == a.snapshot())
        let old = s.root.appendingPathComponent("recovered-old").path
        try a.ok(["decrypt", s.remote, "--key-file", key, "--to", old, "--rev", oldest])
        #expect(Snapshot.take(old) == ["notes.md": "file:first\n"])

        let fsck = try a.ok(["fsck", "--folder", a.folder])
        #expect(fsck.contains("ok: 4 commits") && fsck.contains("2 files"), "\(fsck)")
        #expect(fsck.contains("files"))
    }

    @Test func failedInitOrJoinCanBeRerun() throws {
        let s = try Scratch("rerun")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("x.txt", "x\n")
        try a.initialize()
        // A second vault in the same repository is refused, and leaves nothing registered behind.
        let twice = try b.run(["init", b.folder, "--remote", s.remote, "--no-passphrase"])
        #expect(twice.status == 2 && twice.stderr.contains("already holds history"), "\(twice.stderr)")
        // Joining with another vault's key: refused (before any plaintext is written), then the right key works.
        let c = s.agent("c")
        try c.ok(["init", c.folder, "--remote", s.root.appendingPathComponent("other.git").path, "--no-passphrase"])
        let wrong = try b.run(["join", s.remote, b.folder, "--key-file", try c.exportKey(), "--no-passphrase"])
        #expect(wrong.status == 2, "\(wrong.stderr)")
        // The message names both vaults and blames the key, not the server.
        func vaultID(_ repo: String) throws -> String {
            let json = try s.git(["show", "main:vault.json"], in: repo)
            return String(json.components(separatedBy: "\"vault_id\":\"")[1].prefix(32))
        }
        let held = try vaultID(s.remote), keys = try vaultID(s.root.appendingPathComponent("other.git").path)
        #expect(held != keys)
        #expect(wrong.stderr.contains("this key is for another vault (vault id \(keys)), the repository holds vault \(held)"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("check which key you used") && !wrong.stderr.contains("tampered"), "\(wrong.stderr)")
        // The folder join created is gone again (it was empty): nothing left behind.
        #expect(!FileManager.default.fileExists(atPath: b.folder))
        let joined = try b.ok(["join", s.remote, b.folder, "--key-file", try a.exportKey(), "--no-passphrase"])
        #expect(b.read("x.txt") == "x\n")
        // The join names the server's newest commit, its device and time (just made: no stale warning).
        let head = String(try s.git(["rev-parse", "main"]).prefix(12))
        let log = try a.ok(["log", "--json", "--limit", "1", "--folder", a.folder])
        let device = String(log.components(separatedBy: "\"device\":\"")[1].prefix(8))
        let today = String(try a.ok(["log", "--limit", "1", "--folder", a.folder]).components(separatedBy: "  ")[1].prefix(10))
        #expect(joined.contains("the server's newest commit: \(head), made by device \(device) at \(today)"), "\(joined)")
        #expect(!joined.contains("warning"), "\(joined)")
    }

    @Test func theServerLearnsNoNamesSizesAuthorsOrMessages() throws {
        let s = try Scratch("leak")
        let a = s.agent("a")
        try a.write("secret-plan.txt", "attack at dawn\n")
        try a.write("diary/2026.md", String(repeating: "dear diary ", count: 100))
        try a.initialize()
        try a.write("secret-plan.txt", "attack at dusk\n")
        try a.sync()
        let history = try s.git(["log", "-p", "--all", "--format=fuller", "--stat"])
        // The user and host names too, when long enough not to occur by chance in hex, base32 or vault.json.
        let identity = [NSUserName(), ProcessInfo.processInfo.hostName].filter { $0.count >= 6 }
        for needle in ["secret", "plan", "diary", "attack", "dawn", "dusk", "2026.md"] + identity {
            #expect(!history.contains(needle), "the server's history contains \(needle)")
        }
        #expect(history.contains("Author:     shdw <shdw@invalid>"))
        #expect(history.contains("Shdw-Meta: "))
        // No blob has the exact size of its plaintext (padding), and every path is an opaque object.
        let tree = try s.git(["ls-tree", "-r", "-l", "main"])
        for line in tree.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            let path = String(line.split(separator: "\t")[1])
            #expect(path == ".gitattributes" || path == "vault.json" || path.range(of: #"^d/./././{0}[a-z2-7]{30}\.[nc]$"#, options: .regularExpression) != nil
                    || path.range(of: #"^d/[a-z2-7]/[a-z2-7]/[a-z2-7]{30}\.[nc]$"#, options: .regularExpression) != nil, "\(path)")
            #expect(f[3] != "15" && f[3] != "1100")
        }
    }

    /// Ignoring a path stops this machine sending its changes; it never deletes the path anywhere.
    @Test func ignoringAPathNeverDeletesItElsewhere() throws {
        let s = try Scratch("ignore")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("build/out.o", "v1\n")
        try a.write("cache.tmp", "cached\n")
        try a.write("notes.txt", "n1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        #expect(b.read("build/out.o") == "v1\n")

        // Editor temporaries never leave the machine.
        try a.write(".notes.txt.swp", "swap")
        try a.write("notes.txt~", "backup")
        // A machine-local rule: a ignores build/ and then removes it; b keeps it.
        try a.write(".shadowsyncignore.local", "build/\n")
        try FileManager.default.removeItem(atPath: a.folder + "/build")
        try a.write("notes.txt", "n2\n")
        try a.sync()
        try b.sync()
        #expect(b.read("notes.txt") == "n2\n")
        #expect(b.read("build/out.o") == "v1\n")
        #expect(b.read(".shadowsyncignore.local") == nil && b.read(".notes.txt.swp") == nil && b.read("notes.txt~") == nil)
        #expect(try a.ok(["status", "--folder", a.folder, "--json"]).contains("\"pending\":[]"))

        // A synced rule: both machines ignore *.tmp; a deleting its copy deletes nothing on b.
        try a.write(".shadowsyncignore", "*.tmp\n")
        try a.sync()
        try b.sync()
        #expect(b.read(".shadowsyncignore") == "*.tmp\n")
        try a.remove("cache.tmp")
        try a.sync()
        try b.sync()
        #expect(b.read("cache.tmp") == "cached\n")
        #expect(b.read("build/out.o") == "v1\n")
        // What b changes under a's ignored and removed build/ is not written on a...
        try b.write("build/out.o", "v2 from b\n")
        try b.sync()
        try a.sync()
        #expect(a.read("build/out.o") == nil)
        // ...until the rule goes: then a gets the path back, in its newest version, and deletes nothing.
        try a.remove(".shadowsyncignore.local")
        try a.sync()
        try b.sync()
        #expect(a.read("build/out.o") == "v2 from b\n")
        #expect(b.read("build/out.o") == "v2 from b\n")
        #expect(a.read(".notes.txt.swp") == "swap" && b.read(".notes.txt.swp") == nil)
    }

    /// Moving to a new, empty repository (`config set remote`, as after leaving a compromised server)
    /// pushes the whole history there; a server that deletes the branch gets it back the same way.
    @Test func aNewEmptyRemoteOrADeletedBranchReceivesTheWholeHistory() throws {
        let s = try Scratch("new-remote")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "v1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try a.write("doc.txt", "v2\n")
        try a.sync()
        let history = try s.git(["rev-list", "main"])

        let fresh = s.root.appendingPathComponent("fresh.git").path
        try s.git(["init", "-q", "--bare", "-b", "main", fresh], in: s.root.path)
        try a.ok(["config", "set", "remote", fresh, "--folder", a.folder])
        #expect(try a.ok(["sync", "--folder", a.folder]).contains("pushed"))
        #expect(try s.git(["rev-list", "main"], in: fresh) == history, "the new remote lacks history")

        try b.ok(["config", "set", "remote", fresh, "--folder", b.folder])
        try b.sync()
        #expect(b.read("doc.txt") == "v2\n")

        // The server deletes main: the next sync restores it, and nothing is lost on either side.
        try s.git(["update-ref", "-d", "refs/heads/main"], in: fresh)
        try b.write("doc.txt", "v3 from b\n")
        #expect(try b.ok(["sync", "--folder", b.folder]).contains("pushed"))
        try a.sync()
        #expect(a.read("doc.txt") == "v3 from b\n")
        #expect(try s.git(["rev-list", "main"], in: fresh).hasSuffix(history))
    }

    /// The push to a local bare repository is ShadowSync's own (one pack of stored objects, then a
    /// compare-and-swap of the branch): git must accept what it wrote, and a push cut off between the
    /// pack and the branch must be finished by the next sync, with nothing sent twice.
    @Test func aLocalPushWritesPacksGitAcceptsAndAnInterruptedOneIsFinished() throws {
        let s = try Scratch("localpush")
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<30 { try a.write("d\(i % 3)/f\(i).txt", "file \(i)\n") }
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        #expect(try s.git(["count-objects", "-v"]).contains("count: 0"))   // nothing loose: one pack
        let first = try s.git(["rev-parse", "main"])

        try a.write("d0/f0.txt", "edited\n")
        let cut = try a.run(["sync", "--folder", a.folder], crashAt: "git-push-objects")
        #expect(cut.status != 0)
        #expect(try s.git(["rev-parse", "main"]) == first)   // the pack landed, the branch did not move
        let packsBefore = try s.git(["count-objects", "-v"])
        try a.sync()
        #expect(try s.git(["rev-parse", "main"]) != first)
        // The retry sent nothing: the cut-off pack holds the commit and everything it names.
        #expect(try s.git(["count-objects", "-v"]) == packsBefore)
        try b.sync()
        #expect(b.read("d0/f0.txt") == "edited\n")
        #expect(b.snapshot() == a.snapshot())
        _ = try s.git(["fsck", "--strict", "--no-progress", "--no-dangling"])   // throws if git finds anything wrong
        let objects = try s.git(["rev-list", "--objects", "--all"]).split(separator: "\n").count
        let packed = try s.git(["count-objects", "-v"]).split(separator: "\n").first { $0.hasPrefix("in-pack: ") }
        #expect(packed == "in-pack: \(objects)", "every object once, none twice")
    }
}
