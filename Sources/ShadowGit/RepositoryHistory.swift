@preconcurrency import Glibc
internal import CGit2
internal import CShims
public import ShadowCore

/// Objects and history: trees, blobs, commits and the walks over them.
extension GitRepository {
    /// Every blob of a tree, recursively, with its full path.
    public func entries(ofTree tree: ObjectID) throws(ShadowError) -> [TreeEntry] {
        try GitThread.shared.run { () throws(ShadowError) -> [TreeEntry] in
            var out: [TreeEntry] = []
            try walk(tree, prefix: [], into: &out, depth: 0)
            return out
        }
    }

    public func entries(ofTree tree: ObjectID, changedFrom base: ObjectID) throws(ShadowError) -> [TreeEntry] {
        try GitThread.shared.run { () throws(ShadowError) -> [TreeEntry] in
            var out: [TreeEntry] = []
            try walk(tree, base: base, prefix: [], into: &out, depth: 0)
            return out
        }
    }

    /// `walk`, skipping what `base` (a tree at the same path, if any) holds with the same id.
    func walk(_ id: ObjectID, base: ObjectID?, prefix: [UInt8], into out: inout [TreeEntry], depth: Int) throws(ShadowError) {
        guard let base else { return try walk(id, prefix: prefix, into: &out, depth: depth) }
        guard id != base else { return }
        guard depth <= GitRepository.maxTreeDepth else {
            throw ShadowError(.malformedObject, "tree nested deeper than \(GitRepository.maxTreeDepth) levels: not a ShadowSync tree")
        }
        func lookup(_ id: ObjectID) throws(ShadowError) -> OpaquePointer? {
            var oid = id.gitOID
            var tree: OpaquePointer?
            try gitCheck(git2.git_tree_lookup(&tree, handle, &oid), "cannot read tree \(id.short)")
            return tree
        }
        let tree = try lookup(id)
        defer { git2.git_tree_free(tree) }
        let old = try lookup(base)
        defer { git2.git_tree_free(old) }
        func name(_ entry: OpaquePointer) -> [UInt8] {
            guard let cName = git2.git_tree_entry_name(entry) else { return [] }
            return Array(UnsafeBufferPointer(start: cName, count: strlen(cName)).map { UInt8(bitPattern: $0) })
        }
        // What the base holds at this level: id and mode by name.
        var before: [[UInt8]: (ObjectID, UInt32)] = [:]
        for i in 0..<git2.git_tree_entrycount(old) {
            guard let entry = git2.git_tree_entry_byindex(old, i) else { continue }
            before[name(entry)] = (ObjectID(git2.git_tree_entry_id(entry)!.pointee), git2.git_tree_entry_filemode(entry).rawValue)
        }
        for i in 0..<git2.git_tree_entrycount(tree) {
            guard let entry = git2.git_tree_entry_byindex(tree, i) else { continue }
            let name = name(entry)
            let path = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
            let child = ObjectID(git2.git_tree_entry_id(entry)!.pointee)
            let mode = git2.git_tree_entry_filemode(entry).rawValue
            let old = before[name]
            if let old, old.0 == child && old.1 == mode { continue }
            switch git2.git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                let oldTree = old.flatMap { $0.1 == GIT_FILEMODE_TREE.rawValue ? $0.0 : nil }
                try walk(child, base: oldTree, prefix: path, into: &out, depth: depth + 1)
            case GIT_OBJECT_BLOB: out.append(TreeEntry(path: path, id: child, mode: git2.git_tree_entry_filemode(entry).rawValue))
            default:
                throw ShadowError(.malformedObject, "tree holds a \(PlainPath.render(path)) that is neither file nor directory (submodule?)")
            }
        }
    }

    /// Trees deeper than this are refused: ShadowSync's own have depth 4 (d/x/y/file).
    static let maxTreeDepth = 8

    func walk(_ id: ObjectID, prefix: [UInt8], into out: inout [TreeEntry], depth: Int) throws(ShadowError) {
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

    /// A blob's bytes, refused from its object header (before libgit2 inflates it) when larger than
    /// `limit`. (Whole blobs are held in memory: libgit2 cannot stream packed objects.)
    public func blob(_ id: ObjectID, limit: Int) throws(ShadowError) -> [UInt8] {
        try GitThread.shared.run { () throws(ShadowError) -> [UInt8] in try GitRepository.blobBytes(id, limit: limit, in: handle) }
    }

    // MARK: Commits

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

    /// `commit` in the repository `handle` (git thread only).
    static func readCommit(_ id: ObjectID, in handle: OpaquePointer) throws(ShadowError) -> CommitInfo {
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
    static func requireObject(_ id: ObjectID, _ type: git_object_t, limit: Int, in handle: OpaquePointer) throws(ShadowError) {
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
}
