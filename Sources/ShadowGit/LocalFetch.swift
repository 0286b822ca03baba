#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CGit2
import ShadowCore
import ShadowSystem

/// Fetching from a bare repository on this machine without libgit2's local transport, which runs the
/// packbuilder on the remote side: it deflates every object at zlib's default level and the indexer
/// here inflates it again, most of a 1 GiB join's time (Docs/BENCHMARKS.md, `bench-import.sh`), for
/// ciphertext that does not shrink. The objects this repository lacks are read from the remote one by
/// one, each checked against the type its parent names and a size bound from its header before it is
/// loaded, and written as one pack of stored objects, as a local push writes them. The caller has
/// checked the remote's signed head in place before this copies anything (HistoryVerifier).
extension GitRepository {
    /// Fetches the remote's `main` into the tracking branch; returns its commit (nil: the remote has no
    /// `main`, and the tracking branch is removed, as a pruning fetch removes it). Nil in `fetched` when
    /// `path` is not a bare repository this can open: the caller then fetches through libgit2, which
    /// reports what is wrong with it. Git thread only.
    func fetchFromLocalBareRepository(at path: String) throws(ShadowError) -> (fetched: Bool, head: ObjectID?) {
        var remote: OpaquePointer?
        guard git2.git_repository_open_ext(&remote, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else { return (false, nil) }
        defer { git2.git_repository_free(remote) }
        guard git2.git_repository_is_bare(remote) == 1 else { return (false, nil) }

        var theirs = git_oid()
        switch git2.git_reference_name_to_id(&theirs, remote, GitRepository.branch) {
        case 0: break
        case GIT_ENOTFOUND.rawValue:
            let rc = git2.git_reference_remove(handle, GitRepository.remoteTrackingBranch)
            if rc != GIT_ENOTFOUND.rawValue { try gitCheck(rc, "cannot remove \(GitRepository.remoteTrackingBranch)") }
            return (true, nil)
        case let rc: throw gitError(rc, "cannot read the remote's \(GitRepository.branch)")
        }

        var remoteODB: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&remoteODB, remote), "cannot open the remote's objects")
        defer { git2.git_odb_free(remoteODB) }
        var localODB: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&localODB, handle), "cannot open the objects")
        defer { git2.git_odb_free(localODB) }

        // What this repository already holds: the walk stops there (hidden only if the remote has it too).
        var known: [git_oid] = []
        for name in [GitRepository.remoteTrackingBranch, GitRepository.branch] {
            var id = git_oid()
            if git2.git_reference_name_to_id(&id, handle, name) == 0, git2.git_odb_exists(remoteODB, &id) == 1 { known.append(id) }
        }
        let missing = try ObjectWalk(source: remote!, target: localODB, objectLimit: GitRepository.localFetchObjectLimitBytes)
            .missing(newest: theirs, known: known)
        if !missing.isEmpty {
            guard let gitDir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "repository has no git directory") }
            // Bytes copied out of the remote, as an SSH fetch reports the bytes it received.
            var received = TransferProgress(.received, bytes: 0, objects: 0, totalObjects: missing.count)
            TransferMeter.moved(received)
            try ObjectWalk.writePack(missing, from: remoteODB, into: String(cString: gitDir) + "objects/pack", trusted: false) { size in
                received.bytes += UInt64(size)
                received.objects += 1
                TransferMeter.moved(received)
            }
            try gitCheck(git2.git_odb_refresh(localODB), "cannot see the new pack")
            // The pack durable before a ref names its objects.
            try flushToDisk()
        }
        var tracking: OpaquePointer?
        try gitCheck(git2.git_reference_create(&tracking, handle, GitRepository.remoteTrackingBranch, &theirs, 1, "shadowsync fetch"),
                     "cannot update \(GitRepository.remoteTrackingBranch)")
        git2.git_reference_free(tracking)
        return (true, ObjectID(theirs))
    }
}

/// The objects of one repository (`source`) that another (`target`, an object database) lacks,
/// from a newest commit back to what the target already knows, and the pack that carries them over.
struct ObjectWalk {
    let source: OpaquePointer
    let target: OpaquePointer?
    /// When set, each object's type and size are checked from its header before it is read: the
    /// source is not trusted (a fetch). Nil for this machine's own repository (a push).
    let objectLimit: Int?

    /// The commits after `known` up to `newest`, with every tree and blob they name that the target
    /// lacks. A tree the target has is not entered: it holds everything below it (git stores nothing
    /// without what it names).
    func missing(newest: git_oid, known: [git_oid]) throws(ShadowError) -> [(git_oid, PackWriter.Kind)] {
        var walk: OpaquePointer?
        try gitCheck(git2.git_revwalk_new(&walk, source), "cannot walk the history")
        defer { git2.git_revwalk_free(walk) }
        var start = newest
        try gitCheck(git2.git_revwalk_push(walk, &start), "cannot walk the history")
        for var stop in known { try gitCheck(git2.git_revwalk_hide(walk, &stop), "cannot walk the history") }
        var out: [(git_oid, PackWriter.Kind)] = []
        var seen = Set<ObjectID>()
        var commitID = git_oid()
        while true {
            let next = git2.git_revwalk_next(&commitID, walk)
            if next == GIT_ITEROVER.rawValue { break }
            if next < 0 {
                let error = gitError(next, "cannot walk the history")
                throw objectLimit == nil ? error : ObjectWalk.serverFault(error)
            }
            // Present already when an earlier transfer wrote its pack and was cut off before moving the branch.
            if targetHas(&commitID) { continue }
            try check(commitID, GIT_OBJECT_COMMIT, limit: CommitInfo.maximumBytes)
            out.append((commitID, .commit))
            var commit: OpaquePointer?
            try read(git2.git_commit_lookup(&commit, source, &commitID), "cannot read commit \(ObjectID(commitID).short)")
            defer { git2.git_commit_free(commit) }
            guard let tree = git2.git_commit_tree_id(commit)?.pointee else {
                throw ShadowError(.malformedObject, "commit \(ObjectID(commitID).short) names no tree")
            }
            try addTree(tree, seen: &seen, into: &out, depth: 0)
        }
        return out
    }

    /// Whether the target holds an object, as of when its object database was opened (this transfer).
    /// Without NO_REFRESH, libgit2 re-reads the pack directory after every miss (an access, two opens
    /// and a readdir per object): 21,000 misses were a quarter of the first import of 10k files. A pack
    /// another process adds meanwhile only makes this transfer write objects the target already has,
    /// which git tolerates.
    private func targetHas(_ id: inout git_oid) -> Bool {
        git2.git_odb_exists_ext(target, &id, UInt32(GIT_ODB_LOOKUP_NO_REFRESH.rawValue)) == 1
    }

    /// Refuses an object of another type than its parent names, or over the limit, before it is loaded.
    private func check(_ id: git_oid, _ type: git_object_t, limit: Int) throws(ShadowError) {
        guard let objectLimit else { return }
        do {
            try GitRepository.requireObject(ObjectID(id), type, limit: min(limit, objectLimit), in: source)
        } catch {
            throw ObjectWalk.serverFault(error)
        }
    }

    /// An object of the remote that cannot be read as its parent names it (wrong type, too large,
    /// bytes that do not hash to its id, missing): the remote's fault, and nothing here has changed.
    static func serverFault(_ error: ShadowError) -> ShadowError {
        ShadowError(.malformedObject, "the remote's repository is damaged or was tampered with: \(error.message)",
                    advice: "nothing was changed locally; restore the repository on the server")
    }

    private func addTree(_ id: git_oid, seen: inout Set<ObjectID>, into out: inout [(git_oid, PackWriter.Kind)], depth: Int) throws(ShadowError) {
        var oid = id
        guard seen.insert(ObjectID(id)).inserted, !targetHas(&oid) else { return }
        guard depth <= GitRepository.maxTreeDepth else {
            throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
        }
        try check(id, GIT_OBJECT_TREE, limit: .max)
        out.append((id, .tree))
        var tree: OpaquePointer?
        try read(git2.git_tree_lookup(&tree, source, &oid), "cannot read tree \(ObjectID(id).short)")
        defer { git2.git_tree_free(tree) }
        for i in 0..<git2.git_tree_entrycount(tree) {
            guard let entry = git2.git_tree_entry_byindex(tree, i), let child = git2.git_tree_entry_id(entry)?.pointee else { continue }
            switch git2.git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                try addTree(child, seen: &seen, into: &out, depth: depth + 1)
            case GIT_OBJECT_BLOB:
                var c = child
                if seen.insert(ObjectID(child)).inserted, !targetHas(&c) {
                    try check(child, GIT_OBJECT_BLOB, limit: .max)
                    out.append((child, .blob))
                }
            default:
                throw ShadowError(.malformedObject, "tree \(ObjectID(id).short) holds an entry that is neither file nor directory")
            }
        }
    }

    /// A libgit2 result reading from the source: from an untrusted one, a failure is the server's.
    private func read(_ rc: Int32, _ what: String) throws(ShadowError) {
        guard rc < 0 else { return }
        let error = gitError(rc, what)
        throw objectLimit == nil ? error : ObjectWalk.serverFault(error)
    }

    /// Writes `objects`, read one at a time from `sourceODB` (libgit2 checks each against its id as it
    /// reads it), as one pack of stored objects into `packDirectory`. `trusted`: the source is this
    /// machine's own repository; otherwise a failed read is the server's fault. `copied` hears each
    /// object's size once it is in the pack.
    static func writePack(_ objects: [(git_oid, PackWriter.Kind)], from sourceODB: OpaquePointer?, into packDirectory: String,
                          trusted: Bool = true, copied: (Int) -> Void = { _ in }) throws(ShadowError) {
        let pack = try PackWriter(packDirectory: packDirectory, count: objects.count)
        for (id, kind) in objects {
            var oid = id
            var object: OpaquePointer?
            let rc = git2.git_odb_read(&object, sourceODB, &oid)
            if rc < 0 {
                let error = gitError(rc, "cannot read object \(ObjectID(id).short)")
                throw trusted ? error : serverFault(error)
            }
            defer { git2.git_odb_object_free(object) }
            let size = git2.git_odb_object_size(object)
            try pack.add(kind, id: id, UnsafeRawBufferPointer(start: git2.git_odb_object_data(object), count: size))
            copied(size)
        }
        try pack.finish()
    }
}
