import Testing
import TestSupport
import Foundation
import Synchronization
import ShadowCore
import ShadowSystem
@testable import ShadowGit

/// Consolidation of a shadow repository and a local bare remote after many one-file syncs, each of
/// which left loose objects in the shadow repository and a pack in the remote.
@Suite struct ConsolidationTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-consolidate-") }

    static let commits = 120
    static let limits = ObjectConsolidation.Limits(looseObjects: 50, packs: 10)

    func fakeSign(_ data: [UInt8]) -> String { String(format: "%016llx", UInt64(data.count) &* 0x9e37_79b9) }

    func packCount(_ gitDir: BytePath) throws -> Int {
        try FileSystem.list(gitDir.appending("objects/pack")).filter { String(decoding: $0, as: UTF8.self).hasSuffix(".idx") }.count
    }

    func git(_ args: [String]) -> (status: Int32, output: String) { SSHServer.shell(["git"] + args) }

    @Test func manyPushesAreConsolidatedIntoOnePackWhileAReaderFetches() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        var head: ObjectID?
        var heads: [ObjectID] = []
        for i in 0..<Self.commits {
            let path = "d/\(i % 7)/f\(i % 13).n"
            let full = a.path.appending(path)
            try FileSystem.createDirectories(full.directory, mode: 0o755)
            try FileSystem.writeAtomically(Array("version \(i)".utf8), to: full, mode: 0o644)
            let tree = try a.stage([path])
            let c = try a.createCommit(tree: tree, parents: head.map { [$0] } ?? [], message: "\(i)") { (d) throws(ShadowError) -> String in fakeSign(d) }
            try a.setReference(GitRepository.branch, to: c, expecting: head)
            try a.push(expecting: c)
            head = c
            heads.append(c)
        }
        let shadowGit = a.path.appending(".git")
        #expect(try packCount(remote) >= Self.commits)
        #expect(ObjectConsolidation.looseObjects(in: shadowGit.description + "/objects").count >= Self.commits * 3)
        #expect(ObjectConsolidation.isDue(gitDir: remote.description, limits: Self.limits))
        #expect(ObjectConsolidation.isDue(gitDir: shadowGit.description, limits: Self.limits))
        #expect(!ObjectConsolidation.isDue(gitDir: shadowGit.description))  // git's gc.auto is far above this

        // A reader (git itself) clones and fetches the remote over and over while it is consolidated.
        let clone = dir.appending("reader.git").description
        #expect(git(["clone", "--quiet", "--bare", remote.description, clone]).status == 0)
        let stop = Atomic(false)
        let failures = Mutex<[String]>([])
        let rounds = Atomic(0)
        let reader = Thread {
            var n = 0
            while !stop.load(ordering: .acquiring) {
                let target = clone + "-\(n)"
                let r = SSHServer.shell(["git", "clone", "--quiet", "--bare", "--no-local", remote.description, target])
                if r.status != 0 { failures.withLock { $0.append(r.output) } }
                try? FileSystem.removeTree(BytePath(target))
                n += 1
                rounds.store(n, ordering: .releasing)
            }
        }
        reader.start()
        while rounds.load(ordering: .acquiring) == 0 { usleep(10_000) }
        let remoteDone = try #require(try ObjectConsolidation.consolidateIfDue(gitDir: remote.description, limits: Self.limits))
        let shadowDone = try #require(try ObjectConsolidation.consolidateIfDue(gitDir: shadowGit.description, limits: Self.limits))
        let after = rounds.load(ordering: .acquiring)
        while rounds.load(ordering: .acquiring) < after + 2 { usleep(10_000) }  // clones that started after it too
        stop.store(true, ordering: .releasing)
        while !reader.isFinished { usleep(10_000) }
        #expect(failures.withLock { $0 } == [])

        #expect(remoteDone.packsRemoved == remoteDone.packsBefore && remoteDone.packsBefore >= Self.commits)
        #expect(shadowDone.looseRemoved == shadowDone.looseBefore && shadowDone.looseBefore >= Self.commits * 3)
        for repo in [remote, shadowGit] {
            #expect(try packCount(repo) == 1, "\(repo)")
            #expect(ObjectConsolidation.looseObjects(in: repo.description + "/objects").isEmpty)
            let fsck = git(["--git-dir=\(repo)", "fsck", "--full", "--strict"])
            #expect(fsck.status == 0 && !fsck.output.contains("missing") && !fsck.output.contains("error"), "\(fsck.output)")
            let log = git(["--git-dir=\(repo)", "log", "--format=%H", GitRepository.branch])
            #expect(log.output.split(separator: "\n").map(String.init) == heads.reversed().map(\.hex))
        }
        #expect(!ObjectConsolidation.isDue(gitDir: remote.description, limits: Self.limits))
        #expect(try ObjectConsolidation.consolidate(gitDir: remote.description) == nil)  // one pack: nothing to merge

        // The repository handle open during the consolidation still reads every commit and file, and
        // pushes on; a fresh one fetches everything.
        #expect(try a.commits(from: head!, excluding: nil).count == Self.commits)
        for id in heads { _ = try a.commit(id) }
        for e in try a.entries(ofTree: try a.commit(head!).tree) { _ = try a.blob(e.id, limit: 1 << 20) }
        try FileSystem.writeAtomically(Array("after".utf8), to: a.path.appending("d/after.n"), mode: 0o644)
        let last = try a.createCommit(tree: try a.stage(["d/after.n"]), parents: [head!], message: "after") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: last, expecting: head)
        try a.push(expecting: last)
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remote.description)
        #expect(try b.fetch() == last)
        let entries = try b.entries(ofTree: try b.commit(last).tree)
        #expect(entries.count == min(Self.commits, 7 * 13) + 1)  // (i mod 7, i mod 13) repeats after 91 commits
        let newest = try #require(entries.first { String(decoding: $0.path, as: UTF8.self) == "d/\((Self.commits - 1) % 7)/f\((Self.commits - 1) % 13).n" })
        #expect(try b.blob(newest.id, limit: 1 << 20) == Array("version \(Self.commits - 1)".utf8))
        #expect(try b.blob(try #require(entries.first { String(decoding: $0.path, as: UTF8.self) == "d/after.n" }).id, limit: 1 << 20) == Array("after".utf8))
    }

    /// A pack holding most objects (a first import's) stays as it is; the small ones merge beside it.
    @Test func aPackMuchLargerThanTheRestIsKept() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        let imported = (0..<100).map { "d/i\($0 % 4)/f\($0).n" }
        for p in imported {
            try FileSystem.createDirectories(a.path.appending(p).directory, mode: 0o755)
            try FileSystem.writeAtomically(Array("import \(p)".utf8), to: a.path.appending(p), mode: 0o644)
        }
        var head = try a.createCommit(tree: try a.stage(imported), parents: [], message: "import") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: head, expecting: nil)
        try a.push(expecting: head)
        // The staging pack of the 100 blobs, copied whole, and a pack of the trees and the commit.
        let importPack = try #require(PackIndex.names(in: remote.description + "/objects/pack")
            .max { (PackIndex.objectIDs(remote.description + "/objects/pack/" + $0)?.count ?? 0) < (PackIndex.objectIDs(remote.description + "/objects/pack/" + $1)?.count ?? 0) })
        for i in 0..<8 {
            try FileSystem.writeAtomically(Array("edit \(i)".utf8), to: a.path.appending(imported[i]), mode: 0o644)
            let c = try a.createCommit(tree: try a.stage([imported[i]]), parents: [head], message: "\(i)") { (d) throws(ShadowError) -> String in fakeSign(d) }
            try a.setReference(GitRepository.branch, to: c, expecting: head)
            try a.push(expecting: c)
            head = c
        }
        #expect(try packCount(remote) == 10)
        let done = try #require(try ObjectConsolidation.consolidateIfDue(gitDir: remote.description, limits: Self.limits.with(packs: 5)))
        #expect(done.packsBefore == 9 && done.packsRemoved == 9)
        let after = PackIndex.names(in: remote.description + "/objects/pack")
        #expect(after.count == 2 && after.contains(importPack), "\(after)")
        let fsck = git(["--git-dir=\(remote)", "fsck", "--full", "--strict"])
        #expect(fsck.status == 0 && fsck.output.isEmpty, "\(fsck.output)")
    }

    /// The consolidation lock is an flock: while another holder has it the repository is skipped; the
    /// lock file a finished or killed holder leaves behind blocks nobody, however old.
    /// A reclaim (or consolidation) holding the lock keeps a local push from writing its pack and moving
    /// the branch until it is done, so it never removes objects the branch is about to name.
    @Test func aLocalPushWaitsForAHeldConsolidationLock() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        try FileSystem.writeAtomically(Array("one".utf8), to: a.path.appending("f.n"), mode: 0o644)
        let c = try a.createCommit(tree: try a.stage(["f.n"]), parents: [], message: "1") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c, expecting: nil)
        var holder: FileLock? = try FileLock(remote.appending("objects/pack/" + ObjectConsolidation.lockName))
        let pushed = Atomic(false)
        let pusher = Thread { _ = try? a.push(expecting: c); pushed.store(true, ordering: .sequentiallyConsistent) }
        pusher.start()
        Thread.sleep(forTimeInterval: 1)
        let early = pushed.load(ordering: .sequentiallyConsistent)
        #expect(!early, "a push went ahead while the lock was held")
        #expect(try packCount(remote) == 0)
        #expect(try GitRepository.open(remote, repairIndex: false).reference(GitRepository.branch) == nil)
        holder = nil
        _ = holder
        let deadline = Date().addingTimeInterval(30)
        while !pushed.load(ordering: .sequentiallyConsistent) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try GitRepository.open(remote, repairIndex: false).reference(GitRepository.branch) == c)
    }

    @Test func aHeldLockSkipsTheRepositoryAndALeftoverLockFileDoesNot() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        var head: ObjectID?
        for i in 0..<3 {
            let p = "d/f\(i).n"
            try FileSystem.createDirectories(a.path.appending(p).directory, mode: 0o755)
            try FileSystem.writeAtomically(Array("file \(i)".utf8), to: a.path.appending(p), mode: 0o644)
            let c = try a.createCommit(tree: try a.stage([p]), parents: head.map { [$0] } ?? [], message: "\(i)") { (d) throws(ShadowError) -> String in fakeSign(d) }
            try a.setReference(GitRepository.branch, to: c, expecting: head)
            try a.push(expecting: c)
            head = c
        }
        #expect(try packCount(remote) == 3)
        let lockPath = remote.appending("objects/pack/" + ObjectConsolidation.lockName)
        var holder: FileLock? = try FileLock(lockPath)
        #expect(try ObjectConsolidation.consolidate(gitDir: remote.description) == nil)
        #expect(try packCount(remote) == 3)
        holder = nil
        _ = holder
        // The file stays, dated long ago, as a killed holder would leave it: no longer locked, it is no obstacle.
        var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, lockPath.description, &times, 0) == 0)
        let done = try #require(try ObjectConsolidation.consolidate(gitDir: remote.description))
        let packsAfter = try packCount(remote)
        #expect(done.packsRemoved == 3 && packsAfter == 1)
        let fsck = git(["--git-dir=\(remote)", "fsck", "--full", "--strict"])
        #expect(fsck.status == 0 && fsck.output.isEmpty, "\(fsck.output)")
    }
}

extension ObjectConsolidation.Limits {
    func with(packs: Int) -> Self { var l = self; l.packs = packs; return l }
}
