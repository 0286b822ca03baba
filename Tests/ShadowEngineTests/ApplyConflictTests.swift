import Testing
import Glibc
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// Engines in process against real libgit2 repositories, one local bare remote and real folders: the
/// apply side of conflicts, with edits landing at chosen moments of a pass (the `onPhase` hook runs on
/// the syncing thread between steps). Every version a user saved must be in some folder exactly once.
@Suite(.serialized) struct ApplyConflictTests {
    let dir: BytePath
    let keys = VaultKeys.generate()
    var remote: BytePath { dir.appending("remote.git") }

    init() throws {
        dir = try FileSystem.makeTemporaryDirectory(prefix: "apply-conflict-test-")
        try GitRepository.createBare(at: dir.appending("remote.git"))
    }

    func engine(_ name: String) throws -> SyncEngine {
        try makeEngine(in: dir, name, keys: keys, remote: remote)
    }

    /// A first machine with `files`, and `others` joined to it.
    func machines(_ names: [String], files: [String: String]) throws -> [SyncEngine] {
        let first = try engine(names[0])
        for (p, text) in files { try write(first, p, text) }
        _ = try first.initialize()
        return try [first] + names.dropFirst().map { (n) throws -> SyncEngine in
            let e = try engine(n)
            _ = try e.join()
            return e
        }
    }

    func write(_ e: SyncEngine, _ path: String, _ text: String) throws {
        let full = e.location.plain.appending(path)
        try FileSystem.createDirectories(full.directory, mode: 0o755)
        try FileSystem.writeAtomically(Array(text.utf8), to: full, mode: 0o644)
    }

    /// The folder as path → "file:<text>", "dir" or "link:<target>".
    static func snapshot(_ e: SyncEngine) throws -> [String: String] {
        var out: [String: String] = [:]
        let folder = PlainFolder(root: e.location.plain)
        func walk(_ prefix: [UInt8]) throws {
            for name in try FileSystem.list(prefix.isEmpty ? e.location.plain : e.location.plain.appending(bytes: prefix)) {
                let rel = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
                let path = try PlainPath(bytes: rel)
                guard let entry = try folder.entry(path) else { continue }
                switch entry.kind {
                case .directory:
                    out[path.description] = "dir"
                    try walk(rel)
                case .symlink(let target): out[path.description] = "link:" + String(decoding: target, as: UTF8.self)
                case .file: out[path.description] = "file:" + String(decoding: try FileSystem.readFile(e.location.plain.appending(path), limit: 1 << 20), as: UTF8.self)
                case .special: out[path.description] = "special"
                }
            }
        }
        try walk([])
        return out
    }

    /// Every machine syncs until none has anything to do; all folders then hold the same tree.
    func converge(_ engines: [SyncEngine]) throws -> [String: String] {
        for _ in 0..<3 { for e in engines { _ = try e.sync() } }
        let trees = try engines.map(Self.snapshot)
        for (e, t) in zip(engines, trees) { #expect(t == trees[0], "\(e.location.plain) differs from \(engines[0].location.plain)") }
        return trees[0]
    }

    /// How often each file content appears in `tree` (paths starting with `prefix`).
    static func versions(_ tree: [String: String], _ prefix: String) -> [String: Int] {
        var count: [String: Int] = [:]
        for (p, v) in tree where p.hasPrefix(prefix) && v.hasPrefix("file:") { count[String(v.dropFirst(5)), default: 0] += 1 }
        return count
    }

    @Test func aFileEditedWhileAnApplyRunsKeepsBothVersions() throws {
        defer { try? FileSystem.removeTree(dir) }
        let m = try machines(["a", "b"], files: ["notes.txt": "base\n"])
        let (a, b) = (m[0], m[1])
        try write(b, "notes.txt", "from b, pushed first\n")
        _ = try b.sync()
        // A's pass has committed nothing (nothing changed then); the edit lands before the apply.
        var options = SyncOptions()
        let plain = a.location.plain
        options.onPhase = { phase in if phase == .applying { try? FileSystem.writeAtomically(Array("edited on a during the apply, longer\n".utf8), to: plain.appending("notes.txt"), mode: 0o644) } }
        let report = try a.sync(options: options)
        #expect(report.conflicts.contains { $0.path.description == "notes.txt" && $0.copy != nil }, "\(report.conflicts)")
        let tree = try converge([a, b])
        #expect(tree["notes.txt"] == "file:edited on a during the apply, longer\n")
        #expect(Self.versions(tree, "notes") == ["edited on a during the apply, longer\n": 1, "from b, pushed first\n": 1], "\(tree)")
        // The copy is named after the side whose version it holds: B's device.
        let copy = tree.keys.first { $0.hasPrefix("notes.sync-conflict-") }
        #expect(copy?.hasSuffix("-" + String(hexString(b.deviceID).prefix(8)) + ".txt") == true, "\(String(describing: copy))")
    }

    @Test func threeWayRaceWithATakenCopyNameKeepsEveryVersionOnce() throws {
        defer { try? FileSystem.removeTree(dir) }
        let m = try machines(["a", "b", "c"], files: ["doc.txt": "base\n"])
        let (a, b, c) = (m[0], m[1], m[2])
        try write(b, "doc.txt", "version b\n")
        _ = try b.sync()
        let bHead = try #require(try b.head)
        // Where B's version goes on A when A's own edit holds the path: that name is taken in A's folder by a
        // file nobody synced yet.
        let firstName = ConflictNames.candidate(for: try PlainPath("doc.txt"), side: try b.side(of: bHead), attempt: 1)!
        // A has a change of its own, so its pass merges and must push (and can lose the push race).
        try write(a, "a-side.txt", "unrelated\n")
        var options = SyncOptions()
        let pushes = Unchecked(0), cRef = Unchecked(c), plain = a.location.plain
        options.onPhase = { phase in
            switch phase {
            case .applying where pushes.value == 0:
                try? FileSystem.writeAtomically(Array("version a, saved during the apply\n".utf8), to: plain.appending("doc.txt"), mode: 0o644)
                try? FileSystem.writeAtomically(Array("a user's file at the copy name\n".utf8), to: plain.appending(firstName), mode: 0o644)
            case .pushing:
                pushes.value += 1
                // C saves the same file and wins the push race: A's first push is refused, and its pass
                // fetches and merges again.
                if pushes.value == 1 {
                    try? FileSystem.writeAtomically(Array("version c\n".utf8), to: cRef.value.location.plain.appending("doc.txt"), mode: 0o644)
                    _ = try? cRef.value.sync()
                }
            default:
                break
            }
        }
        _ = try a.sync(options: options)
        #expect(pushes.value >= 2, "A's push was never refused, the race did not happen")
        let tree = try converge([a, b, c])
        #expect(tree[firstName.description] == "file:a user's file at the copy name\n")
        #expect(Self.versions(tree, "doc") == ["version a, saved during the apply\n": 1, "version b\n": 1, "version c\n": 1, "a user's file at the copy name\n": 1], "\(tree)")
    }

    func symlink(_ e: SyncEngine, _ path: String, to target: String) throws {
        try FileSystem.createSymlink(e.location.plain.appending(path), target: Array(target.utf8))
    }

    @Test func aDirectoryReplacedByASymlinkWhileAFileWasAddedInIt() throws {
        defer { try? FileSystem.removeTree(dir) }
        let m = try machines(["a", "b"], files: ["docs/old.txt": "old\n"])
        let (a, b) = (m[0], m[1])
        try write(b, "docs/new.txt", "added on b\n")
        _ = try b.sync()
        try FileSystem.removeTree(a.location.plain.appending("docs"))
        try symlink(a, "docs", to: "/elsewhere")
        _ = try a.sync()
        let tree = try converge([a, b])
        // A directory beats a symlink: the directory keeps its path with the added file, the symlink is a copy.
        #expect(tree["docs"] == "dir" && tree["docs/new.txt"] == "file:added on b\n", "\(tree)")
        #expect(tree["docs/old.txt"] == nil)
        #expect(tree.contains { $0.key.hasPrefix("docs.sync-conflict-") && $0.value == "link:/elsewhere" }, "\(tree)")
        // And it stays so: the next passes delete nothing.
        _ = try converge([a, b])
        #expect(try Self.snapshot(a) == tree)
    }

    @Test func aFileArrivingBelowAPathThatJustBecameASymlinkGoesBelowACopy() throws {
        defer { try? FileSystem.removeTree(dir) }
        let m = try machines(["a", "b"], files: ["docs/old.txt": "old\n"])
        let (a, b) = (m[0], m[1])
        try write(b, "docs/new.txt", "added on b\n")
        try write(b, "docs/old.txt", "old, edited on b\n")
        _ = try b.sync()
        // On A the directory becomes a symlink after A's scan, before the apply.
        var options = SyncOptions()
        let folder = a.location.plain
        options.onPhase = { phase in
            guard phase == .applying else { return }
            try? FileSystem.removeTree(folder.appending("docs"))
            try? FileSystem.createSymlink(folder.appending("docs"), target: Array("/elsewhere".utf8))
        }
        let report = try a.sync(options: options)
        #expect(report.conflicts.contains { $0.path.description == "docs/new.txt" && $0.copy?.description.hasPrefix("docs.sync-conflict-") == true }, "\(report.conflicts)")
        let tree = try converge([a, b])
        #expect(tree["docs"] == "link:/elsewhere", "\(tree)")
        let copies = tree.filter { $0.key.hasPrefix("docs.sync-conflict-") }
        #expect(copies.count == 3, "\(tree)")  // the directory and both incoming files in it
        #expect(copies.contains { $0.key.hasSuffix("/new.txt") && $0.value == "file:added on b\n" }, "\(tree)")
        #expect(copies.contains { $0.key.hasSuffix("/old.txt") && $0.value == "file:old, edited on b\n" }, "\(tree)")
    }

    @Test func aDirectoryArrivingWhereAFileJustAppearedGoesToACopy() throws {
        defer { try? FileSystem.removeTree(dir) }
        let m = try machines(["a", "b"], files: ["keep.txt": "k\n"])
        let (a, b) = (m[0], m[1])
        try write(b, "x/c.txt", "in b's directory\n")
        _ = try b.sync()
        var options = SyncOptions()
        let folder = a.location.plain
        options.onPhase = { phase in
            if phase == .applying { try? FileSystem.writeAtomically(Array("a's file\n".utf8), to: folder.appending("x"), mode: 0o644) }
        }
        _ = try a.sync(options: options)
        let tree = try converge([a, b])
        // The directory went to a copy on A, then A's file went in; the later merge keeps both anyway.
        #expect(Self.versions(tree, "") == ["k\n": 1, "a's file\n": 1, "in b's directory\n": 1], "\(tree)")
        #expect(!tree.keys.contains { $0.contains("/") && tree[String($0[..<$0.firstIndex(of: "/")!])] != "dir" }, "an entry below a non-directory: \(tree)")
    }

    @Test func aSyncedSymlinkOrFileReplacedByADirectoryElsewhere() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try engine("a")
        try write(a, "f", "a file\n")
        try symlink(a, "s", to: "target")
        _ = try a.initialize()
        let b = try engine("b")
        _ = try b.join()
        try FileSystem.removeTree(b.location.plain.appending("f"))
        try FileSystem.removeTree(b.location.plain.appending("s"))
        try write(b, "f/inside.txt", "1\n")
        try write(b, "s/inside.txt", "2\n")
        _ = try b.sync()
        let tree = try converge([a, b])
        #expect(tree == ["f": "dir", "f/inside.txt": "file:1\n", "s": "dir", "s/inside.txt": "file:2\n"], "\(tree)")
    }
}

/// Hands state to the `onPhase` hook, which runs on this test's own thread, inside the engine's pass.
final class Unchecked<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
