#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CGit2
public import ShadowCore
import ShadowSystem
import Synchronization

/// Keeps a repository's objects in few files, as `git gc --auto` would: every push to a local bare
/// repository adds a pack and every small commit adds loose objects, and after 1,500 syncs the lookups
/// through 1,502 packs and 11,421 loose files had doubled the time of each sync (Docs/BENCHMARKS.md).
///
/// Consolidation copies every object present (packed or loose, reachable or not: nothing is judged
/// garbage, so nothing a reader might still need is lost), except those of a pack much larger than the
/// rest, which stays as it is, into one new pack of stored objects written
/// by `PackWriter`, makes it durable, checks its index lists them all, and only then removes the old
/// packs and loose files it replaced: a pack not read, a pack with a `.keep` file, and anything that
/// appeared meanwhile stay. A concurrent reader that misses an object in a removed pack looks again
/// and finds it in the new one (git and libgit2 both re-scan the pack directory on a miss).
/// Stored, not deflated, and without deltas (not libgit2's packbuilder): the blobs are ciphertext,
/// which neither compresses nor deltas, and packbuilder spent a quarter of an import deflating them.
public enum ObjectConsolidation {
    /// git's `gc.auto`: loose objects tolerated before they are packed.
    public static let defaultLooseObjectLimit = 6700
    /// git's `gc.autoPackLimit`: packs tolerated before they are merged into one.
    public static let defaultPackLimit = 50
    static let lockName = "shadowsync-consolidate.lock"
    /// A pack holding at least this many times the objects of all the others is left as it is.
    static let keptPackFactor = 2
    /// git's sample directory for estimating loose objects (its `gc --auto` counts `objects/17` × 256).
    static let sampleDirectory = "17"
    static let fanOutDirectories = 256
    /// Below this limit the loose objects are counted exactly: a sample of one directory in 256 only
    /// estimates well when the limit is large.
    static let exactCountBelow = 256 * 20

    /// Counts consolidations that removed files in this process; a `DeferredGitStore` opened before
    /// one reopens its repository.
    static let generation = Atomic(0)

    /// When consolidation is due. SHADOWSYNC_LOOSE_OBJECT_LIMIT and SHADOWSYNC_PACK_LIMIT lower the
    /// thresholds, so tests reach them in a few dozen syncs.
    public struct Limits: Sendable, Equatable {
        public var looseObjects: Int
        public var packs: Int

        public init(looseObjects: Int = ObjectConsolidation.defaultLooseObjectLimit, packs: Int = ObjectConsolidation.defaultPackLimit) {
            self.looseObjects = looseObjects
            self.packs = packs
        }

        public static let fromEnvironment: Limits = {
            func value(_ name: String) -> Int? {
                getenv(name).flatMap { Int(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil }
            }
            return Limits(looseObjects: value("SHADOWSYNC_LOOSE_OBJECT_LIMIT") ?? defaultLooseObjectLimit,
                          packs: value("SHADOWSYNC_PACK_LIMIT") ?? defaultPackLimit)
        }()
    }

    /// What a consolidation did.
    public struct Outcome: Sendable, Equatable {
        public let packsBefore: Int
        public let looseBefore: Int
        public let objects: Int
        public let packsRemoved: Int
        public let looseRemoved: Int
    }

    /// Whether the repository whose git directory is `gitDir` holds more packs or loose objects than
    /// `limits` allow. Costs one directory listing and one (or, for small limits, 256) more.
    public static func isDue(gitDir: String, limits: Limits = .fromEnvironment) -> Bool {
        let objects = gitDir + "/objects"
        if PackIndex.names(in: objects + "/pack").count > limits.packs { return true }
        if limits.looseObjects < exactCountBelow { return looseObjects(in: objects).count > limits.looseObjects }
        let sample = looseNames(in: objects + "/" + sampleDirectory).count
        return sample * fanOutDirectories > limits.looseObjects
    }

    /// Consolidates now if `isDue`; nil when it was not due, or another process is consolidating it.
    public static func consolidateIfDue(gitDir: String, limits: Limits = .fromEnvironment) throws(ShadowError) -> Outcome? {
        guard isDue(gitDir: gitDir, limits: limits) else { return nil }
        return try consolidate(gitDir: gitDir)
    }

    /// Rewrites the objects of the repository at `gitDir` (a bare repository, or a work tree's `.git`)
    /// into one pack, beside its largest pack when that holds most of them, and removes the files it replaced. Nil when another process holds the
    /// consolidation lock or there is nothing to merge.
    public static func consolidate(gitDir: String) throws(ShadowError) -> Outcome? {
        let objects = gitDir + "/objects"
        let packDir = objects + "/pack"
        guard let lock = ConsolidationLock(packDir + "/" + lockName) else { return nil }
        defer { lock.release() }

        // What exists now; anything written after this listing is left alone.
        var packs: [(base: String, ids: [ObjectID])] = []
        for name in PackIndex.names(in: packDir) {
            let base = String(name.dropLast(PackIndex.indexSuffix.count))
            if FileSystem.exists(BytePath(packDir + "/" + base + ".keep")) { continue }
            guard let ids = PackIndex.objectIDs(packDir + "/" + name) else { continue }  // too large, or not version 2
            packs.append((base, ids))
        }
        let loose = looseObjects(in: objects)
        // The largest pack stays when it holds twice what all the rest do (the first import's, say): each
        // consolidation then rewrites the recent history, not all of it, as git's `repack --geometric`.
        if let largest = packs.indices.max(by: { packs[$0].ids.count < packs[$1].ids.count }),
           packs[largest].ids.count >= keptPackFactor * (packs.reduce(0) { $0 + $1.ids.count } - packs[largest].ids.count + loose.count) {
            packs.remove(at: largest)
        }
        guard packs.count > 1 || !loose.isEmpty else { return nil }
        var all: [ObjectID] = []
        var seen = Set<ObjectID>()
        for id in packs.lazy.flatMap(\.ids) + loose.lazy.map(\.id) where seen.insert(id).inserted { all.append(id) }

        let newBase = try GitThread.shared.run { () throws(ShadowError) -> String in
            try writePack(of: all, gitDir: gitDir, packDir: packDir)
        }
        guard let written = PackIndex.objectIDs(packDir + "/" + newBase + PackIndex.indexSuffix), Set(written).isSuperset(of: seen) else {
            throw ShadowError(.repositoryFailure, "the consolidated pack \(newBase) in \(packDir) does not list every object it was given; the old packs were kept",
                              advice: "run 'git fsck' in that repository; the next consolidation tries again")
        }
        // The new pack durable before anything it replaces is removed.
        try FileSystem.flushFileSystem(holding: BytePath(packDir))
        CrashPoint.reached("consolidate-written")

        var packsRemoved = 0
        for pack in packs where pack.base != newBase && seen.isSuperset(of: pack.ids) {
            // The index first: a reader sees a pack only through its index, so none starts on this one.
            for suffix in [PackIndex.indexSuffix, ".pack", ".rev", ".bitmap"] { unlink(packDir + "/" + pack.base + suffix) }
            packsRemoved += 1
        }
        var looseRemoved = 0
        for object in loose where unlink(object.file) == 0 { looseRemoved += 1 }
        for d in 0..<fanOutDirectories { _ = rmdir(objects + "/" + hexByte(d)) }  // only the empty ones go
        generation.add(1, ordering: .releasing)
        return Outcome(packsBefore: packs.count, looseBefore: loose.count, objects: all.count,
                       packsRemoved: packsRemoved, looseRemoved: looseRemoved)
    }

    /// Copies `ids` out of the repository at `gitDir` into one new pack in `packDir`; returns its name.
    /// Git thread only.
    static func writePack(of ids: [ObjectID], gitDir: String, packDir: String) throws(ShadowError) -> String {
        var repo: OpaquePointer?
        try gitCheck(git2.git_repository_open_ext(&repo, gitDir, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil), "cannot open the repository at \(gitDir)")
        defer { git2.git_repository_free(repo) }
        var odb: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&odb, repo), "cannot open the objects of \(gitDir)")
        defer { git2.git_odb_free(odb) }
        let pack = try PackWriter(packDirectory: packDir, count: ids.count)
        for id in ids {
            var oid = id.gitOID
            var object: OpaquePointer?
            try gitCheck(git2.git_odb_read(&object, odb, &oid), "cannot read object \(id.short) in \(gitDir)")
            defer { git2.git_odb_object_free(object) }
            let kind: PackWriter.Kind
            switch git2.git_odb_object_type(object) {
            case GIT_OBJECT_COMMIT: kind = .commit
            case GIT_OBJECT_TREE: kind = .tree
            case GIT_OBJECT_BLOB: kind = .blob
            default:
                throw ShadowError(.malformedObject, "object \(id.short) in \(gitDir) is neither commit, tree nor blob: not a ShadowSync repository",
                                  advice: "consolidate it with 'git gc' instead")
            }
            try pack.add(kind, id: oid, UnsafeRawBufferPointer(start: git2.git_odb_object_data(object), count: git2.git_odb_object_size(object)))
        }
        return try pack.finish()
    }

    /// Every loose object file under `objects` (fan-out directory, 38 hex digits).
    static func looseObjects(in objects: String) -> [(id: ObjectID, file: String)] {
        var out: [(id: ObjectID, file: String)] = []
        for d in 0..<fanOutDirectories {
            let dir = hexByte(d)
            for name in looseNames(in: objects + "/" + dir) {
                if let id = ObjectID(hex: dir + name) { out.append((id, objects + "/" + dir + "/" + name)) }
            }
        }
        return out
    }

    private static func looseNames(in directory: String) -> [String] {
        let names = (try? FileSystem.list(BytePath(directory))) ?? []
        return names.compactMap { bytes in
            bytes.count == 38 && bytes.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) ? String(decoding: bytes, as: UTF8.self) : nil
        }
    }

    private static func hexByte(_ value: Int) -> String { Hex.encode([UInt8(value)]) }
}

/// An flock on a lock file that keeps two processes from consolidating one repository at once. The
/// kernel drops it when its holder exits or is killed, so a killed run never blocks the next one and a
/// consolidation that takes long never loses it.
extension ObjectConsolidation {
    /// Seconds a push to a local bare repository waits for a consolidation or reclaim of it to finish.
    static let pushLockWaitSeconds = 120.0

    /// The consolidation lock of the repository whose pack directory is `packDirectory`, taken by a push
    /// so that a reclaim never removes objects the push is about to name.
    static func lockForPush(packDirectory: String) throws(ShadowError) -> FileLock {
        do {
            return try FileLock(BytePath(packDirectory + "/" + lockName), waitSeconds: pushLockWaitSeconds)
        } catch {
            guard error.code == .locked else { throw error }
            throw ShadowError(.remoteUnavailable, "the remote repository \(packDirectory) is being repacked by another ShadowSync process, still after \(Int(pushLockWaitSeconds)) s",
                              advice: "nothing to do: nothing was pushed, and the next sync tries again")
        }
    }
}

struct ConsolidationLock {
    private let lock: FileLock

    /// Nil when another process (or another consolidation in this one) holds it.
    init?(_ path: String) {
        guard let lock = try? FileLock(BytePath(path)) else { return nil }
        self.lock = lock
    }

    /// Keeps the lock until here; it is let go when this value goes. The file stays: removing it would
    /// let a second process lock a new file while the first still holds the old one.
    func release() { withExtendedLifetime(lock) {} }
}
