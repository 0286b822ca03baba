import Testing
import TestSupport
import Foundation
import ShadowCore
import ShadowSystem
@testable import ShadowGit

/// A fetch from a bare repository on this machine copies the missing objects as one pack of stored
/// objects (LocalFetch.swift), checking each object's type and size before it reads it.
@Suite(.serialized) struct LocalFetchTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-fetch-") }

    func git(_ args: [String]) -> (status: Int32, output: String) { SSHServer.shell(["git"] + args) }

    func clone(_ name: String, of url: String) throws -> GitRepository {
        let repository = try GitRepository.createWorkTree(at: dir.appending(name))
        try repository.setRemote(url: url)
        return repository
    }

    @discardableResult
    func commit(_ repository: GitRepository, _ files: [String: [UInt8]]) throws -> ObjectID {
        for (path, bytes) in files {
            let full = repository.path.appending(path)
            try FileSystem.createDirectories(full.directory, mode: 0o755)
            try FileSystem.writeAtomically(bytes, to: full, mode: 0o644)
        }
        let head = try repository.reference(GitRepository.branch)
        let id = try repository.createCommit(tree: try repository.stageAll(), parents: head.map { [$0] } ?? [], message: "m") {
            (d) throws(ShadowError) -> String in RemoteConformanceTests.fakeSign(d)
        }
        try repository.setReference(GitRepository.branch, to: id, expecting: head)
        return id
    }

    func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    /// Objects in the packs of a git directory, and the packs' total size.
    func packs(_ gitDir: String) -> (objects: Int, bytes: Int) {
        let packDir = gitDir + "/objects/pack"
        var objects = 0, bytes = 0
        for name in PackIndex.names(in: packDir) {
            objects += PackIndex.objectIDs(packDir + "/" + name)?.count ?? 0
            let pack = packDir + "/" + name.dropLast(PackIndex.indexSuffix.count) + ".pack"
            bytes += ((try? FileManager.default.attributesOfItem(atPath: pack))?[.size] as? Int) ?? 0
        }
        return (objects, bytes)
    }

    @Test func aFetchCopiesOnlyTheMissingObjectsStoredAndFsckIsClean() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try clone("a", of: remote.description), b = try clone("b", of: remote.description)
        let big = randomBytes(300_000)
        let c1 = try commit(a, ["vault.json": Array("{}\n".utf8), "d/a/b/big.c": big, "d/a/b/big.n": Array("n".utf8)])
        try a.remote().push(expecting: c1)
        #expect(try b.remote().fetch() == c1)
        let first = packs(b.path.description + "/.git")
        // The commit, four trees (root, d, d/a, d/a/b) and three blobs: stored, not deflated.
        #expect(first.objects == 8, "\(first)")
        #expect(first.bytes > big.count, "\(first)")

        let c2 = try commit(a, ["d/a/c/small.n": Array("two".utf8)])
        try a.remote().push(expecting: c2)
        #expect(try b.remote().fetch() == c2)
        #expect(try b.reference(GitRepository.remoteTrackingBranch) == c2)
        // The new commit, its root, d, d/a, d/a/c and the blob: nothing fetched before is copied again.
        #expect(packs(b.path.description + "/.git").objects - first.objects == 6)
        #expect(try b.remote().fetch() == c2)
        let fsck = git(["--git-dir=\(b.path.description)/.git", "fsck", "--full", "--strict", GitRepository.remoteTrackingBranch])
        #expect(fsck.status == 0 && !fsck.output.contains("missing") && !fsck.output.contains("error"), "\(fsck.output)")
        // Every pack this wrote: its entries' CRC-32s, offsets and trailer as git checks them.
        let packDir = b.path.description + "/.git/objects/pack"
        for name in PackIndex.names(in: packDir) {
            let verify = git(["verify-pack", packDir + "/" + name])
            #expect(verify.status == 0, "\(verify.output)")
        }
        #expect(try b.blob(try b.entries(ofTree: try b.commit(c2).tree).first { PlainPath.render($0.path) == "d/a/b/big.c" }!.id, limit: big.count) == big)
    }

    @Test func aRemoteWithoutMainRemovesTheTrackingBranch() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try clone("a", of: remote.description), b = try clone("b", of: remote.description)
        let c1 = try commit(a, ["vault.json": Array("{}\n".utf8)])
        try a.remote().push(expecting: c1)
        #expect(try b.remote().fetch() == c1)
        #expect(git(["--git-dir=\(remote.description)", "update-ref", "-d", "refs/heads/main"]).status == 0)
        #expect(try b.remote().fetch() == nil)
        #expect(try b.reference(GitRepository.remoteTrackingBranch) == nil)
    }

    /// An object the remote stores under a genuine-looking name but far larger than any ShadowSync
    /// object is refused from its header: the fetch never loads it, and the tracking branch stays.
    @Test func anOversizedObjectIsRefusedBeforeItIsRead() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try clone("a", of: remote.description), b = try clone("b", of: remote.description)
        let c1 = try commit(a, ["vault.json": Array("{}\n".utf8)])
        try a.remote().push(expecting: c1)
        #expect(try b.remote().fetch() == c1)
        let size = GitRepository.localFetchObjectLimitBytes + 1
        let r = SSHServer.shell(["bash", "-c", """
            set -e
            blob=$(head -c \(size) /dev/zero | git -C "$1" -c core.compression=1 -c core.looseCompression=1 hash-object -w --stdin)
            export GIT_INDEX_FILE="$1/huge-index"
            git -C "$1" read-tree main
            git -C "$1" update-index --add --cacheinfo "100644,$blob,d/a/b/huge.c"
            tree=$(git -C "$1" write-tree)
            commit=$(git -C "$1" -c user.name=m -c user.email=m@x commit-tree "$tree" -p main -m huge)
            git -C "$1" update-ref refs/heads/main "$commit"
            """, "huge", remote.description])
        #expect(r.status == 0, "\(r.output)")
        do {
            _ = try b.remote().fetch()
            Issue.record("an object over the limit was fetched")
        } catch {
            #expect(error.code == .malformedObject && error.message.contains("more than the"), "\(error)")
        }
        #expect(try b.reference(GitRepository.remoteTrackingBranch) == c1)
    }
}
