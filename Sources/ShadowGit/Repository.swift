import FoundationEssentials
@preconcurrency import Glibc
import Synchronization
internal import CGit2
internal import CShims
public import ShadowCore

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

    private let sshSettings = Mutex<SSHSettings?>(nil)
    /// The `origin` remote, looked up once and reused by every fetch and push (git thread only).
    /// Looking it up per call leaked about 20 KiB each time in Debian's libgit2 1.5 with PCRE2 ≥ 10.41
    /// (the insteadOf scan's non-matching regexes never free their match data: libgit2 PR #6382),
    /// which is 30 MiB a day for a daemon polling every minute.
    private var origin: OpaquePointer?

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
    private func originRemote() throws(ShadowError) -> OpaquePointer? {
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

    /// Creates a bare repository (the embedded default remote).
    @discardableResult
    public static func createBare(at path: BytePath) throws(ShadowError) -> GitRepository {
        try create(at: path, bare: true)
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
    private func openIndex() throws(ShadowError) -> OpaquePointer? {
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
        try GitRepository.flush(path)
    }

    /// Makes every write so far to the file system holding the directory `path` durable (syncfs).
    static func flush(_ path: BytePath) throws(ShadowError) {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw ShadowError(.ioFailure, "cannot open \(path) to flush it to disk") }
        defer { Glibc.close(fd) }
        guard shadow_shim_syncfs(fd) == 0 else {
            throw ShadowError(errno == ENOSPC ? .diskFull : .ioFailure, "cannot flush \(path) to disk: \(String(cString: strerror(errno)))")
        }
    }

    /// Starts writing back, on a thread of its own, what the file system holding `path` has not yet
    /// written, and returns at once. Called before staging a large batch: the flush before the next ref
    /// update then finds the work tree's new object files mostly on disk already. After an import's
    /// 20,000 object files that flush was half a second of waiting (Docs/BENCHMARKS.md), which this overlaps
    /// with staging. Nothing relies on it: the flush before the ref still writes whatever is left.
    static func startBackgroundFlush(_ path: BytePath) {
        guard !backgroundFlushRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let started = startDetachedThread(name: "shadowsync-flush") {
            try? GitRepository.flush(path)
            backgroundFlushRunning.store(false, ordering: .releasing)
        }
        if !started { backgroundFlushRunning.store(false, ordering: .releasing) }
    }

    private static let backgroundFlushRunning = Atomic(false)
    /// Staging at least this many paths starts a background flush: an import, a large merge. A pass over
    /// a few edits leaves too little unwritten to be worth a thread.
    static let backgroundFlushMinimumPaths = 1000

    /// Adds a pattern to .git/info/exclude (local, never committed).
    public func exclude(_ pattern: String) throws(ShadowError) {
        let file = try GitThread.shared.run { () throws(ShadowError) -> BytePath in
            guard let dir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "repository has no git directory") }
            return BytePath(String(cString: dir)).appending("info")
        }
        let excludePath = file.appending("exclude")
        var text = (try? Data(contentsOf: URL(fileURLWithPath: excludePath.description))).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard !text.split(separator: "\n").contains(Substring(pattern)) else { return }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += pattern + "\n"
        try? FileManager.default.createDirectory(atPath: file.description, withIntermediateDirectories: true)
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: excludePath.description), options: .atomic) } catch {
            throw ShadowError(.ioFailure, "cannot write \(excludePath): \(error)")
        }
    }

    // MARK: Objects

    /// Stages the whole work tree (additions, changes, deletions; ignored and excluded files stay out)
    /// and writes the index's tree.
    public func stageAll() throws(ShadowError) -> ObjectID {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID in
            let index = try openIndex()
            defer { git2.git_index_free(index) }
            try withStrArray(["*"]) { (spec) throws(ShadowError) in
                try gitCheck(git2.git_index_add_all(index, spec, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil), "cannot stage the shadow tree")
                try gitCheck(git2.git_index_update_all(index, spec, nil, nil), "cannot stage deletions")
            }
            try gitCheck(git2.git_index_write(index), "cannot write the index")
            var oid = git_oid()
            try gitCheck(git2.git_index_write_tree(&oid, index), "cannot write the tree")
            return ObjectID(oid)
        }
    }

    public func stage(_ paths: [String], written: [String: WrittenFile] = [:]) throws(ShadowError) -> ObjectID {
        let workdir = path
        if paths.count >= GitRepository.backgroundFlushMinimumPaths { GitRepository.startBackgroundFlush(workdir) }
        return try GitThread.shared.run { () throws(ShadowError) -> ObjectID in
            let index = try openIndex()
            defer { git2.git_index_free(index) }
            var odb: OpaquePointer?
            try gitCheck(git2.git_repository_odb(&odb, handle), "cannot open the object database")
            defer { git2.git_odb_free(odb) }
            let batch = StagingBatch()
            for p in paths {
                if let kept = written[p], let st = GitRepository.unchangedStat(workdir.appending(p), kept.stat) {
                    batch.add(p, stat: st, bytes: kept.bytes)
                } else if try !stageFile(p, from: workdir.appending(p), index: index, odb: odb, batch: batch) {
                    let rc = git2.git_index_remove_bypath(index, p)
                    if rc != GIT_ENOTFOUND.rawValue { try gitCheck(rc, "cannot stage the removal of \(p)") }
                }
                if batch.bytes >= GitRepository.packBatchBytes { try writeBatch(batch, index: index, odb: odb) }
            }
            try writeBatch(batch, index: index, odb: odb)
            CrashPoint.reached("git-blobs")
            try gitCheck(git2.git_index_write(index), "cannot write the index")
            CrashPoint.reached("git-index")
            var oid = git_oid()
            try gitCheck(git2.git_index_write_tree(&oid, index), "cannot write the tree")
            return ObjectID(oid)
        }
    }

    /// Largest object read whole into memory and batched into a pack; larger ones stream through the
    /// object database in pieces of this size (bounded memory for the 200 MB files the tests sync).
    static let stageBufferBytes = 4 << 20
    /// Memory a staging batch may hold before it is written out as a pack.
    static let packBatchBytes = 64 << 20
    /// Fewer objects than this are written loose: a daemon's pass over a few edits should not leave a
    /// pack behind each time (git's own threshold for auto-packing loose objects is far higher).
    static let packMinObjects = 16

    /// The file's stat if it is still the one its writer described (same inode, size and times): its
    /// writer's bytes are then its contents. Anything else (a checkout rewrote it, it is gone) reads it.
    private static func unchangedStat(_ full: BytePath, _ expected: WorkTreeStat) -> Glibc.stat? {
        var st = Glibc.stat()
        guard full.withCString({ fstatat(AT_FDCWD, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0,
              (st.st_mode & S_IFMT) == S_IFREG, WorkTreeStat(st) == expected else { return nil }
        return st
    }

    /// Reads one work-tree file for staging. Small files join `batch` (written as one pack with their
    /// index entries); large ones are streamed into the object database and indexed at once. Returns
    /// false if the file does not exist. No filters and no attribute lookups: ShadowSync's objects are
    /// opaque (`* binary`), and libgit2's per-file attribute lookup (a realpath and several stats per
    /// file) was most of an import's staging time. Git thread only.
    private func stageFile(_ relative: String, from full: BytePath, index: OpaquePointer?, odb: OpaquePointer?,
                           batch: StagingBatch) throws(ShadowError) -> Bool {
        let fd = full.withCString { Glibc.open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return false }
            throw ShadowError(errno == ELOOP ? .invalidArgument : .ioFailure, "cannot stage \(relative): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw ShadowError(.invalidArgument, "cannot stage \(relative): not a regular file", advice: "remove it from \(path)")
        }
        let size = Int(st.st_size)
        // Built only when needed: this runs once per staged file.
        func changed() -> ShadowError { ShadowError(.sourceChanged, "\(full) changed while it was staged", advice: "nothing to do: the next pass stages it again") }
        func readFailed() -> ShadowError { ShadowError(.ioFailure, "cannot read \(full): \(String(cString: strerror(errno)))") }
        if size <= GitRepository.stageBufferBytes {
            var bytes = [UInt8](repeating: 0, count: size)
            var done = 0
            while done < size {
                let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
                guard n > 0 else { throw n == 0 ? changed() : readFailed() }
                done += n
            }
            batch.add(relative, stat: st, bytes: bytes)
            return true
        }
        var stream: UnsafeMutablePointer<git_odb_stream>?
        try gitCheck(git2.git_odb_open_wstream(&stream, odb, git_object_size_t(size), GIT_OBJECT_BLOB), "cannot store \(relative)")
        defer { git2.git_odb_stream_free(stream) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: GitRepository.stageBufferBytes, alignment: 16)
        defer { buffer.deallocate() }
        var done = 0
        while done < size {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            guard n >= 0 else { throw readFailed() }
            guard n > 0, done + n <= size else { throw changed() }
            try gitCheck(git2.git_odb_stream_write(stream, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), n), "cannot store \(relative)")
            done += n
        }
        var oid = git_oid()
        try gitCheck(git2.git_odb_stream_finalize_write(&oid, stream), "cannot store \(relative)")
        try addIndexEntry(relative, stat: st, id: oid, index: index)
        return true
    }

    /// Writes the batch's blobs (one pack, or loose if there are few) and then their index entries.
    private func writeBatch(_ batch: StagingBatch, index: OpaquePointer?, odb: OpaquePointer?) throws(ShadowError) {
        guard !batch.files.isEmpty else { return }
        var ids: [git_oid] = []
        ids.reserveCapacity(batch.files.count)
        if batch.files.count < GitRepository.packMinObjects {
            for file in batch.files {
                var oid = git_oid()
                try file.bytes.withBytes { (b) throws(ShadowError) in
                    try gitCheck(git2.git_odb_write(&oid, odb, b.baseAddress, b.count, GIT_OBJECT_BLOB), "cannot store \(file.path)")
                }
                ids.append(oid)
            }
        } else {
            var seen = Set<ObjectID>()
            var unique: [Int] = []
            for (i, file) in batch.files.enumerated() {
                var oid = git_oid()
                try file.bytes.withBytes { (b) throws(ShadowError) in
                    try gitCheck(git2.git_odb_hash(&oid, b.baseAddress, b.count, GIT_OBJECT_BLOB), "cannot hash \(file.path)")
                }
                ids.append(oid)
                if seen.insert(ObjectID(oid)).inserted { unique.append(i) }
            }
            guard let gitDir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "repository has no git directory") }
            let pack = try PackWriter(packDirectory: String(cString: gitDir) + "objects/pack", odb: odb, count: unique.count)
            for i in unique {
                try batch.files[i].bytes.withBytes { (b) throws(ShadowError) in try pack.add(blob: b) }
            }
            try pack.finish()
            try gitCheck(git2.git_odb_refresh(odb), "cannot see the new pack")
        }
        for (file, oid) in zip(batch.files, ids) {
            try addIndexEntry(file.path, stat: file.stat, id: oid, index: index)
        }
        batch.clear()
    }

    /// Puts a file in the index with its stat data, so neither a later stage nor a checkout hashes it again.
    private func addIndexEntry(_ relative: String, stat st: Glibc.stat, id: git_oid, index: OpaquePointer?) throws(ShadowError) {
        var entry = git_index_entry()
        entry.ctime.seconds = Int32(truncatingIfNeeded: st.st_ctim.tv_sec)
        entry.ctime.nanoseconds = UInt32(truncatingIfNeeded: st.st_ctim.tv_nsec)
        entry.mtime.seconds = Int32(truncatingIfNeeded: st.st_mtim.tv_sec)
        entry.mtime.nanoseconds = UInt32(truncatingIfNeeded: st.st_mtim.tv_nsec)
        entry.dev = UInt32(truncatingIfNeeded: st.st_dev)
        entry.ino = UInt32(truncatingIfNeeded: st.st_ino)
        entry.mode = GIT_FILEMODE_BLOB.rawValue
        entry.uid = st.st_uid
        entry.gid = st.st_gid
        entry.file_size = UInt32(truncatingIfNeeded: st.st_size)
        entry.id = id
        let rc = relative.withCString { (p) -> Int32 in
            entry.path = p
            return git2.git_index_add(index, &entry)
        }
        try gitCheck(rc, "cannot stage \(relative)")
    }

    /// Every blob of a tree, recursively, with its full path.
    public func entries(ofTree tree: ObjectID) throws(ShadowError) -> [TreeEntry] {
        try GitThread.shared.run { () throws(ShadowError) -> [TreeEntry] in
            var out: [TreeEntry] = []
            try walk(tree, prefix: [], into: &out, depth: 0)
            return out
        }
    }

    /// Trees deeper than this are refused: ShadowSync's own have depth 4 (d/x/y/file).
    static let maxTreeDepth = 8

    private func walk(_ id: ObjectID, prefix: [UInt8], into out: inout [TreeEntry], depth: Int) throws(ShadowError) {
        guard depth <= GitRepository.maxTreeDepth else {
            throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
        }
        var oid = id.gitOID
        var tree: OpaquePointer?
        try gitCheck(git2.git_tree_lookup(&tree, handle, &oid), "cannot read tree \(id.short)")
        defer { git2.git_tree_free(tree) }
        for i in 0..<git2.git_tree_entrycount(tree) {
            guard let entry = git2.git_tree_entry_byindex(tree, i), let cName = git2.git_tree_entry_name(entry) else { continue }
            let name = Array(UnsafeBufferPointer(start: cName, count: strlen(cName)).map { UInt8(bitPattern: $0) })
            let path = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
            let child = ObjectID(git2.git_tree_entry_id(entry)!.pointee)
            switch git2.git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: try walk(child, prefix: path, into: &out, depth: depth + 1)
            case GIT_OBJECT_BLOB: out.append(TreeEntry(path: path, id: child, mode: git2.git_tree_entry_filemode(entry).rawValue))
            default:
                throw ShadowError(.malformedObject, "tree holds a \(PlainPath.render(path)) that is neither file nor directory (submodule?)")
            }
        }
    }

    /// A blob's bytes. (Whole blobs are held in memory: libgit2 cannot stream packed objects.)
    public func blob(_ id: ObjectID, limit: Int = Int.max) throws(ShadowError) -> [UInt8] {
        try GitThread.shared.run { () throws(ShadowError) -> [UInt8] in
            var oid = id.gitOID
            var blob: OpaquePointer?
            try gitCheck(git2.git_blob_lookup(&blob, handle, &oid), "cannot read object \(id.short)")
            defer { git2.git_blob_free(blob) }
            let size = Int(git2.git_blob_rawsize(blob))
            guard size <= limit else { throw ShadowError(.malformedObject, "object \(id.short) is \(size) bytes, more than the \(limit) allowed") }
            guard size > 0, let raw = git2.git_blob_rawcontent(blob) else { return [] }
            return Array(UnsafeRawBufferPointer(start: raw, count: size))
        }
    }

    // MARK: Commits and references

    /// Creates a commit object signed by `sign` (which gets the exact commit buffer and returns the
    /// signature text). Author and committer are neutral, with time 0: real metadata is in the encrypted
    /// message. Does not move any reference.
    public func createCommit(tree: ObjectID, parents: [ObjectID], message: String,
                             sign: ([UInt8]) throws(ShadowError) -> String) throws(ShadowError) -> ObjectID {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID in
            var sig: UnsafeMutablePointer<git_signature>?
            try gitCheck(git2.git_signature_new(&sig, GitRepository.authorName, GitRepository.authorEmail, 0, 0), "cannot make the commit identity")
            defer { git2.git_signature_free(sig) }
            var treeOID = tree.gitOID
            var treeObject: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&treeObject, handle, &treeOID), "cannot find tree \(tree.short)")
            defer { git2.git_tree_free(treeObject) }
            var parentObjects: [OpaquePointer?] = []
            defer { parentObjects.forEach { git2.git_commit_free($0) } }
            for p in parents {
                var oid = p.gitOID
                var c: OpaquePointer?
                try gitCheck(git2.git_commit_lookup(&c, handle, &oid), "cannot find parent commit \(p.short)")
                parentObjects.append(c)
            }
            var buffer = git_buf()
            defer { git2.git_buf_dispose(&buffer) }
            let rc = parentObjects.withUnsafeMutableBufferPointer { ps in
                git2.git_commit_create_buffer(&buffer, handle, sig, sig, nil, message, treeObject, ps.count, ps.baseAddress)
            }
            try gitCheck(rc, "cannot build the commit")
            let content = Array(UnsafeRawBufferPointer(start: buffer.ptr, count: buffer.size))
            let signature = try sign(content)
            var oid = git_oid()
            let created = (content + [0]).withUnsafeBufferPointer { cb in
                cb.withMemoryRebound(to: CChar.self) { git2.git_commit_create_with_signature(&oid, handle, $0.baseAddress, signature, GitRepository.signatureField) }
            }
            try gitCheck(created, "cannot store the signed commit")
            return ObjectID(oid)
        }
    }

    public func commit(_ id: ObjectID) throws(ShadowError) -> CommitInfo {
        try GitThread.shared.run { () throws(ShadowError) -> CommitInfo in try GitRepository.readCommit(id, in: handle) }
    }

    /// The remote's main commit read in place, when `origin` is a local path: a fetch from one copies
    /// every object it needs through libgit2's pack builder, which loads each one whole, so the head is
    /// checked before anything is copied. Nil for an empty or SSH remote (a commit over
    /// `CommitInfo.maximumBytes` throws, as `commit` does).
    public func localRemoteHead() throws(ShadowError) -> CommitInfo? {
        let address = try remoteAddress()
        guard address.kind == .local else { return nil }
        return try GitThread.shared.run { () throws(ShadowError) -> CommitInfo? in
            var repo: OpaquePointer?
            let rc = address.path.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
            guard rc == 0 else { return nil }  // the fetch reports an unreachable remote as it always did
            defer { git2.git_repository_free(repo) }
            var oid = git_oid()
            let found = git2.git_reference_name_to_id(&oid, repo, GitRepository.branch)
            if found == GIT_ENOTFOUND.rawValue { return nil }
            try gitCheck(found, "cannot read the remote's \(GitRepository.branch)")
            return try GitRepository.readCommit(ObjectID(oid), in: repo!)
        }
    }

    /// `commit` in the repository `handle` (git thread only).
    private static func readCommit(_ id: ObjectID, in handle: OpaquePointer) throws(ShadowError) -> CommitInfo {
            var oid = id.gitOID
            try requireObject(id, GIT_OBJECT_COMMIT, limit: CommitInfo.maximumBytes, in: handle)
            var c: OpaquePointer?
            try gitCheck(git2.git_commit_lookup(&c, handle, &oid), "cannot read commit \(id.short)")
            defer { git2.git_commit_free(c) }
            let parents = (0..<git2.git_commit_parentcount(c)).map { ObjectID(git2.git_commit_parent_id(c, $0)!.pointee) }
            let message = git2.git_commit_message_raw(c).map { String(cString: $0) } ?? ""
            var sig = git_buf(), signed = git_buf()
            defer { git2.git_buf_dispose(&sig); git2.git_buf_dispose(&signed) }
            let rc = git2.git_commit_extract_signature(&sig, &signed, handle, &oid, GitRepository.signatureField)
            var signature: String?, signedData: [UInt8]?
            if rc == 0 {
                signature = String(decoding: UnsafeRawBufferPointer(start: sig.ptr, count: sig.size), as: UTF8.self)
                signedData = Array(UnsafeRawBufferPointer(start: signed.ptr, count: signed.size))
            } else if rc != GIT_ENOTFOUND.rawValue {
                try gitCheck(rc, "cannot read the signature of commit \(id.short)")
            }
            return CommitInfo(id: id, tree: ObjectID(git2.git_commit_tree_id(c)!.pointee), parents: parents, message: message,
                              signature: signature, signedData: signedData)
    }

    /// Refuses an object that is not of `type`, or larger than `limit` bytes, from its header alone (git
    /// thread only): a lookup or a history walk loads an object whole, costing memory in its size.
    private static func requireObject(_ id: ObjectID, _ type: git_object_t, limit: Int, in handle: OpaquePointer) throws(ShadowError) {
        var odb: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&odb, handle), "cannot open the object database")
        defer { git2.git_odb_free(odb) }
        var oid = id.gitOID
        var size = 0
        var found = GIT_OBJECT_INVALID
        try gitCheck(git2.git_odb_read_header(&size, &found, odb, &oid), "cannot read object \(id.short)")
        let what = type == GIT_OBJECT_COMMIT ? "commit" : type == GIT_OBJECT_TREE ? "tree" : "object"
        guard found == type else {
            throw ShadowError(.malformedObject, "object \(id.short) is not a \(what)")
        }
        guard size <= limit else {
            if type == GIT_OBJECT_COMMIT {
                throw ShadowError(.malformedObject, "commit \(id.short) is \(size) bytes, more than the \(limit / 1024) KiB a ShadowSync commit may have: it was not made by ShadowSync, and was not read")
            }
            throw ShadowError(.malformedObject, "\(what) \(id.short) is \(size) bytes, more than the \(limit) allowed")
        }
    }

    /// The blob `name` at the top of `tree` (no subdirectory), or nil if there is none; in the local-path
    /// remote's repository when `inLocalRemote` (throws for a network remote). The tree and the blob are
    /// size-checked before loading.
    public func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int, inLocalRemote: Bool) throws(ShadowError) -> [UInt8]? {
        let remotePath: String?
        if inLocalRemote {
            let address = try remoteAddress()
            guard address.kind == .local else { throw ShadowError(.invalidArgument, "the remote \(address.url) is not a local path") }
            remotePath = address.path
        } else {
            remotePath = nil
        }
        return try GitThread.shared.run { () throws(ShadowError) -> [UInt8]? in
            var repo: OpaquePointer? = handle
            if let remotePath {
                repo = nil
                let rc = remotePath.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
                try gitCheck(rc, "cannot open the remote repository \(remotePath)")
            }
            defer { if remotePath != nil { git2.git_repository_free(repo) } }
            try GitRepository.requireObject(tree, GIT_OBJECT_TREE, limit: GitRepository.topTreeLimitBytes, in: repo!)
            var oid = tree.gitOID
            var treeObject: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&treeObject, repo, &oid), "cannot read tree \(tree.short)")
            defer { git2.git_tree_free(treeObject) }
            for i in 0..<git2.git_tree_entrycount(treeObject) {
                guard let entry = git2.git_tree_entry_byindex(treeObject, i), git2.git_tree_entry_type(entry) == GIT_OBJECT_BLOB,
                      let entryName = git2.git_tree_entry_name(entry), String(cString: entryName) == name else { continue }
                let id = ObjectID(git2.git_tree_entry_id(entry)!.pointee)
                try GitRepository.requireObject(id, GIT_OBJECT_BLOB, limit: limit, in: repo!)
                var blobID = id.gitOID
                var blob: OpaquePointer?
                try gitCheck(git2.git_blob_lookup(&blob, repo, &blobID), "cannot read object \(id.short)")
                defer { git2.git_blob_free(blob) }
                let size = Int(git2.git_blob_rawsize(blob))
                guard size > 0, let raw = git2.git_blob_rawcontent(blob) else { return [] }
                return Array(UnsafeRawBufferPointer(start: raw, count: size))
            }
            return nil
        }
    }

    public func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int,
                               inLocalRemote: Bool) throws(ShadowError) -> DirectoryBlobs? {
        let remotePath: String?
        if inLocalRemote {
            let address = try remoteAddress()
            guard address.kind == .local else { throw ShadowError(.invalidArgument, "the remote \(address.url) is not a local path") }
            remotePath = address.path
        } else {
            remotePath = nil
        }
        return try GitThread.shared.run { () throws(ShadowError) -> DirectoryBlobs? in
            var repo: OpaquePointer? = handle
            if let remotePath {
                repo = nil
                let rc = remotePath.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
                try gitCheck(rc, "cannot open the remote repository \(remotePath)")
            }
            defer { if remotePath != nil { git2.git_repository_free(repo) } }
            try GitRepository.requireObject(tree, GIT_OBJECT_TREE, limit: GitRepository.topTreeLimitBytes, in: repo!)
            var oid = tree.gitOID
            var top: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&top, repo, &oid), "cannot read tree \(tree.short)")
            defer { git2.git_tree_free(top) }
            var found: OpaquePointer?
            for i in 0..<git2.git_tree_entrycount(top) {
                if let e = git2.git_tree_entry_byindex(top, i), let n = git2.git_tree_entry_name(e), String(cString: n) == name { found = e }
            }
            guard let entry = found else { return nil }
            guard git2.git_tree_entry_type(entry) == GIT_OBJECT_TREE else {
                throw ShadowError(.malformedObject, "tree \(tree.short) holds \(name) as a file: ShadowSync keeps a directory there")
            }
            let directory = ObjectID(git2.git_tree_entry_id(entry)!.pointee)
            // A tree entry is at most about 300 bytes (mode, a 255-byte name, the id).
            try GitRepository.requireObject(directory, GIT_OBJECT_TREE, limit: maximumCount * 300, in: repo!)
            var directoryOID = directory.gitOID
            var sub: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&sub, repo, &directoryOID), "cannot read tree \(directory.short)")
            defer { git2.git_tree_free(sub) }
            let count = git2.git_tree_entrycount(sub)
            guard count <= maximumCount else {
                throw ShadowError(.malformedObject, "\(name) in tree \(tree.short) holds \(count) entries, more than the \(maximumCount) allowed")
            }
            var blobs: [DirectoryBlobs.Blob] = []
            for i in 0..<count {
                guard let e = git2.git_tree_entry_byindex(sub, i), let cName = git2.git_tree_entry_name(e) else { continue }
                let entryName = Array(UnsafeBufferPointer(start: cName, count: strlen(cName)).map { UInt8(bitPattern: $0) })
                guard git2.git_tree_entry_type(e) == GIT_OBJECT_BLOB else {
                    throw ShadowError(.malformedObject, "\(name)/\(PlainPath.render(entryName)) in tree \(tree.short) is not a file")
                }
                let id = ObjectID(git2.git_tree_entry_id(e)!.pointee)
                try GitRepository.requireObject(id, GIT_OBJECT_BLOB, limit: limit, in: repo!)
                var blobID = id.gitOID
                var blob: OpaquePointer?
                try gitCheck(git2.git_blob_lookup(&blob, repo, &blobID), "cannot read object \(id.short)")
                defer { git2.git_blob_free(blob) }
                let size = Int(git2.git_blob_rawsize(blob))
                let bytes = size > 0 ? git2.git_blob_rawcontent(blob).map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? [] : []
                blobs.append(DirectoryBlobs.Blob(name: entryName, id: id, bytes: bytes))
            }
            return DirectoryBlobs(tree: directory, blobs: blobs)
        }
    }

    /// A vault's top-level tree holds three entries (`vault.json`, `.gitattributes`, `d`): about 120 bytes.
    static let topTreeLimitBytes = 4096

    /// The commit a reference points at, or nil if it does not exist.
    public func reference(_ name: String) throws(ShadowError) -> ObjectID? {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
            var oid = git_oid()
            let rc = git2.git_reference_name_to_id(&oid, handle, name)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try gitCheck(rc, "cannot read \(name)")
            return ObjectID(oid)
        }
    }

    /// Points `name` at `id`, only if it still points at `expected` (nil: must not exist yet), so two
    /// writers can never silently overwrite each other's ref update.
    public func setReference(_ name: String, to id: ObjectID, expecting expected: ObjectID?) throws(ShadowError) {
        // Objects first, then the ref, each durable before the next step relies on it.
        try flushToDisk()
        defer { try? flushToDisk() }
        CrashPoint.reached("git-ref")
        defer { CrashPoint.reached("git-ref-moved") }
        try GitThread.shared.run { () throws(ShadowError) in
            var oid = id.gitOID
            var ref: OpaquePointer?
            let rc: Int32
            if var old = expected?.gitOID {
                rc = git2.git_reference_create_matching(&ref, handle, name, &oid, 1, &old, "shadowsync")
            } else {
                rc = git2.git_reference_create(&ref, handle, name, &oid, 0, "shadowsync")
            }
            defer { git2.git_reference_free(ref) }
            try gitCheck(rc, "cannot move \(name) to \(id.short)")
        }
    }

    /// True when `descendant` equals `ancestor` or has it in its history.
    public func isDescendant(_ descendant: ObjectID, of ancestor: ObjectID) throws(ShadowError) -> Bool {
        if descendant == ancestor { return true }
        return try GitThread.shared.run { () throws(ShadowError) -> Bool in
            var a = descendant.gitOID, b = ancestor.gitOID
            let rc = git2.git_graph_descendant_of(handle, &a, &b)
            try gitCheck(rc, "cannot compare \(descendant.short) with \(ancestor.short)")
            return rc == 1
        }
    }

    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(ShadowError) -> ObjectID? {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
            var out = git_oid(), x = a.gitOID, y = b.gitOID
            let rc = git2.git_merge_base(&out, handle, &x, &y)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try gitCheck(rc, "cannot find a merge base")
            return ObjectID(out)
        }
    }

    /// Commits reachable from `head` but not from `known`, oldest first (parents before children).
    public func commits(from head: ObjectID, excluding known: ObjectID?) throws(ShadowError) -> [ObjectID] {
        try GitThread.shared.run { () throws(ShadowError) -> [ObjectID] in
            var walk: OpaquePointer?
            try gitCheck(git2.git_revwalk_new(&walk, handle), "cannot walk history")
            defer { git2.git_revwalk_free(walk) }
            try gitCheck(git2.git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_REVERSE.rawValue), "cannot sort history")
            var h = head.gitOID
            try gitCheck(git2.git_revwalk_push(walk, &h), "cannot walk from \(head.short)")
            if var k = known?.gitOID { try gitCheck(git2.git_revwalk_hide(walk, &k), "cannot hide \(known!.short)") }
            var out: [ObjectID] = []
            var oid = git_oid()
            while true {
                let rc = git2.git_revwalk_next(&oid, walk)
                if rc == GIT_ITEROVER.rawValue { break }
                try gitCheck(rc, "cannot walk history")
                out.append(ObjectID(oid))
            }
            return out
        }
    }

    /// Forces the work tree and index to `commit`'s tree; untracked files go, ignored ones stay.
    public func checkout(_ commit: ObjectID) throws(ShadowError) {
        try GitThread.shared.run { () throws(ShadowError) in
            var oid = commit.gitOID
            var object: OpaquePointer?
            try gitCheck(git2.git_object_lookup(&object, handle, &oid, GIT_OBJECT_COMMIT), "cannot find commit \(commit.short)")
            defer { git2.git_object_free(object) }
            var opts = git_checkout_options()
            _ = git2.git_checkout_options_init(&opts, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
            opts.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_REMOVE_UNTRACKED.rawValue
            git2.git_index_free(try openIndex())  // checkout writes the index: repair a damaged one first
            CrashPoint.reached("git-checkout")
            try gitCheck(git2.git_checkout_tree(handle, object, &opts), "cannot check out \(commit.short) into the shadow tree")
        }
    }

    public func resolve(_ revision: String) throws(ShadowError) -> ObjectID {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID in
            var object: OpaquePointer?
            let rc = git2.git_revparse_single(&object, handle, revision)
            if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EAMBIGUOUS.rawValue || rc == GIT_EINVALIDSPEC.rawValue {
                throw ShadowError(.notFound, "no single commit matches '\(revision)'",
                                  advice: "use a commit id from 'shadowsync log' (8 or more hex digits)")
            }
            try gitCheck(rc, "cannot resolve '\(revision)'")
            defer { git2.git_object_free(object) }
            var commit: OpaquePointer?
            try gitCheck(git2.git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "'\(revision)' does not name a commit")
            defer { git2.git_object_free(commit) }
            return ObjectID(git2.git_object_id(commit)!.pointee)
        }
    }

    // MARK: Remote

    /// Sets (or replaces) the URL of the `origin` remote: a local path, file://, or ssh.
    public func setRemote(url: String) throws(ShadowError) {
        try GitThread.shared.run { () throws(ShadowError) in
            git2.git_remote_free(origin)
            origin = nil
            var remote: OpaquePointer?
            if git2.git_remote_lookup(&remote, handle, GitRepository.remoteName) == 0 {
                git2.git_remote_free(remote)
                try gitCheck(git2.git_remote_set_url(handle, GitRepository.remoteName, url), "cannot set the remote URL")
            } else {
                try gitCheck(git2.git_remote_create_with_fetchspec(&remote, handle, GitRepository.remoteName, url,
                                                              "+\(GitRepository.branch):\(GitRepository.remoteTrackingBranch)"),
                             "cannot add the remote \(url)")
                git2.git_remote_free(remote)
            }
        }
    }

    /// How to authenticate to and trust an SSH remote; nil for local remotes (and refused for SSH ones).
    /// Set once by the agent after opening, before any network call.
    public var ssh: SSHSettings? {
        get { sshSettings.withLock { $0 } }
        set { sshSettings.withLock { $0 = newValue } }
    }

    /// The `origin` URL, parsed.
    public func remoteAddress() throws(ShadowError) -> RemoteAddress {
        let url = try GitThread.shared.run { () throws(ShadowError) -> String in
            let remote = try originRemote()
            return git2.git_remote_url(remote).map { String(cString: $0) } ?? ""
        }
        return try RemoteAddress.parse(url)
    }

    private func session() throws(ShadowError) -> RemoteSession {
        let address = try remoteAddress()
        if address.kind == .ssh && ssh == nil {
            throw ShadowError(.invalidArgument, "the remote \(address.url) is reached over SSH but no SSH settings were given")
        }
        if address.kind == .local {
            try GitThread.shared.run { () throws(ShadowError) in try GitRepository.requireBare(localRemote: address.path) }
        }
        return RemoteSession(address: address, settings: ssh)
    }

    /// Refuses a local remote that is a repository with a work tree: git never updates a checked-out
    /// branch from a push, so no sync could ever publish there, and retrying would not change that. A
    /// path that cannot be opened is left to the fetch, which reports it as unreachable (a disk not
    /// mounted yet). Git thread only.
    static func requireBare(localRemote path: String) throws(ShadowError) {
        var repo: OpaquePointer?
        guard git2.git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else { return }
        defer { git2.git_repository_free(repo) }
        guard git2.git_repository_is_bare(repo) == 1 else {
            throw ShadowError(.repositoryFailure, "the remote \(path) is a repository with a work tree (not bare): ShadowSync syncs only through a bare repository",
                              advice: "make a bare copy ('git clone --bare \(path) NEW.git', or 'git init --bare NEW.git' for a new vault) and point the folder at it with 'shadowsync config set remote NEW.git'; the folder keeps every file")
        }
    }

    /// Fetches the remote's main branch into refs/remotes/origin/main; returns its commit (nil: empty remote).
    @discardableResult
    public func fetch() throws(ShadowError) -> ObjectID? {
        let session = try session()
        return try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
            let remote = try originRemote()
            var opts = git_fetch_options()
            _ = git2.git_fetch_options_init(&opts, UInt32(GIT_FETCH_OPTIONS_VERSION))
            session.install(&opts.callbacks)
            // Prune: a remote without main (a new, empty repository after `config set remote`, or one whose
            // branch was deleted) must not leave the old history's tracking ref behind. It would read as
            // "in sync", and nothing would ever be pushed there.
            opts.prune = GIT_FETCH_PRUNE
            let rc = try withStrArray(["+\(GitRepository.branch):\(GitRepository.remoteTrackingBranch)"]) { (specs) throws(ShadowError) -> Int32 in
                session.network { git2.git_remote_fetch(remote, specs, &opts, "shadowsync fetch") }
            }
            if rc < 0 { throw session.failure(rc, "cannot fetch from the remote") }
            return try reference(GitRepository.remoteTrackingBranch)
        }
    }

    /// Objects larger than this many bytes are never delta-compressed by the packbuilder a push uses:
    /// 1, so none is. Ciphertext never deltas against anything (every byte differs between versions),
    /// and trying cost a third of a 10k-file push (`Docs/BENCHMARKS.md`, `bench-sync-vs-git.sh`).
    static let noDeltaAboveBytes: Int64 = 1
    /// libgit2 1.5 reads the packbuilder's size limit for deltas from `pack.deltaCacheSize` (a slip in
    /// its `packbuilder_config`); later versions from `pack.bigFileThreshold`. Both are set.
    static let packSettings = ["pack.deltaCacheSize", "pack.bigFileThreshold"]
    /// Whether `packSettings` were checked in this repository's config (git thread only).
    private var packSettingsApplied = false

    private func applyPackSettings() throws(ShadowError) {
        guard !packSettingsApplied else { return }
        var config: OpaquePointer?
        try gitCheck(git2.git_repository_config(&config, handle), "cannot read the repository's config")
        defer { git2.git_config_free(config) }
        for key in GitRepository.packSettings {
            var value: Int64 = 0
            if git2.git_config_get_int64(&value, config, key) != 0 || value != GitRepository.noDeltaAboveBytes {
                try gitCheck(git2.git_config_set_int64(config, key, GitRepository.noDeltaAboveBytes), "cannot set \(key) in the repository's config")
            }
        }
        packSettingsApplied = true
    }

    /// Pushes the local main branch, fast-forward only. Throws `.nonFastForward` when the remote has
    /// commits not merged here. `head`: the commit the caller checked; if main names another one by
    /// now, nothing is pushed (`.foreignLocalCommit`).
    public func push(expecting head: ObjectID? = nil) throws(ShadowError) {
        let session = try session()
        CrashPoint.reached("git-push")
        try GitThread.shared.run { () throws(ShadowError) in
            if session.address.kind == .local, try pushToLocalBareRepository(at: session.address.path, expecting: head) { return }
            // The packbuilder reads main again itself: this narrows to microseconds the window in
            // which a commit made meanwhile by someone else would be sent unchecked.
            if let head, let now = try reference(GitRepository.branch) { try GitRepository.requireUnmoved(now, expected: head) }
            try applyPackSettings()
            let remote = try originRemote()
            var opts = git_push_options()
            _ = git2.git_push_options_init(&opts, UInt32(GIT_PUSH_OPTIONS_VERSION))
            session.install(&opts.callbacks)
            let rc = try withStrArray(["\(GitRepository.branch):\(GitRepository.branch)"]) { (specs) throws(ShadowError) -> Int32 in
                session.network { git2.git_remote_push(remote, specs, &opts) }
            }
            if rc < 0 { throw session.failure(rc, "cannot push to the remote") }
            if session.address.kind == .local { try flushToDisk() }  // a local remote's new pack and ref
            if let status = session.pushRejection {
                // receive-pack says "non-fast-forward" or "fetch first" when someone pushed first; anything
                // else (a hook, a full disk) does not go away by merging, so it must not loop.
                let raced = status.contains("non-fast-forward") || status.contains("fetch first")
                    || (status.contains("failed to update ref") && session.serverMessages.isEmpty)
                if raced {
                    throw ShadowError(.nonFastForward, "the remote refused the update of main: \(status)",
                                      advice: "nothing to do: the next sync fetches, merges and pushes again")
                }
                session.serverMessages += "\n" + status
                throw session.failure(GIT_ERROR.rawValue, "cannot push to the remote")
            }
        }
    }

    /// Refuses a push when main moved since the caller checked the commits it is about to publish.
    static func requireUnmoved(_ now: ObjectID, expected: ObjectID) throws(ShadowError) {
        guard now != expected else { return }
        throw ShadowError(.foreignLocalCommit, "the shadow repository's \(branch) moved from \(expected.short) to \(now.short) while this machine prepared a push (someone ran git there?); nothing was pushed",
                          advice: "run 'shadowsync repair': it puts the shadow repository back on the last commit ShadowSync made; the folder keeps every file")
    }

    // MARK: Probing a remote without a repository (trust-host, doctor)

    /// Connects to `host:port` only far enough to see its host key; nothing is authenticated or sent.
    public static func probeHostKey(host: String, port: Int, user: String) throws(ShadowError) -> HostKey {
        let address = try RemoteAddress.parse("ssh://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/shadowsync-probe")
        return try GitThread.shared.run { () throws(ShadowError) -> HostKey in
            let session = RemoteSession(address: address, settings: nil)
            session.stopAfterHostKey = true
            var remote: OpaquePointer?
            try gitCheck(git2.git_remote_create_detached(&remote, address.url), "cannot describe \(address.url)")
            defer { git2.git_remote_free(remote) }
            var callbacks = git_remote_callbacks()
            _ = git2.git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
            session.install(&callbacks)
            let rc = session.network { git2.git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil) }
            if let key = session.presentedKey { return key }
            throw session.failure(rc < 0 ? rc : GIT_ERROR.rawValue, "cannot read the host key of \(address.knownHostsName)")
        }
    }

    /// Connects to the remote as fetch does (host key, authentication, repository) and returns its main
    /// branch head, nil when the repository is empty. Changes nothing on either side.
    public func probeRemote() throws(ShadowError) -> ObjectID? {
        let session = try session()
        return try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
            let remote = try originRemote()
            var callbacks = git_remote_callbacks()
            _ = git2.git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
            session.install(&callbacks)
            let rc = session.network { git2.git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil) }
            if rc < 0 { throw session.failure(rc, "cannot connect to the remote") }
            defer { _ = git2.git_remote_disconnect(remote) }
            var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
            var count = 0
            try gitCheck(git2.git_remote_ls(&heads, &count, remote), "cannot list the remote's branches")
            for i in 0..<count {
                guard let h = heads?[i]?.pointee, let name = h.name else { continue }
                if String(cString: name) == GitRepository.branch { return ObjectID(h.oid) }
            }
            return nil
        }
    }
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

/// Small work-tree files read for staging and not yet written as objects.
private final class StagingBatch {
    struct File {
        let path: String
        let stat: Glibc.stat
        let bytes: [UInt8]
    }
    private(set) var files: [File] = []
    private(set) var bytes = 0

    func add(_ path: String, stat: Glibc.stat, bytes content: [UInt8]) {
        files.append(File(path: path, stat: stat, bytes: content))
        bytes += content.count
    }

    func clear() {
        files.removeAll()
        bytes = 0
    }
}
