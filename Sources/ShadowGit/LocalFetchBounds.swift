internal import CGit2
public import ShadowCore

/// A fetch from a bare repository on this machine: libgit2's local transport builds a pack by loading
/// whole every object it copies, before any id is checked. An object file swapped on the remote's disk
/// under a genuine id (the signed history pins only ids) would cost its size in memory, so every object
/// the fetch will copy is size-checked from its header first.
extension GitRepository {
    /// Largest blob or tree a fetch from a local-path remote copies: the content object of a file of
    /// about 100 GiB (its segment list, 40 bytes per segment of at least 64 KiB) fits; anything larger
    /// is not an object ShadowSync writes.
    public static let localFetchObjectLimitBytes = 64 << 20

    /// Checks, on the git thread and before a fetch from the bare repository at `remotePath`, the type
    /// and size of every object the fetch would copy: commits parent by parent from the remote's head
    /// down to the ones this repository holds, and in each new commit's tree every entry of every tree
    /// this repository does not hold yet. Returns without reading anything when the remote cannot be
    /// opened (the fetch reports an unreachable remote as it always did) or has no branch.
    func requireBoundedObjects(inLocalRemote remotePath: String) throws(ShadowError) {
        try GitThread.shared.run { () throws(ShadowError) in
            var opened: OpaquePointer?
            guard remotePath.withCString({ git2.git_repository_open_ext(&opened, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }) == 0,
                  let remote = opened else { return }
            defer { git2.git_repository_free(remote) }
            do {
                var headOID = git_oid()
                let found = git2.git_reference_name_to_id(&headOID, remote, GitRepository.branch)
                if found == GIT_ENOTFOUND.rawValue { return }
                try gitCheck(found, "cannot read the remote's \(GitRepository.branch)")
                var odb: OpaquePointer?
                try gitCheck(git2.git_repository_odb(&odb, handle), "cannot open the object database")
                defer { git2.git_odb_free(odb) }
                func here(_ id: ObjectID) -> Bool {
                    var oid = id.gitOID
                    return git2.git_odb_exists_ext(odb, &oid, 0) == 1
                }
                var seen: Set<ObjectID> = []
                func checkTree(_ id: ObjectID, depth: Int) throws(ShadowError) {
                    guard depth <= GitRepository.maxTreeDepth else {
                        throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
                    }
                    try GitRepository.requireObject(id, GIT_OBJECT_TREE, limit: GitRepository.localFetchObjectLimitBytes, in: remote)
                    var oid = id.gitOID
                    var tree: OpaquePointer?
                    try gitCheck(git2.git_tree_lookup(&tree, remote, &oid), "cannot read tree \(id.short)")
                    defer { git2.git_tree_free(tree) }
                    for i in 0..<git2.git_tree_entrycount(tree) {
                        guard let entry = git2.git_tree_entry_byindex(tree, i) else { continue }
                        let child = ObjectID(git2.git_tree_entry_id(entry)!.pointee)
                        guard seen.insert(child).inserted else { continue }
                        switch git2.git_tree_entry_type(entry) {
                        case GIT_OBJECT_TREE where !here(child):
                            try checkTree(child, depth: depth + 1)
                        case GIT_OBJECT_TREE:
                            break  // held here already: verified when it came, or written here
                        default:
                            // Read from the remote even when held here: the remote's file is the one the fetch may load.
                            try GitRepository.requireObject(child, GIT_OBJECT_BLOB, limit: GitRepository.localFetchObjectLimitBytes, in: remote)
                        }
                    }
                }
                var commits = [ObjectID(headOID)]
                while let id = commits.popLast() {
                    guard seen.insert(id).inserted, !here(id) else { continue }
                    let info = try GitRepository.readCommit(id, in: remote)
                    if !here(info.tree), seen.insert(info.tree).inserted { try checkTree(info.tree, depth: 0) }
                    commits.append(contentsOf: info.parents)
                }
            }
        }
    }
}
