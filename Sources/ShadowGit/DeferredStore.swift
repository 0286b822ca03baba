@preconcurrency import Glibc
import Synchronization
public import ShadowCore
import ShadowSystem

/// A folder's shadow repository, opened through libgit2 only when a step needs it.
///
/// A pass with nothing to do asks its store two things: the branch head, and (fetch) the remote's head.
/// With the remote on this machine each is one small file, while loading libgit2 and the 18 libraries it
/// needs and starting it (it parses the system's CA bundle) cost about 13 ms of CPU: a third of a no-op
/// sync of 10k files (Docs/BENCHMARKS.md, `bench-sync-vs-git.sh`). So those two questions are answered from files
/// when the files leave no doubt, as git's own on-disk format defines them: a loose ref holding a full
/// object id. Anything else (a packed or symbolic ref, a missing one, an SSH remote, a config this cannot
/// read with certainty) opens the repository, and libgit2 answers that and every later question.
public final class DeferredGitStore: VersionStore, @unchecked Sendable {
    private let gitDir: String
    private let openRepository: () throws(ShadowError) -> GitRepository
    /// The opened repository; guarded by its lock, opened once, and again after a consolidation
    /// (`ObjectConsolidation.generation`): libgit2 never forgets a pack it has listed, so the old
    /// handle would keep the replaced packs open, their space in use and every lookup searching them.
    private let opened = Mutex<(repository: GitRepository, generation: Int)?>(nil)

    /// `shadow`: the shadow work tree (its git directory is `shadow/.git`). `open`: opens it with its
    /// transport attached, as the caller would have without this.
    public init(shadow: BytePath, open: @escaping () throws(ShadowError) -> GitRepository) {
        gitDir = shadow.description + "/.git/"
        openRepository = open
    }

    /// The repository, opened now if it was not yet.
    public func repository() throws(ShadowError) -> GitRepository {
        try opened.withLock { (repo) throws(ShadowError) -> GitRepository in
            let generation = ObjectConsolidation.generation.load(ordering: .acquiring)
            if let repo, repo.generation == generation { return repo.repository }
            let new = try openRepository()
            repo = (new, generation)
            return new
        }
    }

    private var openedRepository: GitRepository? { opened.withLock { $0?.repository } }

    // MARK: Answered from files while they are unambiguous

    public func reference(_ name: String) throws(ShadowError) -> ObjectID? {
        if openedRepository == nil, name.hasPrefix("refs/"), let id = RefFiles.loose(gitDir + name) { return id }
        return try repository().reference(name)
    }

    /// The remote, chosen from the config file while it names a local path unambiguously (its transport
    /// then answers a fetch with nothing to copy from ref files); from libgit2's reading otherwise.
    public func remote() throws(ShadowError) -> any Remote {
        if openedRepository == nil, let path = RefFiles.localOrigin(configFile: gitDir + "config") {
            let local = LocalRepository(gitDir: gitDir, isOpen: { self.openedRepository != nil },
                                        open: { () throws(ShadowError) in try self.repository() })
            return GitRemotes.remote(for: try RemoteAddress.parse(path), local: local)
        }
        return try repository().remote()
    }

    public func removeStaleLocks() {
        if let repo = openedRepository { return repo.removeStaleLocks() }
        GitRepository.removeStaleLocks(gitDir: gitDir)
    }

    // MARK: Everything else is libgit2's

    public func stageAll() throws(ShadowError) -> ObjectID { try repository().stageAll() }
    public func stage(_ paths: [String], written: [String: WrittenFile]) throws(ShadowError) -> ObjectID {
        try repository().stage(paths, written: written)
    }
    public func entries(ofTree tree: ObjectID) throws(ShadowError) -> [TreeEntry] { try repository().entries(ofTree: tree) }
    public func entries(ofTree tree: ObjectID, changedFrom base: ObjectID) throws(ShadowError) -> [TreeEntry] {
        try repository().entries(ofTree: tree, changedFrom: base)
    }
    public func blob(_ id: ObjectID, limit: Int) throws(ShadowError) -> [UInt8] { try repository().blob(id, limit: limit) }
    public func createCommit(tree: ObjectID, parents: [ObjectID], message: String,
                             sign: ([UInt8]) throws(ShadowError) -> String) throws(ShadowError) -> ObjectID {
        try repository().createCommit(tree: tree, parents: parents, message: message, sign: sign)
    }
    public func commit(_ id: ObjectID) throws(ShadowError) -> CommitInfo { try repository().commit(id) }
    public func setReference(_ name: String, to id: ObjectID, expecting expected: ObjectID?) throws(ShadowError) {
        try repository().setReference(name, to: id, expecting: expected)
    }
    public func isDescendant(_ descendant: ObjectID, of ancestor: ObjectID) throws(ShadowError) -> Bool {
        try repository().isDescendant(descendant, of: ancestor)
    }
    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(ShadowError) -> ObjectID? { try repository().mergeBase(a, b) }
    public func tree(_ tree: ObjectID, removing paths: [String]) throws(ShadowError) -> ObjectID {
        try repository().tree(tree, removing: paths)
    }
    public func commits(from head: ObjectID, excluding known: ObjectID?) throws(ShadowError) -> [ObjectID] {
        try repository().commits(from: head, excluding: known)
    }
    public func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]? {
        try repository().topLevelBlob(name, ofTree: tree, limit: limit)
    }
    public func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs? {
        try repository().directoryBlobs(name, ofTree: tree, limit: limit, maximumCount: maximumCount)
    }
    public func checkout(_ commit: ObjectID) throws(ShadowError) { try repository().checkout(commit) }
    public func resolve(_ revision: String) throws(ShadowError) -> ObjectID { try repository().resolve(revision) }
}

/// Reading git's ref and config files directly, only where the format leaves one reading.
enum RefFiles {
    /// The commit a loose ref file names: exactly 40 lowercase hex digits and a newline, as git and
    /// libgit2 write it (through a lock file and a rename, so a reader never sees half of one). Nil for a
    /// missing file, a symbolic ref, or anything else.
    static func loose(_ file: String) -> ObjectID? {
        guard let bytes = try? FileSystem.readFile(BytePath(file), limit: looseRefBytes), bytes.count == looseRefBytes,
              bytes[looseRefBytes - 1] == UInt8(ascii: "\n") else { return nil }
        return ObjectID(hex: String(decoding: bytes.dropLast(), as: UTF8.self))
    }

    /// A loose ref file: a SHA-1 in hex (40 digits) and a newline.
    static let looseRefBytes = 41

    /// The path of `origin` when the repository's config names it as a local absolute path, in the
    /// plain form libgit2 writes (`url = /path`), once, with nothing in the file that could change
    /// which repository that is (an include, an insteadOf rule, a second url, quoting or escapes).
    /// Nil means "cannot tell without libgit2".
    static func localOrigin(configFile: String) -> String? {
        guard let text = smallFile(configFile) else { return nil }
        var inOrigin = false
        var url: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingSpaceAndTab
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            let lower = line.lowercased()
            if lower.contains("include") || lower.contains("insteadof") || line.contains("\\") || line.contains("\"") && !line.hasPrefix("[") {
                return nil
            }
            if line.hasPrefix("[") {
                if lower.hasPrefix("[remote.") { return nil }  // git's old spelling of a subsection
                inOrigin = line == "[remote \"origin\"]"
                continue
            }
            guard inOrigin, lower.hasPrefix("url") else { continue }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingSpaceAndTab == "url", url == nil else { return nil }
            url = parts[1].trimmingSpaceAndTab
        }
        guard var path = url else { return nil }
        if path.hasPrefix("file://") {
            path.removeFirst("file://".count)
            if path.contains("%") { return nil }  // a percent escape, which libgit2 would decode
        }
        guard path.hasPrefix("/"), !path.contains("#"), !path.contains(";") else { return nil }
        return path
    }

    /// What git itself checks before treating a directory as a bare repository: HEAD, objects/, refs/.
    static func isBareRepository(_ path: String) -> Bool {
        var st = stat()
        guard stat(path + "/HEAD", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
              stat(path + "/objects", &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR,
              stat(path + "/refs", &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return false }
        return true
    }

    /// A config file is a few hundred bytes; one larger than this is not one this reads.
    static let maxConfigBytes = 64 * 1024

    private static func smallFile(_ file: String) -> String? {
        (try? FileSystem.readFile(BytePath(file), limit: maxConfigBytes)).flatMap { String(validating: $0, as: UTF8.self) }
    }
}

private extension StringProtocol {
    var trimmingSpaceAndTab: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
