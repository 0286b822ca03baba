@preconcurrency import Glibc
import Synchronization
internal import CGit2
internal import CShims
public import ShadowCore
import ShadowSystem

/// A git repository (a work tree or bare). Owns its git_repository handle; everything runs on the git thread.
public final class GitRepository: VersionStore, @unchecked Sendable {
    let handle: OpaquePointer
    public let path: BytePath

    /// The header field that carries the Ed25519 signature (FORMAT.md §5).
    public static let signatureField = "shdwsig"
    /// Neutral identity on every commit: nothing about the user or machine.
    static let authorName = "shdw", authorEmail = "shdw@invalid"
    public static let branch = ShadowRefs.main
    public static let remoteName = "origin"
    public static let remoteTrackingBranch = "refs/remotes/origin/main"

    let sshSettings = Mutex<SSHSettings?>(nil)
    /// The `origin` remote, looked up once and reused by every fetch and push (git thread only).
    /// Looking it up per call leaked about 20 KiB each time in Debian's libgit2 1.5 with PCRE2 ≥ 10.41
    /// (the insteadOf scan's non-matching regexes never free their match data: libgit2 PR #6382),
    /// which is 30 MiB a day for a daemon polling every minute.
    var origin: OpaquePointer?

    /// Rebuild a damaged work-tree index from HEAD when it is first needed (see `openIndex`).
    private let repairIndex: Bool

    private init(handle: OpaquePointer, path: BytePath, repairIndex: Bool = false) {
        self.handle = handle
        self.path = path
        self.repairIndex = repairIndex
    }

    deinit {
        let h = UncheckedSendable(handle), o = UncheckedSendable(origin)
        try? GitThread.shared.run { () throws(ShadowError) in
            git2.git_remote_free(o.value)
            git2.git_repository_free(h.value)
        }
    }

    public func removeStaleLocks() {
        guard let gitDir = try? GitThread.shared.run({ () throws(ShadowError) -> String? in
            git2.git_repository_path(handle).map { String(cString: $0) }
        }) ?? nil else { return }
        GitRepository.removeStaleLocks(gitDir: gitDir)
    }

    /// `removeStaleLocks` for the git directory `gitDir` (ending in "/").
    static func removeStaleLocks(gitDir: String) {
        for name in [GitRepository.branch, GitRepository.remoteTrackingBranch, "HEAD", "index", "packed-refs", "config"] {
            _ = unlink(gitDir + name + ".lock")
        }
    }

    /// The cached `origin` remote; call on the git thread only.
    func originRemote() throws(ShadowError) -> OpaquePointer? {
        if let origin { return origin }
        var remote: OpaquePointer?
        try gitCheck(git2.git_remote_lookup(&remote, handle, GitRepository.remoteName), "no remote configured")
        origin = remote
        return remote
    }

    /// Creates a repository with a work tree at `path` (which may exist) and `main` as its branch.
    /// Starts libgit2 on its thread and returns at once. Its start-up parses the system's CA bundle
    /// (about 8 ms here), which can then overlap the caller's own start-up; the first repository call
    /// would start it anyway, and waits for it.
    public static func startLibrary() { _ = GitThread.shared }

    /// Returns when libgit2's start-up is over, if it was started. Call before the process exits:
    /// an exit handler tearing down OpenSSL under libssh2's initialisation could crash the exit.
    public static func finishLibraryStart() {
        if GitThread.created.load(ordering: .acquiring) { GitThread.shared.waitUntilReady() }
    }

    public static func createWorkTree(at path: BytePath) throws(ShadowError) -> GitRepository {
        try create(at: path, bare: false)
    }

    /// Creates a bare repository (the embedded default remote). A fetch from it runs libgit2's
    /// packbuilder in it, which reads these settings there: without them it searched deltas between
    /// every pair of a large file's segments, most of a join's time.
    @discardableResult
    public static func createBare(at path: BytePath) throws(ShadowError) -> GitRepository {
        let repository = try create(at: path, bare: true)
        try GitThread.shared.run { () throws(ShadowError) in try repository.applyPackSettings() }
        return repository
    }

    private static func create(at path: BytePath, bare: Bool) throws(ShadowError) -> GitRepository {
        try GitThread.shared.run { () throws(ShadowError) -> GitRepository in
            var opts = git_repository_init_options()
            _ = git2.git_repository_init_options_init(&opts, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
            opts.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | (bare ? GIT_REPOSITORY_INIT_BARE.rawValue : 0)
            var repo: OpaquePointer?
            let rc = "main".withCString { head in
                opts.initial_head = head
                return path.withCString { git2.git_repository_init_ext(&repo, $0, &opts) }
            }
            try gitCheck(rc, "cannot create repository at \(path)")
            return GitRepository(handle: repo!, path: path)
        }
    }

    /// Opens a repository. `repairIndex`: rebuild a damaged index from HEAD (the agent's own shadow
    /// repository); off for a repository that is the user's, which a read-only command must not change.
    public static func open(_ path: BytePath, repairIndex: Bool = true) throws(ShadowError) -> GitRepository {
        try GitThread.shared.run { () throws(ShadowError) -> GitRepository in
            var repo: OpaquePointer?
            let rc = path.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
            if rc == GIT_ENOTFOUND.rawValue {
                throw ShadowError(.notFound, "no git repository at \(path)", advice: "check the path, or create it with 'shadowsync init'")
            }
            try gitCheck(rc, "cannot open repository at \(path)")
            return GitRepository(handle: repo!, path: path, repairIndex: repairIndex)
        }
    }

    /// The work tree's index, loaded on first use rather than at open: a sync with nothing to commit or
    /// check out never parses its 20k entries. Git thread only; the caller frees it.
    func openIndex() throws(ShadowError) -> OpaquePointer? {
        if repairIndex { try GitRepository.rebuildDamagedIndex(handle) }
        var index: OpaquePointer?
        try gitCheck(git2.git_repository_index(&index, handle), "cannot open the index")
        return index
    }

    /// The shadow work tree's index is a cache of HEAD's tree plus stat data, derived from nothing else
    /// the user owns: when a crash or a bad disk leaves it unreadable, it is rebuilt from HEAD (the stat
    /// data comes back on the next stage) instead of stopping every sync with a libgit2 message.
    private static func rebuildDamagedIndex(_ repo: OpaquePointer) throws(ShadowError) {
        guard git2.git_repository_is_bare(repo) == 0 else { return }
        var index: OpaquePointer?
        let rc = git2.git_repository_index(&index, repo)
        if rc == 0 { git2.git_index_free(index); return }
        guard let error = git2.git_error_last(), error.pointee.klass == GIT_ERROR_INDEX.rawValue else {
            throw gitError(rc, "cannot open the shadow repository's index")
        }
        guard let gitDir = git2.git_repository_path(repo) else { throw gitError(rc, "cannot open the shadow repository's index") }
        let file = String(cString: gitDir) + "index"
        _ = unlink(file)
        try gitCheck(git2.git_repository_index(&index, repo), "cannot recreate the shadow repository's index")
        defer { git2.git_index_free(index) }
        var head: OpaquePointer?
        if git2.git_revparse_single(&head, repo, "HEAD^{tree}") == 0 {
            defer { git2.git_object_free(head) }
            try gitCheck(git2.git_index_read_tree(index, head), "cannot rebuild the shadow repository's index from HEAD")
        }
        try gitCheck(git2.git_index_write(index), "cannot write the rebuilt index")
    }

    /// The repository a git hook runs in: GIT_DIR, and the quarantine GIT_OBJECT_DIRECTORY and
    /// GIT_ALTERNATE_OBJECT_DIRECTORIES that receive-pack sets, so objects of a push not yet accepted are visible.
    public static func openFromEnvironment() throws(ShadowError) -> GitRepository {
        try GitThread.shared.run { () throws(ShadowError) -> GitRepository in
            var repo: OpaquePointer?
            try gitCheck(git2.git_repository_open_ext(&repo, nil, GIT_REPOSITORY_OPEN_FROM_ENV.rawValue, nil),
                         "cannot open the repository named by GIT_DIR (run this from a git hook)")
            let dir = git2.git_repository_path(repo).map { String(cString: $0) } ?? "."
            return GitRepository(handle: repo!, path: BytePath(dir))
        }
    }

    /// Makes every write so far durable: one syncfs of the repository's file system instead of an fsync
    /// per object (ShadowSync writes thousands of small objects per import).
    func flushToDisk() throws(ShadowError) {
        try FileSystem.flushFileSystem(holding: path)
    }

    /// Starts writing back, on a thread of its own, what the file system holding `path` has not yet
    /// written, and returns at once. Called before staging a large batch: the flush before the next ref
    /// update then finds the work tree's new object files mostly on disk already. After an import's
    /// 20,000 object files that flush was half a second of waiting (Docs/BENCHMARKS.md), which this overlaps
    /// with staging. Nothing relies on it: the flush before the ref still writes whatever is left.
    static func startBackgroundFlush(_ path: BytePath) {
        guard !backgroundFlushRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let started = startDetachedThread(name: "shadowsync-flush") {
            try? FileSystem.flushFileSystem(holding: path)
            backgroundFlushRunning.store(false, ordering: .releasing)
        }
        if !started { backgroundFlushRunning.store(false, ordering: .releasing) }
    }

    private static let backgroundFlushRunning = Atomic(false)
    /// Staging at least this many paths starts a background flush: an import, a large merge. A pass over
    /// a few edits leaves too little unwritten to be worth a thread.
    static let backgroundFlushMinimumPaths = 1000

    /// .git/info/exclude holds a few patterns; a larger one is not one this edits.
    static let excludeFileLimitBytes = 1 << 20

    /// Adds a pattern to .git/info/exclude (local, never committed).
    public func exclude(_ pattern: String) throws(ShadowError) {
        let file = try GitThread.shared.run { () throws(ShadowError) -> BytePath in
            guard let dir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "repository has no git directory") }
            return BytePath(String(cString: dir)).appending("info")
        }
        let excludePath = file.appending("exclude")
        var text = FileSystem.exists(excludePath) ? String(decoding: try FileSystem.readFile(excludePath, limit: GitRepository.excludeFileLimitBytes), as: UTF8.self) : ""
        guard !text.split(separator: "\n").contains(Substring(pattern)) else { return }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += pattern + "\n"
        try FileSystem.createDirectories(file, mode: 0o755)
        try FileSystem.writeAtomically(Array(text.utf8), to: excludePath, mode: 0o644)
    }

    /// Whether `packSettings` were checked in this repository's config (git thread only).
    var packSettingsApplied = false
}

/// Calls `body` with a git_strarray over `strings`, valid for the call only.
func withStrArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<git_strarray>) throws(ShadowError) -> R) throws(ShadowError) -> R {
    var cStrings: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { cStrings.forEach { free($0) } }
    let result: Result<R, ShadowError> = cStrings.withUnsafeMutableBufferPointer { buf in
        var array = git_strarray(strings: buf.baseAddress, count: buf.count)
        return Result { () throws(ShadowError) -> R in try body(&array) }
    }
    return try result.get()
}

extension ObjectID {
    init(_ oid: git_oid) {
        self = withUnsafeBytes(of: oid.id) { ObjectID(raw: $0) }
    }

    var gitOID: git_oid {
        var oid = git_oid()
        _ = git2.git_oid_fromstr(&oid, hex)
        return oid
    }
}
