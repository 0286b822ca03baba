@preconcurrency import Glibc
internal import CGit2
internal import CShims
public import ShadowCore
import ShadowSystem

/// Staging the work tree into the index and checking a commit out into it.
extension GitRepository {
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
    static let packBatchBytes = 8 << 20
    /// Fewer objects than this are written loose: a daemon's pass over a few edits should not leave a
    /// pack behind each time (git's own threshold for auto-packing loose objects is far higher).
    static let packMinObjects = 16

    /// The file's stat if it is still the one its writer described (same inode, size and times): its
    /// writer's bytes are then its contents. Anything else (a checkout rewrote it, it is gone) reads it.
    static func unchangedStat(_ full: BytePath, _ expected: WorkTreeStat) -> Glibc.stat? {
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
    func stageFile(_ relative: String, from full: BytePath, index: OpaquePointer?, odb: OpaquePointer?,
                           batch: StagingBatch) throws(ShadowError) -> Bool {
        let fd = full.withCString { Glibc.open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return false }
            throw SystemError.last("cannot stage", full)
        }
        defer { Glibc.close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw ShadowError(.invalidArgument, "cannot stage \(relative): not a regular file", advice: "remove it from \(path)")
        }
        let size = Int(st.st_size)
        // Built only when needed: this runs once per staged file.
        func changed() -> ShadowError { ShadowError(.sourceChanged, "\(full) changed while it was staged", advice: "nothing to do: the next pass stages it again") }
        func readFailed() -> ShadowError { SystemError.last("cannot read", full) }
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
    func writeBatch(_ batch: StagingBatch, index: OpaquePointer?, odb: OpaquePointer?) throws(ShadowError) {
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
                let id = file.bytes.withBytes { GitRepository.blobID($0) }
                ids.append(id.gitOID)
                if seen.insert(id).inserted { unique.append(i) }
            }
            guard let gitDir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "repository has no git directory") }
            let pack = try PackWriter(packDirectory: String(cString: gitDir) + "objects/pack", count: unique.count)
            for i in unique {
                try batch.files[i].bytes.withBytes { (b) throws(ShadowError) in try pack.add(.blob, id: ids[i], b) }
            }
            try pack.finish()
            try gitCheck(git2.git_odb_refresh(odb), "cannot see the new pack")
        }
        for (file, oid) in zip(batch.files, ids) {
            try addIndexEntry(file.path, stat: file.stat, id: oid, index: index)
        }
        batch.clear()
    }

    /// A blob's object id: SHA-1 of `blob <size>\0` and the bytes, as git defines it. Hashed here rather
    /// than by libgit2, whose collision-detecting SHA-1 runs at a fifth of the speed of the CPU's SHA
    /// extensions (ShadowCore's SHA1 uses them), over every byte of an import; the bytes are this
    /// machine's own ciphertext, which no one can steer towards a collision.
    static func blobID(_ bytes: UnsafeRawBufferPointer) -> ObjectID {
        var sha = SHA1()
        sha.update(Array("blob \(bytes.count)\0".utf8))
        sha.update(bytes)
        return sha.finish().withUnsafeBytes { ObjectID(raw: $0) }
    }

    /// Puts a file in the index with its stat data, so neither a later stage nor a checkout hashes it again.
    func addIndexEntry(_ relative: String, stat st: Glibc.stat, id: git_oid, index: OpaquePointer?) throws(ShadowError) {
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
}

/// Small work-tree files read for staging and not yet written as objects.
final class StagingBatch {
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
