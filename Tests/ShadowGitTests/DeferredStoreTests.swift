import Testing
import Foundation
import ShadowCore
import ShadowSystem
@testable import ShadowGit

/// The deferred store against real repositories: what it answers from files must be exactly what
/// libgit2 answers, and anything it cannot be sure of must go to libgit2.
@Suite struct DeferredStoreTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-deferred-") }

    func fakeSign(_ data: [UInt8]) -> String { String(data.count) }

    /// A work tree `name` with one commit on main, pushed to `remote`.
    func pushedRepository(_ name: String, remote: BytePath, content: String) throws -> (GitRepository, ObjectID) {
        let repo = try GitRepository.createWorkTree(at: dir.appending(name))
        try FileSystem.createDirectories(repo.path.appending("d"), mode: 0o755)
        try FileSystem.writeAtomically(Array(content.utf8), to: repo.path.appending("d/x"), mode: 0o644)
        let head = try repo.createCommit(tree: try repo.stageAll(), parents: [], message: "m") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try repo.setReference(GitRepository.branch, to: head, expecting: nil)
        try repo.setRemote(url: remote.description)
        try repo.push()
        return (repo, head)
    }

    func deferred(_ path: BytePath, opens: Counter) -> DeferredGitStore {
        DeferredGitStore(shadow: path, open: { () throws(ShadowError) -> GitRepository in
            opens.count += 1
            return try GitRepository.open(path)
        })
    }

    final class Counter: @unchecked Sendable { var count = 0 }

    @Test func aNoOpFetchFromALocalRemoteIsAnsweredFromFilesAndAgreesWithLibgit2() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let (a, head) = try pushedRepository("a", remote: remote, content: "one")
        #expect(try a.fetch() == head)  // the tracking ref now names the remote's head

        let opens = Counter()
        let store = deferred(a.path, opens: opens)
        #expect(try store.reference(GitRepository.branch) == head)
        #expect(try store.reference(GitRepository.remoteTrackingBranch) == head)
        #expect(try store.remote().fetch() == head)
        store.removeStaleLocks()
        #expect(opens.count == 0, "nothing here needs libgit2")

        // Someone else pushes: the remote's branch differs from the tracking ref, so libgit2 fetches.
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remote.description)
        #expect(try b.fetch() == head)
        try b.setReference(GitRepository.branch, to: head, expecting: nil)
        try FileSystem.createDirectories(b.path.appending("d"), mode: 0o755)
        try FileSystem.writeAtomically(Array("two".utf8), to: b.path.appending("d/x"), mode: 0o644)
        let tip = try b.createCommit(tree: try b.stageAll(), parents: [head], message: "m") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try b.setReference(GitRepository.branch, to: tip, expecting: head)
        try b.push()
        #expect(try store.remote().fetch() == tip)
        #expect(opens.count == 1)
        #expect(try store.reference(GitRepository.remoteTrackingBranch) == tip)
        #expect(opens.count == 1, "opened once, then libgit2 answers everything")
    }

    @Test func refsAndConfigsItCannotBeSureOfGoToLibgit2() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let (a, head) = try pushedRepository("a", remote: remote, content: "one")
        _ = try a.fetch()
        let gitDir = a.path.description + "/.git/"

        // A packed ref: no loose file, so libgit2 reads packed-refs, with the same answer.
        try FileSystem.writeAtomically(Array("# pack-refs with: peeled fully-peeled sorted \n\(head.hex) refs/heads/other\n".utf8),
                                       to: BytePath(gitDir + "packed-refs"), mode: 0o644)
        let opens = Counter()
        let store = deferred(a.path, opens: opens)
        #expect(try store.reference("refs/heads/other") == head)
        #expect(opens.count == 1)

        // The config: only the plain form libgit2 writes is read; anything that could change the
        // repository `origin` names returns nil ("ask libgit2").
        let written = String(decoding: try FileSystem.readFile(BytePath(gitDir + "config")), as: UTF8.self)
        #expect(written.contains("url = \(remote.description)"))
        #expect(RefFiles.localOrigin(configFile: gitDir + "config") == remote.description)
        let base = "[core]\n\tbare = false\n[remote \"origin\"]\n\tfetch = +refs/heads/main:refs/remotes/origin/main\n"
        let cases: [(String, String?)] = [
            (base + "\turl = /srv/r.git\n", "/srv/r.git"),
            (base + "\turl = file:///srv/r.git\n", "/srv/r.git"),
            (base + "\turl = file:///srv/my%20r.git\n", nil),
            ("[remote \"origin\"] url = /srv/r.git\n", nil),
            (base + "\turl = user@host:r.git\n", nil),
            (base + "\turl = ssh://host/r.git\n", nil),
            (base + "\turl = /srv/a.git\n\turl = /srv/b.git\n", nil),
            (base + "\turl = \"/srv/r.git\"\n", nil),
            (base + "\turl = /srv/r\\\n.git\n", nil),
            (base + "\turl = /srv/r.git\n[include]\n\tpath = other\n", nil),
            (base + "\turl = /srv/r.git\n[url \"/elsewhere\"]\n\tinsteadOf = /srv\n", nil),
            (base + "\turl = /srv/r.git\n[remote.origin]\n\turl = /srv/x.git\n", nil),
            (base + "\turl = /srv/r.git # a comment\n", nil),
            ("[core]\n\tbare = false\n", nil),
        ]
        let file = dir.appending("config-case")
        for (text, expected) in cases {
            try FileSystem.writeAtomically(Array(text.utf8), to: file, mode: 0o644)
            #expect(RefFiles.localOrigin(configFile: file.description) == expected, "\(text)")
        }

        // Loose ref files: only a full id and a newline.
        let ref = dir.appending("ref")
        for (text, expected) in [(head.hex + "\n", head as ObjectID?), ("ref: refs/heads/main\n", nil), (String(head.hex.prefix(39)) + "\n", nil),
                                 (head.hex, nil), (head.hex.uppercased() + "\n", nil), (head.hex + "\n\n", nil)] {
            try FileSystem.writeAtomically(Array(text.utf8), to: ref, mode: 0o644)
            #expect(RefFiles.loose(ref.description) == expected, "\(text)")
        }
        #expect(RefFiles.loose(dir.appending("missing").description) == nil)
        #expect(RefFiles.isBareRepository(remote.description))
        #expect(!RefFiles.isBareRepository(a.path.description))
    }
}
