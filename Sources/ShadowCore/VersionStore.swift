/// One entry of a committed tree: a blob at a path. Paths are bytes: a hostile server can send anything.
public struct TreeEntry: Equatable, Sendable {
    public let path: [UInt8]
    public let id: ObjectID
    /// Git file mode: 0o100644 for every file ShadowSync writes.
    public let mode: UInt32

    public init(path: [UInt8], id: ObjectID, mode: UInt32) {
        self.path = path
        self.id = id
        self.mode = mode
    }
}

/// A work-tree file its writer has just created, as staging needs it: the bytes written and the stat
/// taken through the descriptor that wrote them. Staging the 20,000 objects of a 10k-file import from
/// here instead of opening and reading each file again saves about 0.3 s (Docs/BENCHMARKS.md).
public struct WrittenFile: Sendable {
    public let bytes: [UInt8]
    public let stat: WorkTreeStat

    public init(bytes: [UInt8], stat: WorkTreeStat) {
        self.bytes = bytes
        self.stat = stat
    }
}

/// The fields of a stat that show a file is still the one its writer wrote: its inode, size and times
/// (a rewrite moves mtime and ctime, a replacement the inode).
public struct WorkTreeStat: Equatable, Sendable {
    public let size: UInt64
    public let mtimeSeconds: Int64
    public let mtimeNanoseconds: Int64
    public let ctimeSeconds: Int64
    public let ctimeNanoseconds: Int64
    public let device: UInt64
    public let inode: UInt64

    public init(size: UInt64, mtimeSeconds: Int64, mtimeNanoseconds: Int64, ctimeSeconds: Int64, ctimeNanoseconds: Int64,
                device: UInt64, inode: UInt64) {
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeSeconds = ctimeSeconds
        self.ctimeNanoseconds = ctimeNanoseconds
        self.device = device
        self.inode = inode
    }
}

/// A small directory of a tree read whole: its tree id (equal ids, equal contents) and its blobs.
public struct DirectoryBlobs: Sendable {
    public struct Blob: Sendable {
        public let name: [UInt8]
        public let id: ObjectID
        public let bytes: [UInt8]

        public init(name: [UInt8], id: ObjectID, bytes: [UInt8]) {
            self.name = name
            self.id = id
            self.bytes = bytes
        }
    }
    public let tree: ObjectID
    public let blobs: [Blob]

    public init(tree: ObjectID, blobs: [Blob]) {
        self.tree = tree
        self.blobs = blobs
    }
}

/// What the engine needs to know about a commit to verify it.
public struct CommitInfo: Equatable, Sendable {
    public let id: ObjectID
    public let tree: ObjectID
    public let parents: [ObjectID]
    public let message: String
    /// The signature stored in the `shdwsig` header field, and the bytes it covers; nil if unsigned.
    public let signature: String?
    public let signedData: [UInt8]?

    /// The largest commit object a store reads, header and message included (FORMAT.md §5.1): a
    /// ShadowSync commit is under 1 KiB, and a bigger one is refused from its object header before a
    /// byte of it is loaded, so a server cannot make a reader allocate what it likes.
    public static let maximumBytes = 64 * 1024

    public init(id: ObjectID, tree: ObjectID, parents: [ObjectID], message: String, signature: String?, signedData: [UInt8]?) {
        self.id = id
        self.tree = tree
        self.parents = parents
        self.message = message
        self.signature = signature
        self.signedData = signedData
    }
}

/// The folder's own history on this machine (the shadow repository): staging, objects, commits,
/// references and checkout. A git repository in production. Implementations confine their library to
/// their own thread; every method blocks until done.
public protocol LocalHistory: AnyObject {
    /// Stages the whole shadow work tree and returns its tree id.
    func stageAll() throws(ShadowError) -> ObjectID
    /// Stages just these work-tree paths (a missing file is staged as removed) and returns the index's
    /// tree: the cost is per changed object, not per object in the tree. A path in `written` is staged
    /// from the bytes given there instead of being read back, but only while a fresh stat of the file
    /// still matches the writer's (anything that rewrote it since makes staging read it).
    func stage(_ paths: [String], written: [String: WrittenFile]) throws(ShadowError) -> ObjectID
    /// Every blob of a tree with its full path, recursively.
    func entries(ofTree tree: ObjectID) throws(ShadowError) -> [TreeEntry]
    /// The blobs of `tree` that `base` does not hold at the same path with the same id, recursively:
    /// subtrees the two share are skipped, so the cost follows the difference, not the tree.
    func entries(ofTree tree: ObjectID, changedFrom base: ObjectID) throws(ShadowError) -> [TreeEntry]
    /// A blob's bytes; refuses blobs larger than `limit`.
    func blob(_ id: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]
    /// The blob `name` at the top of `tree` (nil if absent), read with `limit` bytes at most; the tree
    /// and the blob are size-checked before loading.
    func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]?
    /// The blobs directly inside the directory `name` at the top of `tree` (nil when there is no such
    /// directory), each read with `limit` bytes at most, `maximumCount` of them at most. Anything but a
    /// blob there is refused.
    func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs?
    /// Creates (does not publish) a commit signed by `sign`, which receives the exact signed bytes.
    func createCommit(tree: ObjectID, parents: [ObjectID], message: String,
                      sign: ([UInt8]) throws(ShadowError) -> String) throws(ShadowError) -> ObjectID
    func commit(_ id: ObjectID) throws(ShadowError) -> CommitInfo
    func reference(_ name: String) throws(ShadowError) -> ObjectID?
    /// Compare-and-swap: moves `name` only if it still points at `expected` (nil: must not exist).
    func setReference(_ name: String, to id: ObjectID, expecting expected: ObjectID?) throws(ShadowError)
    func isDescendant(_ descendant: ObjectID, of ancestor: ObjectID) throws(ShadowError) -> Bool
    func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(ShadowError) -> ObjectID?
    /// `tree` without `paths` (object paths of files or directories; absent ones are ignored): the
    /// tree of a commit re-created by a rewrite that forgets them.
    func tree(_ tree: ObjectID, removing paths: [String]) throws(ShadowError) -> ObjectID
    /// Commits reachable from `head` and not from `known`, parents before children.
    func commits(from head: ObjectID, excluding known: ObjectID?) throws(ShadowError) -> [ObjectID]
    /// Makes the work tree and index exactly the tree of `commit` (files of other commits removed,
    /// ignored files such as the key file left alone). Moves no reference.
    func checkout(_ commit: ObjectID) throws(ShadowError)
    /// A commit named by full or abbreviated id, or a revision expression such as `main~3`.
    func resolve(_ revision: String) throws(ShadowError) -> ObjectID
    /// Removes the lock files a process killed mid-update left (a ref's, the index's): each would stop
    /// every later update until removed by hand. Call only as the repository's one writer (holding the
    /// folder's instance lock), when any lock file found is stale.
    func removeStaleLocks()
}

/// Where a history is published and read back from: one implementation per transport (a bare
/// repository on this machine, SSH). A fetch brings the remote's branch into the local history's
/// tracking ref (`ShadowRefs.remoteTracking`); a push publishes its `ShadowRefs.main`.
public protocol Remote: AnyObject {
    /// Fetches the remote branch; returns its head (nil: the remote is empty).
    func fetch() throws(ShadowError) -> ObjectID?
    /// Pushes fast-forward only; `.nonFastForward` when the remote moved on. `head` (when given) is the
    /// local head the caller verified: if the branch names another commit, nothing is pushed
    /// (`.foreignLocalCommit`).
    func push(expecting head: ObjectID?) throws(ShadowError)
    /// Pushes the local branch over the remote's head `old`, which it does not contain: a signed
    /// rewrite (FORMAT.md §5.4). `.nonFastForward` when the remote's head is not `old` any more;
    /// `.foreignLocalCommit` when the local branch is not `head`.
    func push(expecting head: ObjectID, replacing old: ObjectID) throws(ShadowError)
    /// Connects as a fetch does (host key, authentication, repository) and returns the remote branch's
    /// head, nil when the repository is empty. Changes nothing on either side.
    func probe() throws(ShadowError) -> ObjectID?
    /// The remote branch's head commit read where it is, before a fetch copies anything; nil for an
    /// empty remote, for a transport that cannot read in place, or when the fetch would copy nothing
    /// (the tracking ref already names it). Refuses a commit over `CommitInfo.maximumBytes`.
    func headBeforeFetch() throws(ShadowError) -> CommitInfo?
    /// `LocalHistory.topLevelBlob` read in the remote's own repository; throws for a transport that
    /// cannot read in place.
    func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]?
    /// `LocalHistory.directoryBlobs` read in the remote's own repository; throws for a transport that
    /// cannot read in place.
    func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs?
}

/// The store the engine works against: the local history, and the remote it syncs with.
public protocol VersionStore: LocalHistory {
    /// The remote named by the history's configuration, through the transport its address calls for.
    func remote() throws(ShadowError) -> any Remote
}

/// The one branch ShadowSync writes, locally and on the remote.
public enum ShadowRefs {
    public static let main = "refs/heads/main"
    /// Where a fetch leaves the remote's branch.
    public static let remoteTracking = "refs/remotes/origin/main"
}
