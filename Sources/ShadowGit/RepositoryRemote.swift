@preconcurrency import Glibc
import Synchronization
internal import CGit2
internal import CShims
public import ShadowCore

/// The `origin` remote: its address, and the libgit2 work of fetch, push and probe that the `Remote`s
/// (LocalBareRemote, SSHRemote) call with a session of their own.
extension GitRepository {
    /// The main commit of the repository at `path` (a local remote) read in place: a fetch from one
    /// copies every object it needs through libgit2's pack builder, which loads each one whole, so the
    /// head is checked before anything is copied. Nil for an empty remote (a commit over
    /// `CommitInfo.maximumBytes` throws, as `commit` does).
    static func readHead(ofLocalRemote path: String) throws(ShadowError) -> CommitInfo? {
        try GitThread.shared.run { () throws(ShadowError) -> CommitInfo? in
            var repo: OpaquePointer?
            let rc = path.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
            guard rc == 0 else { return nil }  // the fetch reports an unreachable remote as it always did
            defer { git2.git_repository_free(repo) }
            var oid = git_oid()
            let found = git2.git_reference_name_to_id(&oid, repo, GitRepository.branch)
            if found == GIT_ENOTFOUND.rawValue { return nil }
            try gitCheck(found, "cannot read the remote's \(GitRepository.branch)")
            return try GitRepository.readCommit(ObjectID(oid), in: repo!)
        }
    }

    /// The blob `name` at the top of `tree` (no subdirectory), or nil if there is none. The tree and the
    /// blob are size-checked before loading.
    public func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]? {
        try topLevelBlob(name, ofTree: tree, limit: limit, inRepositoryAt: nil)
    }

    /// `topLevelBlob` in the repository at `remotePath` (a local remote), or in this one when nil.
    func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int, inRepositoryAt remotePath: String?) throws(ShadowError) -> [UInt8]? {
        try GitThread.shared.run { () throws(ShadowError) -> [UInt8]? in
            try withRepository(at: remotePath) { (repo) throws(ShadowError) -> [UInt8]? in
                try GitRepository.requireObject(tree, GIT_OBJECT_TREE, limit: GitRepository.topTreeLimitBytes, in: repo)
                var oid = tree.gitOID
                var treeObject: OpaquePointer?
                try gitCheck(git2.git_tree_lookup(&treeObject, repo, &oid), "cannot read tree \(tree.short)")
                defer { git2.git_tree_free(treeObject) }
                for i in 0..<git2.git_tree_entrycount(treeObject) {
                    guard let entry = git2.git_tree_entry_byindex(treeObject, i), git2.git_tree_entry_type(entry) == GIT_OBJECT_BLOB,
                          let entryName = git2.git_tree_entry_name(entry), String(cString: entryName) == name else { continue }
                    return try GitRepository.blobBytes(ObjectID(git2.git_tree_entry_id(entry)!.pointee), limit: limit, in: repo)
                }
                return nil
            }
        }
    }

    /// The blobs directly inside the directory `name` at the top of `tree`, or nil if there is none.
    public func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs? {
        try directoryBlobs(name, ofTree: tree, limit: limit, maximumCount: maximumCount, inRepositoryAt: nil)
    }

    /// `directoryBlobs` in the repository at `remotePath` (a local remote), or in this one when nil. Every
    /// tree and blob is size-checked before loading.
    func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int,
                        inRepositoryAt remotePath: String?) throws(ShadowError) -> DirectoryBlobs? {
        try GitThread.shared.run { () throws(ShadowError) -> DirectoryBlobs? in
            try withRepository(at: remotePath) { (repo) throws(ShadowError) -> DirectoryBlobs? in
                try GitRepository.requireObject(tree, GIT_OBJECT_TREE, limit: GitRepository.topTreeLimitBytes, in: repo)
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
                try GitRepository.requireObject(directory, GIT_OBJECT_TREE, limit: maximumCount * GitRepository.treeEntryLimitBytes, in: repo)
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
                    blobs.append(DirectoryBlobs.Blob(name: entryName, id: id, bytes: try GitRepository.blobBytes(id, limit: limit, in: repo)))
                }
                return DirectoryBlobs(tree: directory, blobs: blobs)
            }
        }
    }

    /// Runs `body` with the repository at `remotePath` opened for it (a local remote), or with this one
    /// when nil. Call on the git thread.
    private func withRepository<T>(at remotePath: String?, _ body: (OpaquePointer) throws(ShadowError) -> T) throws(ShadowError) -> T {
        guard let remotePath else { return try body(handle) }
        var repo: OpaquePointer?
        let rc = remotePath.withCString { git2.git_repository_open_ext(&repo, $0, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) }
        try gitCheck(rc, "cannot open the remote repository \(remotePath)")
        defer { git2.git_repository_free(repo) }
        return try body(repo!)
    }

    /// A blob's bytes, its type and size checked from the object header before it is loaded. Call on the git thread.
    static func blobBytes(_ id: ObjectID, limit: Int, in repo: OpaquePointer) throws(ShadowError) -> [UInt8] {
        try requireObject(id, GIT_OBJECT_BLOB, limit: limit, in: repo)
        var blobID = id.gitOID
        var blob: OpaquePointer?
        try gitCheck(git2.git_blob_lookup(&blob, repo, &blobID), "cannot read object \(id.short)")
        defer { git2.git_blob_free(blob) }
        let size = Int(git2.git_blob_rawsize(blob))
        guard size > 0, let raw = git2.git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }

    /// The most one tree entry takes: a mode, a 255-byte name and a 20-byte id.
    static let treeEntryLimitBytes = 300

    /// A vault's top-level tree holds three entries (`vault.json`, `.gitattributes`, `d`): about 120 bytes.
    static let topTreeLimitBytes = 4096

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

    /// The remote `origin` names, through the transport its address calls for.
    public func remote() throws(ShadowError) -> any Remote {
        GitRemotes.remote(for: try remoteAddress(), local: LocalRepository(self))
    }

    /// Fetches through `remote()`, for a caller holding the repository itself.
    @discardableResult
    public func fetch() throws(ShadowError) -> ObjectID? { try remote().fetch() }

    /// Pushes through `remote()`, for a caller holding the repository itself.
    public func push(expecting head: ObjectID? = nil) throws(ShadowError) { try remote().push(expecting: head) }

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

    /// Fetches the remote's main branch into refs/remotes/origin/main through libgit2; returns its commit
    /// (nil: empty remote).
    func fetchOrigin(_ session: RemoteSession) throws(ShadowError) -> ObjectID? {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
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

    func applyPackSettings() throws(ShadowError) {
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

    /// Pushes the local main branch through libgit2, fast-forward only. Throws `.nonFastForward` when the
    /// remote has commits not merged here. `head`: the commit the caller checked; if main names another
    /// one by now, nothing is pushed (`.foreignLocalCommit`).
    func pushOrigin(_ session: RemoteSession, expecting head: ObjectID?, replacing old: ObjectID? = nil) throws(ShadowError) {
        try GitThread.shared.run { () throws(ShadowError) in
            // The packbuilder reads main again itself: this narrows to microseconds the window in
            // which a commit made meanwhile by someone else would be sent unchecked.
            if let head, let now = try reference(GitRepository.branch) { try GitRepository.requireUnmoved(now, expected: head) }
            try applyPackSettings()
            let remote = try originRemote()
            var opts = git_push_options()
            _ = git2.git_push_options_init(&opts, UInt32(GIT_PUSH_OPTIONS_VERSION))
            session.install(&opts.callbacks)
            let rc: Int32
            if let old {
                rc = try forcePush(remote, session, &opts, replacing: old)
            } else {
                rc = try withStrArray(["\(GitRepository.branch):\(GitRepository.branch)"]) { (specs) throws(ShadowError) -> Int32 in
                    session.network { git2.git_remote_push(remote, specs, &opts) }
                }
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
                // receive-pack never updates a checked-out branch: as for a local remote, no retry can publish there.
                if status.contains("branch is currently checked out") {
                    throw ShadowError(.repositoryFailure, "the remote \(session.address.url) is a repository with a work tree (not bare), and its server refused to update the checked-out branch: ShadowSync syncs only through a bare repository",
                                      advice: "on the server, make a bare copy ('git clone --bare REPO NEW.git', or 'git init --bare NEW.git' for a new vault) and point the folder at it with 'shadowsync config set remote URL'; the folder keeps every file")
                }
                session.serverMessages += "\n" + status
                throw session.failure(GIT_ERROR.rawValue, "cannot push to the remote")
            }
        }
    }

    /// A forced update of main that succeeds only over `old`. The head is read from the push connection's
    /// own advertisement, and receive-pack updates the ref only if it still holds the value that
    /// advertisement named (the old id travels in the update command), so a push another machine makes
    /// meanwhile is refused, never overwritten. Runs on the git thread.
    private func forcePush(_ remote: OpaquePointer?, _ session: RemoteSession, _ opts: inout git_push_options, replacing old: ObjectID) throws(ShadowError) -> Int32 {
        let connected = session.network { git2.git_remote_connect(remote, GIT_DIRECTION_PUSH, &opts.callbacks, nil, nil) }
        if connected < 0 { throw session.failure(connected, "cannot connect to the remote") }
        defer { _ = git2.git_remote_disconnect(remote) }
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try gitCheck(git2.git_remote_ls(&heads, &count, remote), "cannot list the remote's branches")
        var now: ObjectID?
        for i in 0..<count {
            guard let h = heads?[i]?.pointee, let name = h.name, String(cString: name) == GitRepository.branch else { continue }
            now = ObjectID(h.oid)
        }
        guard now == old else {
            throw ShadowError(.nonFastForward, "the remote's \(GitRepository.branch) is \(now?.short ?? "empty"), not \(old.short), the head this rewrite replaces",
                              advice: "nothing was replaced; sync, then run the command again")
        }
        return try withStrArray(["+\(GitRepository.branch):\(GitRepository.branch)"]) { (specs) throws(ShadowError) -> Int32 in
            session.network {
                let uploaded = git2.git_remote_upload(remote, specs, &opts)
                if uploaded < 0 { return uploaded }
                return git2.git_remote_update_tips(remote, &opts.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_UNSPECIFIED, nil)
            }
        }
    }

    /// Refuses a push when main moved since the caller checked the commits it is about to publish.
    static func requireUnmoved(_ now: ObjectID, expected: ObjectID) throws(ShadowError) {
        guard now != expected else { return }
        throw ShadowError(.foreignLocalCommit, "the shadow repository's \(branch) moved from \(expected.short) to \(now.short) while this machine prepared a push (someone ran git there?); nothing was pushed",
                          advice: "run 'shadowsync repair': it puts the shadow repository back on the last commit ShadowSync made; the folder keeps every file")
    }

    /// Connects to the remote as fetch does (host key, authentication, repository) and returns its main
    /// branch head, nil when the repository is empty. Changes nothing on either side.
    func probeOrigin(_ session: RemoteSession) throws(ShadowError) -> ObjectID? {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
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
