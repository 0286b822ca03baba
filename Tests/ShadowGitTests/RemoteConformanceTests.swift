import Testing
import TestSupport
import Foundation
import ShadowCore
import ShadowSystem
@testable import ShadowGit

/// One transport under the conformance suite: how to make a repository it serves, and how a local
/// repository reaches it. Another transport (a gitolite server, say) is one more value in `all`.
struct RemoteBackend: Sendable, CustomTestStringConvertible {
    let name: String
    /// Whether the transport reads the remote's head and top-level blobs in place, before a fetch.
    let readsInPlace: Bool
    /// Creates an empty repository (bare, or with a work tree when `bare` is false) at `path` and
    /// returns the URL a local repository names it by.
    let create: @Sendable (_ path: BytePath, _ bare: Bool) throws -> String
    /// The URL of a repository that does not exist at `path`.
    let missing: @Sendable (_ path: BytePath) throws -> String
    /// Attaches what the transport needs to a local repository (SSH keys and host-key check).
    let attach: @Sendable (GitRepository) throws -> Void
    /// Whether the transport can serve a repository with a work tree at all (git hosting serves only
    /// its own bare repositories).
    var servesWorkTrees = true

    var testDescription: String { name }

    static func makeRepository(_ path: BytePath, bare: Bool) throws {
        if bare { try GitRepository.createBare(at: path) } else { _ = try GitRepository.createWorkTree(at: path) }
    }

    /// A bare repository on this machine, named by its path.
    static let localBare = RemoteBackend(
        name: "local bare repository", readsInPlace: true,
        create: { path, bare in try makeRepository(path, bare: bare); return path.description },
        missing: { path in path.description },
        attach: { _ in })

    /// The same repositories, served by a private sshd on loopback (Tests/ssh-server.sh).
    static let ssh = RemoteBackend(
        name: "SSH", readsInPlace: false,
        create: { path, bare in try makeRepository(path, bare: bare); return try SSHServer.info().url(path.description) },
        missing: { path in try SSHServer.info().url(path.description) },
        attach: { repository in
            let server = try SSHServer.info()
            repository.ssh = SSHSettings(
                user: server.user, keyFile: BytePath(server.key("client_ed25519")), readKeyPassphrase: nil, useAgent: false,
                defaultKeyFiles: [], checkHostKey: { _, _, key in
                    key.fingerprint == server.fingerprint ? nil : ShadowError(.hostKeyUnknown, "unexpected host key \(key.fingerprint)")
                })
        })

    /// gitolite behind the same sshd: each repository is one gitolite creates (`repo` in gitolite.conf,
    /// RW for the test user, so its update hook refuses rewinds), linked from `path` so the tests read
    /// its files where they expect them.
    static let gitolite = RemoteBackend(
        name: "gitolite", readsInPlace: false,
        create: { path, _ in
            let installation = try Gitolite.shared.get()
            let name = "conformance-\(UUID().uuidString.prefix(8).lowercased())"
            try installation.addRepository(name, rights: ["RW = tester"])
            try FileManager.default.createSymbolicLink(atPath: path.description, withDestinationPath: installation.repositoryPath(name))
            return installation.url(name)
        },
        missing: { _ in try Gitolite.shared.get().url("missing-\(UUID().uuidString.prefix(8).lowercased())") },
        attach: { repository in
            let server = try SSHServer.info()
            repository.ssh = SSHSettings(
                user: server.user, keyFile: BytePath(Gitolite.sharedKey), readKeyPassphrase: nil, useAgent: false,
                defaultKeyFiles: [], checkHostKey: { _, _, key in
                    key.fingerprint == server.fingerprint ? nil : ShadowError(.hostKeyUnknown, "unexpected host key \(key.fingerprint)")
                })
        },
        servesWorkTrees: false)

    /// SSH is left out only when sshd is missing and this is not CI (SSHServer.available); gitolite also
    /// when gitolite3 is missing and this is not CI (Gitolite.available).
    static var all: [RemoteBackend] {
        SSHServer.available ? [localBare, ssh] + (Gitolite.available ? [gitolite] : []) : [localBare]
    }
}

/// The contract every `Remote` keeps, run against each transport: the engine relies on exactly these
/// answers, whatever carries them.
@Suite(.serialized) struct RemoteConformanceTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-remote-") }

    /// A stand-in signer: the git layer only carries the text it is given.
    static func fakeSign(_ data: [UInt8]) -> String { String(format: "%016llx", UInt64(data.count) &* 0x9e37_79b9) }

    /// A work tree named `name` whose origin is `url`, attached to `backend`.
    func clone(_ name: String, of url: String, _ backend: RemoteBackend) throws -> GitRepository {
        let repository = try GitRepository.createWorkTree(at: dir.appending(name))
        try repository.setRemote(url: url)
        try backend.attach(repository)
        return repository
    }

    /// Commits `files` on top of main (nil parents: main's head) and moves main there.
    @discardableResult
    func commit(_ repository: GitRepository, _ files: [String: String], parents: [ObjectID]? = nil) throws -> ObjectID {
        for (path, text) in files {
            let full = repository.path.appending(path)
            try FileSystem.createDirectories(full.directory, mode: 0o755)
            try FileSystem.writeAtomically(Array(text.utf8), to: full, mode: 0o644)
        }
        let head = try repository.reference(GitRepository.branch)
        let id = try repository.createCommit(tree: try repository.stageAll(), parents: parents ?? (head.map { [$0] } ?? []), message: "m") {
            (d) throws(ShadowError) -> String in Self.fakeSign(d)
        }
        try repository.setReference(GitRepository.branch, to: id, expecting: head)
        return id
    }

    /// The remote's main as its own files say, read without any transport.
    func mainOnDisk(_ path: BytePath) throws -> ObjectID? {
        try GitRepository.open(path, repairIndex: false).reference(GitRepository.branch)
    }

    @Test(arguments: RemoteBackend.all) func anEmptyRemoteFetchesAndProbesNothing(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let url = try backend.create(dir.appending("remote.git"), true)
        let a = try clone("a", of: url, backend)
        let remote = try a.remote()
        #expect(try remote.fetch() == nil)
        #expect(try remote.probe() == nil)
        #expect(try remote.headBeforeFetch() == nil)
        #expect(try a.reference(GitRepository.remoteTrackingBranch) == nil)
    }

    @Test(arguments: RemoteBackend.all) func aPushIsWhatTheNextFetchReturns(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("remote.git")
        let url = try backend.create(path, true)
        let a = try clone("a", of: url, backend), b = try clone("b", of: url, backend)
        let c1 = try commit(a, ["vault.json": "{}\n", "d/a/b/one.n": "one"])
        try a.remote().push(expecting: c1)
        #expect(try mainOnDisk(path) == c1)
        #expect(try a.reference(GitRepository.remoteTrackingBranch) == c1)
        #expect(try b.remote().probe() == c1)
        #expect(try b.remote().fetch() == c1)
        #expect(try b.reference(GitRepository.remoteTrackingBranch) == c1)
        #expect(try b.entries(ofTree: try b.commit(c1).tree).map { PlainPath.render($0.path) }.sorted() == ["d/a/b/one.n", "vault.json"])

        let c2 = try commit(a, ["d/a/b/two.n": "two"])
        try a.remote().push(expecting: c2)
        try a.remote().push(expecting: c2)  // nothing new: still a success
        #expect(try b.remote().fetch() == c2)
        #expect(try b.commits(from: c2, excluding: c1) == [c2])
        #expect(try mainOnDisk(path) == c2)
    }

    @Test(arguments: RemoteBackend.all) func aPushThatIsNotAFastForwardIsRefused(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("remote.git")
        let url = try backend.create(path, true)
        let a = try clone("a", of: url, backend), b = try clone("b", of: url, backend)
        let ca = try commit(a, ["vault.json": "{}\n", "a.n": "a"])
        try a.remote().push(expecting: ca)
        let cb = try commit(b, ["vault.json": "{}\n", "b.n": "b"])
        do {
            try b.remote().push(expecting: cb)
            Issue.record("a push that would drop the remote's commit was accepted")
        } catch {
            #expect(error.code == .nonFastForward, "\(error)")
            #expect(error.isRetryable)
        }
        #expect(try mainOnDisk(path) == ca)
        // What the engine does next: fetch, merge, push again.
        #expect(try b.remote().fetch() == ca)
        let merged = try commit(b, ["a.n": "a"], parents: [cb, ca])
        try b.remote().push(expecting: merged)
        #expect(try mainOnDisk(path) == merged)
    }

    @Test(arguments: RemoteBackend.all) func aPushOfAHeadOtherThanTheExpectedSendsNothing(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("remote.git")
        let url = try backend.create(path, true)
        let a = try clone("a", of: url, backend)
        let c1 = try commit(a, ["vault.json": "{}\n"])
        let c2 = try commit(a, ["x.n": "x"])
        do {
            try a.remote().push(expecting: c1)
            Issue.record("main moved from the verified head, and was pushed")
        } catch {
            #expect(error.code == .foreignLocalCommit, "\(error)")
            #expect(!error.isRetryable)
        }
        #expect(try mainOnDisk(path) == nil)
        try a.remote().push(expecting: c2)
        #expect(try mainOnDisk(path) == c2)
    }

    @Test(arguments: RemoteBackend.all) func aForcedPushReplacesOnlyTheHeadItNames(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("remote.git")
        let url = try backend.create(path, true)
        let a = try clone("a", of: url, backend), b = try clone("b", of: url, backend)
        let c1 = try commit(a, ["vault.json": "{}\n", "a.n": "1"])
        try a.remote().push(expecting: c1)
        #expect(try b.remote().fetch() == c1)
        let c2 = try commit(a, ["a.n": "2"])
        try a.remote().push(expecting: c2)
        // b rewrites what it saw (c1); a pushed c2 since, so the rewrite must not land over it.
        let rewritten = try commit(b, ["vault.json": "{}\n", "b.n": "b"], parents: [])
        do {
            try b.remote().push(expecting: rewritten, replacing: c1)
            Issue.record("a forced push replaced a head other than the one it named")
        } catch {
            #expect(error.code == .nonFastForward, "\(error)")
        }
        #expect(try mainOnDisk(path) == c2)
        if backend.name == "gitolite" {
            // Its test user has RW, not RW+: gitolite itself refuses any replacement of the branch.
            do {
                try b.remote().push(expecting: rewritten, replacing: c2)
                Issue.record("gitolite let a key with RW replace the branch")
            } catch {
                #expect(error.code == .permissionDenied && error.advice.contains("RW+"), "\(error)")
            }
            #expect(try mainOnDisk(path) == c2)
            return
        }
        try b.remote().push(expecting: rewritten, replacing: c2)
        #expect(try mainOnDisk(path) == rewritten)
        #expect(try a.remote().fetch() == rewritten)
    }

    @Test(arguments: RemoteBackend.all) func aMissingRepositoryFailsEveryOperation(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try clone("a", of: try backend.missing(dir.appending("missing.git")), backend)
        let c1 = try commit(a, ["vault.json": "{}\n"])
        #expect(throws: ShadowError.self) { _ = try a.remote().probe() }
        #expect(throws: ShadowError.self) { _ = try a.remote().fetch() }
        #expect(throws: ShadowError.self) { try a.remote().push(expecting: c1) }
        #expect(!FileSystem.exists(dir.appending("missing.git")))
    }

    @Test(arguments: RemoteBackend.all) func aRemoteWithAWorkTreeIsNeverUpdated(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        guard backend.servesWorkTrees else { return }
        let path = dir.appending("checked-out")
        let url = try backend.create(path, false)
        let a = try clone("a", of: url, backend)
        let c1 = try commit(a, ["vault.json": "{}\n"])
        do {
            try a.remote().push(expecting: c1)
            Issue.record("a push into a repository with a work tree was accepted")
        } catch {
            #expect(error.code == .repositoryFailure && !error.isRetryable, "\(error)")
        }
        #expect(try mainOnDisk(path) == nil)
    }

    @Test(arguments: RemoteBackend.all) func theHeadIsReadInPlaceWhereTheTransportCan(_ backend: RemoteBackend) throws {
        defer { try? FileSystem.removeTree(dir) }
        let url = try backend.create(dir.appending("remote.git"), true)
        let a = try clone("a", of: url, backend), b = try clone("b", of: url, backend)
        let c1 = try commit(a, ["vault.json": "{\"vault\":1}\n", "d/x.n": "x"])
        try a.remote().push(expecting: c1)
        let tree = try a.commit(c1).tree
        let head = try b.remote().headBeforeFetch()
        if backend.readsInPlace {
            let read = try #require(head)
            #expect(read.id == c1 && read.tree == tree && read.parents.isEmpty)
            #expect(read.signature == Self.fakeSign(read.signedData ?? []))
            #expect(try b.remote().topLevelBlob("vault.json", ofTree: tree, limit: 4096) == Array("{\"vault\":1}\n".utf8))
            #expect(try b.remote().topLevelBlob("absent.json", ofTree: tree, limit: 4096) == nil)
            #expect(throws: ShadowError.self) { _ = try b.remote().topLevelBlob("vault.json", ofTree: tree, limit: 4) }
        } else {
            #expect(head == nil)
            #expect(throws: ShadowError.self) { _ = try b.remote().topLevelBlob("vault.json", ofTree: tree, limit: 4096) }
        }
        // Nothing was copied by reading: b has none of the remote's objects until it fetches.
        #expect(throws: ShadowError.self) { _ = try b.commit(c1) }
        #expect(try b.remote().fetch() == c1)
        #expect(try b.commit(c1).tree == tree)
    }
}
