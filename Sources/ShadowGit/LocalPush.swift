#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CGit2
internal import CShims
import ShadowCore

/// Pushing to a bare repository on this machine (the embedded default, a USB disk, a mounted share)
/// without libgit2's packbuilder, which re-deflates every object at zlib's default level: a quarter of
/// the first import of 10k files, 1.1 s against 0.5 s for this (Docs/BENCHMARKS.md). The objects the
/// remote lacks go into one pack of stored (uncompressed) objects, as staging writes them, since
/// ciphertext does not compress; then the remote's branch moves by compare-and-swap, as receive-pack
/// would move it. Hooks in the local repository do not run, as they never did with libgit2's local push.
extension GitRepository {
    /// Pushes `main` into the bare repository at `path`. False when `path` is not a bare repository
    /// this can open: the caller then pushes through libgit2, which reports what is wrong with it.
    /// Git thread only.
    func pushToLocalBareRepository(at path: String) throws(ShadowError) -> Bool {
        var remote: OpaquePointer?
        guard git_repository_open_ext(&remote, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else { return false }
        defer { git_repository_free(remote) }
        guard git_repository_is_bare(remote) == 1, let gitDir = git_repository_path(remote) else { return false }
        let remoteDir = String(cString: gitDir)

        var local = git_oid()
        try gitCheck(git_reference_name_to_id(&local, handle, GitRepository.branch), "cannot read \(GitRepository.branch)")
        var theirs = git_oid()
        let remoteHead: git_oid?
        switch git_reference_name_to_id(&theirs, remote, GitRepository.branch) {
        case 0: remoteHead = theirs
        case GIT_ENOTFOUND.rawValue: remoteHead = nil
        case let rc: throw gitError(rc, "cannot read the remote's \(GitRepository.branch)")
        }
        if var base = remoteHead {
            if git_oid_equal(&local, &base) == 1 { return true }
            // Fast-forward only; a head unknown here means someone pushed since the last fetch.
            guard git_graph_descendant_of(handle, &local, &base) == 1 else {
                throw ShadowError(.nonFastForward, "the remote's \(GitRepository.branch) has commits this machine has not merged",
                                  advice: "nothing to do: the next sync fetches, merges and pushes again")
            }
        }

        var remoteODB: OpaquePointer?
        try gitCheck(git_repository_odb(&remoteODB, remote), "cannot open the remote's objects")
        defer { git_odb_free(remoteODB) }
        var localODB: OpaquePointer?
        try gitCheck(git_repository_odb(&localODB, handle), "cannot open the objects")
        defer { git_odb_free(localODB) }

        let missing = try objectsMissing(from: remoteODB, newest: local, known: remoteHead)
        if !missing.isEmpty {
            let pack = try PackWriter(packDirectory: remoteDir + "objects/pack", odb: remoteODB, count: missing.count)
            for (id, kind) in missing {
                var oid = id
                var object: OpaquePointer?
                try gitCheck(git_odb_read(&object, localODB, &oid), "cannot read object \(ObjectID(id).short)")
                defer { git_odb_object_free(object) }
                try pack.add(kind, UnsafeRawBufferPointer(start: git_odb_object_data(object), count: git_odb_object_size(object)))
            }
            try pack.finish()
        }
        // The pack durable before the branch names its objects, the branch durable before success.
        try GitRepository.flush(BytePath(remoteDir))
        CrashPoint.reached("git-push-objects")
        var ref: OpaquePointer?
        let rc: Int32
        if var expected = remoteHead {
            rc = git_reference_create_matching(&ref, remote, GitRepository.branch, &local, 1, &expected, "shadowsync push")
        } else {
            rc = git_reference_create(&ref, remote, GitRepository.branch, &local, 0, "shadowsync push")
        }
        git_reference_free(ref)
        if rc == GIT_EMODIFIED.rawValue || rc == GIT_EEXISTS.rawValue {
            throw ShadowError(.nonFastForward, "another machine moved the remote's \(GitRepository.branch) during this push",
                              advice: "nothing to do: the next sync fetches, merges and pushes again")
        }
        try gitCheck(rc, "cannot move the remote's \(GitRepository.branch)")
        try GitRepository.flush(BytePath(remoteDir))
        // As a push through libgit2 would: the tracking branch now names what the remote holds.
        var tracking: OpaquePointer?
        try gitCheck(git_reference_create(&tracking, handle, GitRepository.remoteTrackingBranch, &local, 1, "shadowsync push"),
                     "cannot update \(GitRepository.remoteTrackingBranch)")
        git_reference_free(tracking)
        return true
    }

    /// The commits after `known` up to `newest`, with every tree and blob they name that `remoteODB`
    /// lacks. A tree the remote has is not entered: it holds everything below it (git stores nothing
    /// without what it names).
    private func objectsMissing(from remoteODB: OpaquePointer?, newest: git_oid, known: git_oid?) throws(ShadowError) -> [(git_oid, PackWriter.Kind)] {
        var walk: OpaquePointer?
        try gitCheck(git_revwalk_new(&walk, handle), "cannot walk the history")
        defer { git_revwalk_free(walk) }
        var start = newest
        try gitCheck(git_revwalk_push(walk, &start), "cannot walk the history")
        if var stop = known { try gitCheck(git_revwalk_hide(walk, &stop), "cannot walk the history") }
        var out: [(git_oid, PackWriter.Kind)] = []
        var seen = Set<ObjectID>()
        var commitID = git_oid()
        while git_revwalk_next(&commitID, walk) == 0 {
            // Present already when an earlier push wrote its pack and was cut off before moving the branch.
            if git_odb_exists(remoteODB, &commitID) == 1 { continue }
            out.append((commitID, .commit))
            var commit: OpaquePointer?
            try gitCheck(git_commit_lookup(&commit, handle, &commitID), "cannot read commit \(ObjectID(commitID).short)")
            defer { git_commit_free(commit) }
            guard let tree = git_commit_tree_id(commit)?.pointee else {
                throw ShadowError(.malformedObject, "commit \(ObjectID(commitID).short) names no tree")
            }
            try addTree(tree, remoteODB: remoteODB, seen: &seen, into: &out, depth: 0)
        }
        return out
    }

    private func addTree(_ id: git_oid, remoteODB: OpaquePointer?, seen: inout Set<ObjectID>,
                         into out: inout [(git_oid, PackWriter.Kind)], depth: Int) throws(ShadowError) {
        var oid = id
        guard seen.insert(ObjectID(id)).inserted, git_odb_exists(remoteODB, &oid) == 0 else { return }
        guard depth <= GitRepository.maxTreeDepth else {
            throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
        }
        out.append((id, .tree))
        var tree: OpaquePointer?
        try gitCheck(git_tree_lookup(&tree, handle, &oid), "cannot read tree \(ObjectID(id).short)")
        defer { git_tree_free(tree) }
        for i in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, i), let child = git_tree_entry_id(entry)?.pointee else { continue }
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                try addTree(child, remoteODB: remoteODB, seen: &seen, into: &out, depth: depth + 1)
            case GIT_OBJECT_BLOB:
                var c = child
                if seen.insert(ObjectID(child)).inserted, git_odb_exists(remoteODB, &c) == 0 { out.append((child, .blob)) }
            default:
                throw ShadowError(.malformedObject, "tree \(ObjectID(id).short) holds an entry that is neither file nor directory")
            }
        }
    }
}
