import Foundation
import Testing

/// Permissions and modification times through the real binary: what a commit records is what another
/// machine's folder shows, to the nanosecond where the file system keeps them.
@Suite(.serialized) struct ModesTests {
    /// Mode bits and mtime (seconds, nanoseconds) of a path, not following a symlink.
    static func attributes(_ path: String) -> (mode: UInt32, seconds: Int, nanoseconds: Int) {
        var st = stat()
        #expect(lstat(path, &st) == 0, "no \(path)")
        return (UInt32(st.st_mode) & 0o7777, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
    }

    /// Sets a path's mtime, like `touch -d`.
    static func touch(_ path: String, seconds: Int, nanoseconds: Int = 0) {
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        #expect(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0)
    }

    static let newYear2020 = 1_577_836_800  // 2020-01-01 00:00:00 UTC

    func head(_ s: Scratch) throws -> String { try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) }

    @Test func modesAndTimesCrossAndStay() throws {
        let s = try Scratch("modes")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("secret/key.txt", "private\n")
        try a.write("old.txt", "from long ago\n")
        chmod(a.folder + "/secret/key.txt", 0o600)
        chmod(a.folder + "/secret", 0o700)
        Self.touch(a.folder + "/old.txt", seconds: Self.newYear2020, nanoseconds: 123_456_789)
        try a.initialize()
        try b.join(keyFile: try a.exportKey())

        // A 0600 file in a 0700 directory arrives 0600 in 0700, with every time as it was.
        #expect(Self.attributes(b.folder + "/secret/key.txt").mode == 0o600)
        #expect(Self.attributes(b.folder + "/secret").mode == 0o700)
        let old = Self.attributes(b.folder + "/old.txt")
        #expect(old.seconds == Self.newYear2020 && old.nanoseconds == 123_456_789, "\(old)")
        for p in ["secret/key.txt", "secret"] {
            let x = Self.attributes(a.folder + "/" + p), y = Self.attributes(b.folder + "/" + p)
            #expect(x.seconds == y.seconds && x.nanoseconds == y.nanoseconds, "\(p): \(x) on a, \(y) on b")
        }

        // An edit elsewhere keeps the origin's mode.
        try b.write("secret/key.txt", "private, edited on b\n")
        try b.sync()
        try a.sync()
        #expect(a.read("secret/key.txt") == "private, edited on b\n")
        #expect(Self.attributes(a.folder + "/secret/key.txt").mode == 0o600)

        // A chmod crosses, and so does a touch.
        chmod(a.folder + "/old.txt", 0o640)
        try a.sync()
        try b.sync()
        #expect(Self.attributes(b.folder + "/old.txt").mode == 0o640)
        Self.touch(b.folder + "/secret/key.txt", seconds: Self.newYear2020)
        try b.sync()
        try a.sync()
        let touched = Self.attributes(a.folder + "/secret/key.txt")
        #expect(touched.seconds == Self.newYear2020 && touched.nanoseconds == 0 && touched.mode == 0o600, "\(touched)")

        // Two idle machines make no commits once they agree.
        try a.sync()
        try b.sync()
        let settled = try head(s)
        for _ in 0..<2 {
            for agent in [a, b] {
                let out = try agent.ok(["sync", "--folder", agent.folder])
                #expect(!out.contains("committed") && !out.contains("applied"), "\(agent.name): \(out)")
            }
        }
        #expect(try head(s) == settled)
        #expect(a.snapshot() == b.snapshot())
    }

    /// `decrypt` and `restore` write what the record says: every mode, and every time to the nanosecond.
    @Test func decryptAndRestoreKeepModesAndTimes() throws {
        let s = try Scratch("modes-decrypt")
        let a = s.agent("a")
        try a.write("secret/key.txt", "private\n")
        try a.write("secret/inner/script.sh", "#!/bin/sh\n")
        try FileManager.default.createSymbolicLink(atPath: a.folder + "/secret/link", withDestinationPath: "key.txt")
        chmod(a.folder + "/secret/key.txt", 0o600)
        chmod(a.folder + "/secret/inner/script.sh", 0o750)
        Self.touch(a.folder + "/secret/key.txt", seconds: Self.newYear2020, nanoseconds: 123_456_789)
        Self.touch(a.folder + "/secret/inner/script.sh", seconds: Self.newYear2020 + 1, nanoseconds: 5)
        Self.touch(a.folder + "/secret/link", seconds: Self.newYear2020 + 2, nanoseconds: 700)
        // Directories last (their entries' times moved them); a 0500 one could not take its own entries.
        chmod(a.folder + "/secret/inner", 0o500)
        Self.touch(a.folder + "/secret/inner", seconds: Self.newYear2020 + 3, nanoseconds: 42)
        chmod(a.folder + "/secret", 0o700)
        Self.touch(a.folder + "/secret", seconds: Self.newYear2020 + 4)
        defer { chmod(a.folder + "/secret/inner", 0o755) }
        try a.initialize()
        let key = try a.exportKey()
        let first = try head(s)
        let paths = ["secret", "secret/key.txt", "secret/inner", "secret/inner/script.sh", "secret/link"]
        let expected: [String: (mode: UInt32, seconds: Int, nanoseconds: Int)] = [
            "secret": (0o700, Self.newYear2020 + 4, 0), "secret/key.txt": (0o600, Self.newYear2020, 123_456_789),
            "secret/inner": (0o500, Self.newYear2020 + 3, 42), "secret/inner/script.sh": (0o750, Self.newYear2020 + 1, 5),
            "secret/link": (0o777, Self.newYear2020 + 2, 700),
        ]
        func check(_ root: String, _ paths: [(String, String)], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            for (at, original) in paths {
                let x = Self.attributes(root + "/" + at), want = expected[original]!
                #expect(x.mode == want.mode && x.seconds == want.seconds && x.nanoseconds == want.nanoseconds,
                        "\(what) \(at): \(x), recorded \(want)", sourceLocation: sourceLocation)
            }
        }

        let out = s.root.appendingPathComponent("decrypted").path
        try a.ok(["decrypt", s.remote, "--key-file", key, "--to", out])
        #expect(Snapshot.take(out) == a.snapshot())
        check(out, paths.map { ($0, $0) }, "decrypt")
        #expect(Self.attributes(out).mode == 0o755)

        // Changed since: a restore of the first version brings back its modes and times, not today's.
        chmod(a.folder + "/secret/key.txt", 0o644)
        try a.write("secret/key.txt", "rotated\n")
        chmod(a.folder + "/secret", 0o755)
        try a.sync()
        let restored = s.root.appendingPathComponent("restored-secret").path
        try a.ok(["restore", a.folder + "/secret", "--at", String(first.prefix(10)), "--to", restored, "--folder", a.folder])
        #expect(try String(contentsOfFile: restored + "/key.txt", encoding: .utf8) == "private\n")
        check(restored, [("", "secret"), ("key.txt", "secret/key.txt"), ("inner", "secret/inner"),
                         ("inner/script.sh", "secret/inner/script.sh"), ("link", "secret/link")], "restore")
        // One file beside the original.
        try a.ok(["restore", a.folder + "/secret/key.txt", "--at", String(first.prefix(10)), "--here", "--folder", a.folder])
        check(a.folder, [("secret/key.restored-\(first.prefix(8)).txt", "secret/key.txt")], "restore beside")
        chmod(restored + "/inner", 0o755)
        chmod(out + "/secret/inner", 0o755)
    }

    @Test func aChmodHereAndAnEditElsewhereAreBothKept() throws {
        let s = try Scratch("chmod-edit")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "v1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        chmod(a.folder + "/doc.txt", 0o600)
        try b.write("doc.txt", "v2, edited on b\n")
        try b.sync()
        try a.sync()
        try b.sync()
        for agent in [a, b] {
            #expect(agent.read("doc.txt") == "v2, edited on b\n")
            #expect(Self.attributes(agent.folder + "/doc.txt").mode == 0o600, "\(agent.name)")
            #expect(try agent.names().count == 1, "\(agent.name): no conflict copy expected")
        }
    }

    @Test func ignorePermsNeitherCommitsNorAppliesModes() throws {
        let s = try Scratch("ignore-perms")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("f.txt", "x\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try b.ok(["config", "set", "ignore-perms", "true", "--folder", b.folder])
        #expect(try b.run(["config", "set", "ignore-perms", "maybe", "--folder", b.folder]).status != 0)

        // B's modes stay B's: a chmod there is not committed...
        chmod(b.folder + "/f.txt", 0o600)
        try b.sync()
        try a.sync()
        #expect(Self.attributes(a.folder + "/f.txt").mode == 0o644)
        // ...and one from A is not applied, while its content edits are.
        chmod(a.folder + "/f.txt", 0o640)
        try a.write("f.txt", "y\n")
        try a.sync()
        try b.sync()
        #expect(b.read("f.txt") == "y\n")
        #expect(Self.attributes(b.folder + "/f.txt").mode == 0o600)
        #expect(Self.attributes(a.folder + "/f.txt").mode == 0o640)
    }

    @Test func joiningWithAnOlderLocalCopyMakesItTheConflictCopy() throws {
        let s = try Scratch("join-older")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("doc.txt", "current\n")
        try a.initialize()
        let key = try a.exportKey()
        for agent in [b, c] {
            try agent.write("doc.txt", "an old copy made before\n")
            Self.touch(agent.folder + "/doc.txt", seconds: Self.newYear2020)
        }
        // By default the newer version keeps the path; the older local one is the copy, named after this
        // machine and its own time.
        try b.join(keyFile: key)
        #expect(b.read("doc.txt") == "current\n")
        let copies = try b.names().filter { $0.hasPrefix("doc.sync-conflict-20200101-000000-") && $0.hasSuffix(".txt") }
        #expect(copies.count == 1, "\(b.snapshot().keys.sorted())")
        #expect(copies.first.flatMap { b.read($0) } == "an old copy made before\n")
        // --prefer-local keeps the local file at its path whatever its age.
        try c.ok(["join", s.remote, c.folder, "--key-file", key, "--no-passphrase", "--prefer-local"])
        #expect(c.read("doc.txt") == "an old copy made before\n")
        #expect(try c.names().contains { $0.hasPrefix("doc.sync-conflict-") && c.read($0) == "current\n" })
        try a.sync()
        try b.sync()
        try c.sync()
        try a.sync()
        let versions = a.snapshot().filter { $0.key.hasPrefix("doc") }.values.sorted()
        #expect(versions.filter { $0 == "file:current\n" }.count == 1 && versions.contains("file:an old copy made before\n"), "\(versions)")
    }
}
