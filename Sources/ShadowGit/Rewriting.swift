@preconcurrency import Glibc
internal import CGit2
public import ShadowCore
import ShadowSystem
import Synchronization

/// What a signed history rewrite needs from git (FORMAT.md §5.4): trees without some paths, a push that
/// replaces the remote's head, and dropping the objects no branch reaches any more.
extension GitRepository {
    /// `tree` without `paths` (files or whole directories; a path not in it is ignored); the tree
    /// itself when none is there. Directories left empty disappear, as git never stores them.
    public func tree(_ tree: ObjectID, removing paths: [String]) throws(ShadowError) -> ObjectID {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID in
            var oid = tree.gitOID
            var base: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&base, handle, &oid), "cannot read tree \(tree.short)")
            defer { git2.git_tree_free(base) }
            var present: [String] = []
            for path in paths {
                var entry: OpaquePointer?
                if git2.git_tree_entry_bypath(&entry, base, path) == 0 {
                    git2.git_tree_entry_free(entry)
                    present.append(path)
                }
            }
            guard !present.isEmpty else { return tree }
            let cPaths = present.map { strdup($0) }
            defer { for p in cPaths { free(p) } }
            var updates = cPaths.map { p in
                var update = git_tree_update()
                update.action = GIT_TREE_UPDATE_REMOVE
                update.path = UnsafePointer(p)
                return update
            }
            var out = git_oid()
            try gitCheck(git2.git_tree_create_updated(&out, handle, base, updates.count, &updates), "cannot write tree \(tree.short) without the forgotten paths")
            return ObjectID(out)
        }
    }

    /// Keeps only the objects the repository's branches reach, as `git gc --prune=now` would: they
    /// are written into one new pack, then every other pack and loose object is removed, and the reflogs
    /// that still name the replaced history with them. For after a rewrite, never during a sync.
    public func reclaimUnreachable() throws(ShadowError) -> ObjectConsolidation.Outcome? {
        let gitDir = try GitThread.shared.run { () throws(ShadowError) -> String in
            guard let dir = git2.git_repository_path(handle) else { throw ShadowError(.repositoryFailure, "cannot find the shadow repository's git directory") }
            return String(cString: dir)
        }
        return try ObjectConsolidation.reclaim(gitDir: gitDir)
    }
}

extension ObjectConsolidation {
    /// The branches whose history is kept by `reclaim`.
    static let keptRefs = [GitRepository.branch, GitRepository.remoteTrackingBranch]

    /// Rewrites the objects of the repository at `gitDir` that its branches reach into one pack and
    /// removes every other object file: what a signed rewrite replaced (a forgotten file's ciphertext)
    /// leaves the disk. Nil when another process holds the consolidation lock.
    public static func reclaim(gitDir: String) throws(ShadowError) -> Outcome? {
        let dir = gitDir.hasSuffix("/") ? String(gitDir.dropLast()) : gitDir
        let objects = dir + "/objects"
        let packDir = objects + "/pack"
        guard let lock = ConsolidationLock(packDir + "/" + lockName) else { return nil }
        defer { lock.release() }
        let packs = PackIndex.names(in: packDir).map { String($0.dropLast(PackIndex.indexSuffix.count)) }
        let loose = looseObjects(in: objects)
        let reachable = try GitThread.shared.run { () throws(ShadowError) -> [ObjectID] in try reachableObjects(gitDir: dir) }
        let newBase = try GitThread.shared.run { () throws(ShadowError) -> String in
            try writePack(of: reachable, gitDir: dir, packDir: packDir)
        }
        guard let written = PackIndex.objectIDs(packDir + "/" + newBase + PackIndex.indexSuffix), Set(written).isSuperset(of: reachable) else {
            throw ShadowError(.repositoryFailure, "the pack \(newBase) in \(packDir) does not list every object its branches reach; nothing was removed",
                              advice: "run 'git fsck' in that repository; the next rewrite or sync tries again")
        }
        try FileSystem.flushFileSystem(holding: BytePath(packDir))
        var packsRemoved = 0
        for base in packs where base != newBase {
            for suffix in [PackIndex.indexSuffix, ".pack", ".rev", ".bitmap", ".keep"] { unlink(packDir + "/" + base + suffix) }
            packsRemoved += 1
        }
        var looseRemoved = 0
        for object in loose where unlink(object.file) == 0 { looseRemoved += 1 }
        for d in 0..<fanOutDirectories { _ = rmdir(objects + "/" + Hex.encode([UInt8(d)])) }
        for ref in keptRefs { unlink(dir + "/logs/" + ref) }
        unlink(dir + "/logs/HEAD")
        generation.add(1, ordering: .releasing)
        return Outcome(packsBefore: packs.count, looseBefore: loose.count, objects: reachable.count,
                       packsRemoved: packsRemoved, looseRemoved: looseRemoved)
    }

    /// Every commit, tree and blob the kept branches reach. Git thread only.
    private static func reachableObjects(gitDir: String) throws(ShadowError) -> [ObjectID] {
        var repo: OpaquePointer?
        try gitCheck(git2.git_repository_open_ext(&repo, gitDir, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil), "cannot open the repository at \(gitDir)")
        defer { git2.git_repository_free(repo) }
        var walk: OpaquePointer?
        try gitCheck(git2.git_revwalk_new(&walk, repo), "cannot walk the history of \(gitDir)")
        defer { git2.git_revwalk_free(walk) }
        var any = false
        for ref in keptRefs {
            var oid = git_oid()
            guard git2.git_reference_name_to_id(&oid, repo, ref) == 0 else { continue }
            try gitCheck(git2.git_revwalk_push(walk, &oid), "cannot walk the history of \(gitDir)")
            any = true
        }
        guard any else { return [] }
        var out: [ObjectID] = []
        var seen = Set<ObjectID>()
        var commitID = git_oid()
        while git2.git_revwalk_next(&commitID, walk) == 0 {
            guard seen.insert(ObjectID(commitID)).inserted else { continue }
            out.append(ObjectID(commitID))
            var commit: OpaquePointer?
            try gitCheck(git2.git_commit_lookup(&commit, repo, &commitID), "cannot read commit \(ObjectID(commitID).short)")
            defer { git2.git_commit_free(commit) }
            guard let tree = git2.git_commit_tree_id(commit)?.pointee else {
                throw ShadowError(.malformedObject, "commit \(ObjectID(commitID).short) names no tree")
            }
            try addTree(tree, repo: repo, seen: &seen, into: &out, depth: 0)
        }
        return out
    }

    private static func addTree(_ id: git_oid, repo: OpaquePointer?, seen: inout Set<ObjectID>, into out: inout [ObjectID], depth: Int) throws(ShadowError) {
        guard seen.insert(ObjectID(id)).inserted else { return }
        guard depth <= GitRepository.maxTreeDepth else {
            throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
        }
        out.append(ObjectID(id))
        var oid = id
        var tree: OpaquePointer?
        try gitCheck(git2.git_tree_lookup(&tree, repo, &oid), "cannot read tree \(ObjectID(id).short)")
        defer { git2.git_tree_free(tree) }
        for i in 0..<git2.git_tree_entrycount(tree) {
            guard let entry = git2.git_tree_entry_byindex(tree, i), let child = git2.git_tree_entry_id(entry)?.pointee else { continue }
            switch git2.git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: try addTree(child, repo: repo, seen: &seen, into: &out, depth: depth + 1)
            case GIT_OBJECT_BLOB: if seen.insert(ObjectID(child)).inserted { out.append(ObjectID(child)) }
            default: throw ShadowError(.malformedObject, "tree \(ObjectID(id).short) holds an entry that is neither file nor directory")
            }
        }
    }
}
