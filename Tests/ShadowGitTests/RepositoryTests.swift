import Testing
import Foundation
import ShadowCore
import ShadowFS
@testable import ShadowGit

/// Real libgit2 against a real bare repository on the local file system (the embedded default remote).
@Suite struct RepositoryTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-test-") }

    func write(_ repo: GitRepository, _ path: String, _ text: String) throws {
        let full = repo.path.appending(path)
        try FileSystem.createDirectories(full.directory, mode: 0o755)
        try FileSystem.writeAtomically(Array(text.utf8), to: full, mode: 0o644)
    }

    /// A stand-in signer: the git layer only carries the text it is given.
    func fakeSign(_ data: [UInt8]) -> String { String(format: "%016llx", UInt64(data.count) &* 0x9e37_79b9) }

    @Test func commitSignPushFetchAndVerifyAncestry() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remotePath = dir.appending("remote.git")
        try GitRepository.createBare(at: remotePath)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.exclude("/vault.key")
        try write(a, "d/a/b/one.n", "record")
        try write(a, "vault.key", "SECRET")
        let tree = try a.stageAll()
        let entries = try a.entries(ofTree: tree)
        #expect(entries.map { String(decoding: $0.path, as: UTF8.self) } == ["d/a/b/one.n"])  // excluded key stays out
        #expect(entries.allSatisfy { $0.mode == 0o100644 })
        #expect(try a.blob(entries[0].id) == Array("record".utf8))

        var signedBuffer: [UInt8] = []
        let c1 = try a.createCommit(tree: tree, parents: [], message: "\nShdw-Meta: 00\n") { (data) throws(ShadowError) -> String in
            signedBuffer = data
            return fakeSign(data)
        }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        try a.setRemote(url: remotePath.description)
        try a.push()

        // A second repository fetches and sees exactly what was signed.
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remotePath.description)
        #expect(try b.fetch() == c1)
        let info = try b.commit(c1)
        #expect(info.signature == fakeSign(signedBuffer))
        #expect(info.signedData == signedBuffer)
        #expect(info.parents.isEmpty && info.tree == tree)
        #expect(info.message == "\nShdw-Meta: 00\n")
        let text = String(decoding: signedBuffer, as: UTF8.self)
        #expect(text.contains("author shdw <shdw@invalid> 0 +0000"))

        // b builds on a; a's next commit then conflicts with b's push.
        try b.setReference(GitRepository.branch, to: c1, expecting: nil)
        try write(b, "d/a/b/two.n", "from b")
        let cb = try b.createCommit(tree: try b.stageAll(), parents: [c1], message: "b") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try b.setReference(GitRepository.branch, to: cb, expecting: c1)
        try b.push()
        try write(a, "d/a/b/three.n", "from a")
        let ca = try a.createCommit(tree: try a.stageAll(), parents: [c1], message: "a") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: ca, expecting: c1)
        do {
            try a.push()
            Issue.record("a non-fast-forward push was accepted")
        } catch {
            #expect(error.code == .nonFastForward)
            #expect(error.isRetryable)
        }
        // After fetching, history relations are what a verifier needs.
        #expect(try a.fetch() == cb)
        #expect(try a.isDescendant(cb, of: c1))
        #expect(try !a.isDescendant(c1, of: cb))
        #expect(try !a.isDescendant(ca, of: cb))
        #expect(try a.mergeBase(ca, cb) == c1)
        #expect(try a.commits(from: cb, excluding: c1) == [cb])
        // A merge commit fast-forwards the remote.
        let merged = try a.createCommit(tree: try a.stageAll(), parents: [ca, cb], message: "m") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: merged, expecting: ca)
        try a.push()
        #expect(try b.fetch() == merged)
        #expect(try b.commits(from: merged, excluding: c1).count == 3)
    }

    @Test func referenceUpdatesAreCompareAndSwap() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try write(a, "f", "x")
        let tree = try a.stageAll()
        let c1 = try a.createCommit(tree: tree, parents: [], message: "1") { (d) throws(ShadowError) -> String in "s" }
        let c2 = try a.createCommit(tree: tree, parents: [c1], message: "2") { (d) throws(ShadowError) -> String in "s" }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        #expect(throws: ShadowError.self) { try a.setReference(GitRepository.branch, to: c2, expecting: c2) }
        #expect(try a.reference(GitRepository.branch) == c1)
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)
        #expect(try a.reference(GitRepository.branch) == c2)
        #expect(try a.reference("refs/heads/none") == nil)
    }

    @Test func unsignedCommitsReportNoSignature() throws {
        defer { try? FileSystem.removeTree(dir) }
        // A commit made by plain git (as a hostile server would) carries no shdwsig field.
        let path = dir.appending("plain")
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        git.arguments = ["-c", "user.name=x", "-c", "user.email=x@x", "-C", path.description, "commit", "-q", "--allow-empty", "-m", "evil"]
        let initGit = Process()
        initGit.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        initGit.arguments = ["init", "-q", path.description]
        try initGit.run(); initGit.waitUntilExit()
        try git.run(); git.waitUntilExit()
        #expect(git.terminationStatus == 0)
        let repo = try GitRepository.open(path)
        let head = try #require(try repo.reference("HEAD"))
        let info = try repo.commit(head)
        #expect(info.signature == nil && info.signedData == nil)
        #expect(info.message == "evil\n")
    }

    @Test func missingRemoteAndMissingRepositoryAreClearErrors() throws {
        defer { try? FileSystem.removeTree(dir) }
        #expect(throws: ShadowError.self) { _ = try GitRepository.open(dir.appending("nothing")) }
        do { _ = try GitRepository.open(dir.appending("nothing")) } catch { #expect(error.code == .notFound) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: dir.appending("no-such-remote.git").description)
        do {
            _ = try a.fetch()
            Issue.record("fetch from a missing remote succeeded")
        } catch {
            #expect(error.code == .remoteUnavailable)
            #expect(error.isRetryable)
        }
    }

    @Test func systemGitConfigIsIgnored() throws {
        defer { try? FileSystem.removeTree(dir) }
        // /etc/gitconfig here sets core.excludesFile=/etc/gitignore, which ignores "Package.resolved".
        // The shadow repository must commit exactly what the engine wrote, whatever the machine's config.
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try write(a, "Package.resolved", "x")
        let names = try a.entries(ofTree: try a.stageAll()).map { String(decoding: $0.path, as: UTF8.self) }
        #expect(names == ["Package.resolved"])
    }
}
