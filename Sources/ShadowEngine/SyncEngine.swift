public import ShadowCore
public import ShadowCrypto
import ShadowSystem

public struct SyncOptions: Sendable {
    /// Let a sync commit the deletion of most files at once (the mass-delete guard otherwise stops it).
    public var allowMassDelete = false
    /// Rounds of fetch-merge-push when another agent keeps winning the push race: each round one agent
    /// wins, so this is enough for a dozen agents pushing at the same moment.
    public var maxPushAttempts = 12
    /// Waits before retrying a fetch or push that failed transiently (remote unreachable), in seconds:
    /// a dropped connection or a restarting sshd usually recovers within seconds; anything longer is
    /// left to the next sync (exit 3) or the daemon's own backoff.
    public var transientRetryDelays: [Double] = [0.5, 1.5]
    /// Told which step a pass is in, for a daemon's status; called on the syncing thread.
    public var onPhase: (@Sendable (SyncPhase) -> Void)?
    /// Told after each file encrypted while committing (the first import of a large folder takes a while).
    public var onProgress: (@Sendable (SyncProgress) -> Void)?
    /// Told how far a fetch or push has got (bytes and objects), from the thread that moves them.
    public var onTransfer: TransferMeter.Observer?

    /// Which version keeps its path when a file already here (never synced) differs from the one arriving:
    /// by default the newer one, the older becoming the conflict copy (`join --prefer-local/--prefer-remote`).
    public var existingFiles: ExistingFilePreference = .newer
    /// Commit even with no change in the folder: device files written into the shadow tree (an invite)
    /// are published by this pass.
    public var publishDevices = false

    /// Take a server head that forked from the last verified one (neither contains the other) and merge
    /// both histories (`sync --accept-fork`). Every commit of the other line is still verified; a head
    /// that only rolls back is refused as ever.
    public var acceptFork = false
    /// Re-encrypt every entry of the folder under the newest key epoch (`key rotate --reencrypt`), not
    /// only what changed.
    public var reencrypt = false

    /// The paths a running agent's watcher saw change since its last pass, each with whether everything
    /// below it changed too (a directory created, moved or deleted): the pass scans only these (and
    /// their parent directories) instead of the whole folder. Nil: scan everything. The engine scans
    /// everything anyway on its first pass, after a failed one, and when an ignore file is among them.
    public var changedPaths: [PlainPath: Bool]?

    /// When the server's head is a commit no writer made (unsigned, tampered, signed by a revoked or
    /// unknown device), commit on top of the last verified history and push that over it, with a
    /// rewrite record naming the refused head (`sync --replace-refused`, FORMAT.md §5.4).
    public var replaceRefused = false
    /// `replaceRefused` only for a head signed by a device revoked in its own history: the daemon's
    /// passes, where the refusal is certain and waiting for a person gains nothing.
    public var replaceRevokedHeads = false

    public init(allowMassDelete: Bool = false, maxPushAttempts: Int = 12, transientRetryDelays: [Double] = [0.5, 1.5]) {
        self.allowMassDelete = allowMassDelete
        self.maxPushAttempts = maxPushAttempts
        self.transientRetryDelays = transientRetryDelays
    }
}

/// Which of two versions of a path keeps it when a file here that was never synced meets an incoming one.
public enum ExistingFilePreference: Sendable {
    /// The one modified later (ties: the larger device id), as in any content conflict.
    case newer
    /// The file already here.
    case local
    /// The incoming version.
    case remote
}

/// How far the files of one commit are encrypted: the figures of a progress display.
public struct SyncProgress: Sendable {
    public var files = 0, totalFiles = 0
    public var bytes: UInt64 = 0, totalBytes: UInt64 = 0
    /// Monotonic seconds when the commit started, for the rate and the ETA.
    public var startedAt = 0.0

    public var bytesPerSecond: Double { let t = monotonicSeconds() - startedAt; return t > 0 ? Double(bytes) / t : 0 }
    /// Seconds left at the pace so far, nil until there is one. The share done averages files and bytes:
    /// many small files cost per file, large ones per byte.
    public var secondsLeft: Double? {
        let byFiles = totalFiles > 0 ? Double(files) / Double(totalFiles) : 1
        let byBytes = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : byFiles
        let done = (byFiles + byBytes) / 2
        guard done > 0 else { return nil }
        return (monotonicSeconds() - startedAt) * (1 - done) / done
    }
}

/// The step a pass is in (what `shadowsync status` shows while a daemon syncs).
public enum SyncPhase: String, Sendable {
    case scanning, committing, fetching, applying, pushing
}

/// What one pass did, for the command line and the tests.
public struct SyncReport: Sendable {
    /// Local changes committed, as "+ path", "M path", "- path".
    public var committed: [String] = []
    /// Remote changes written into the plaintext folder.
    public var applied: [String] = []
    public var conflicts: [ConflictRecord] = []
    public var pushed = false
    public var head: ObjectID?
    /// Local changes a read-only member cannot push.
    public var notPushed: [String] = []
    /// Files that changed while being read; the next pass takes them.
    public var retryLater: [String] = []
    /// Entries left out, with the reason.
    public var skipped: [String] = []
    public var readOnly = false
    /// The server's head a join adopted, as its signed metadata tells it (join only).
    public var joined: JoinedHead?
    /// A refused head on the server that this pass replaced by a signed rewrite (`replaceRefused`).
    public var replacedRefused: ObjectID?
    /// The server's head this pass moved onto from a rewritten history (FORMAT.md §5.4): the objects
    /// of the replaced history can go.
    public var followedRewrite: ObjectID?
}

/// The server's newest commit when a machine joins: who made it and when. A join trusts the first head
/// it is shown, so an old one is worth a warning: a server can keep serving an old, validly signed head.
public struct JoinedHead: Equatable, Sendable {
    public let commit: ObjectID
    /// The first 8 hex digits of the device id, as `log` shows it.
    public let deviceID: String
    public let wallTimeMillis: UInt64

    /// A head older than this when joining is reported as stale: 30 days.
    public static let staleAfterSeconds: UInt64 = 30 * 24 * 3600

    public init(commit: ObjectID, deviceID: String, wallTimeMillis: UInt64) {
        self.commit = commit
        self.deviceID = deviceID
        self.wallTimeMillis = wallTimeMillis
    }

    /// Whole days between the commit's time and `nowMillis` (0 for a commit dated in the future).
    public func ageDays(nowMillis: UInt64) -> UInt64 { nowMillis > wallTimeMillis ? (nowMillis - wallTimeMillis) / 86_400_000 : 0 }

    public func isStale(nowMillis: UInt64) -> Bool {
        nowMillis > wallTimeMillis && (nowMillis - wallTimeMillis) / 1000 > JoinedHead.staleAfterSeconds
    }

    public var isStaleNow: Bool { isStale(nowMillis: Clock.nowMillis()) }
    public var ageDaysNow: UInt64 { ageDays(nowMillis: Clock.nowMillis()) }
}

/// Local changes found by a scan, before anything is written.
struct LocalPlan {
    /// Index entries that stay, with what changed about them (a new stat, now absent). Entries that
    /// stay as they are appear nowhere, so a no-op scan builds no table of the whole folder.
    var refreshed: [PlainPath: IndexEntry] = [:]
    /// Index paths that were scanned but changed kind or content: their entries are replaced by what the
    /// commit writes (or restored if it cannot read them).
    var replaced: [PlainPath] = []
    /// A file whose content must be encrypted, with the lineage file id it inherits and its scanned stat.
    typealias Encrypt = (path: PlainPath, fileID: FileID, executable: Bool, stat: StatKey, metadata: EntryMetadata)
    /// Files whose content must be encrypted.
    var encrypt: [Encrypt] = []
    /// Directories and symlinks that are new or changed.
    var records: [PlainPath: SyncedEntry] = [:]
    /// Files whose content is as synced but whose mode or modification time changed: a new record only.
    var fileRecords: [PlainPath: IndexEntry] = [:]
    var deleted: [PlainPath] = []
    /// Deleted paths whose file reappeared under another path (same inode): renamed, not vanished.
    var renamedAway: Set<PlainPath> = []
    /// Entries left out while ignored that no rule covers any more: written from the tree again.
    var unignored: [PlainPath] = []
    var statsRefreshed = false
    var isEmpty: Bool { encrypt.isEmpty && records.isEmpty && fileRecords.isEmpty && deleted.isEmpty }

    /// The index after this plan, before the commit adds what it wrote: every entry that stays, with
    /// its refreshed stat; deleted and replaced paths left out.
    func nextEntries(from entries: [PlainPath: IndexEntry]) -> [PlainPath: IndexEntry] {
        var next = entries
        for p in deleted { next[p] = nil }
        for p in replaced { next[p] = nil }
        for (p, e) in refreshed { next[p] = e }
        return next
    }
}

/// One synced folder on this machine: the sync loop of DESIGN.md, against any `VersionStore`.
///
/// Order of a pass (each a MUST): commit local changes first; fetch and verify before touching plaintext;
/// merge at the plaintext level keeping every side; apply with compare-and-swap; push fast-forward only,
/// looping fetch-merge-push on rejection. A journal records the phase before each step that changes the
/// shadow tree, the branch or the plaintext, so a killed run is finished or undone by the next one.
public final class SyncEngine {
    public let location: FolderLocation
    /// The keys of the key file, and those keys reaching the key epochs of the local head (what this
    /// engine reads and writes with: the newest epoch it reaches).
    let baseKeys: VaultKeys
    private(set) var keys: VaultKeys
    let store: VersionStore
    let folder: PlainFolder
    private(set) var names: NameCipher
    private(set) var content: FileContent
    private(set) var objects: ShadowObjects
    private(set) var verifier: HistoryVerifier
    var state: FolderState
    var index: SyncIndex
    /// Nil for an engine opened with `observing`: it only reads (status), and never writes anything.
    let lock: FileLock?
    /// Conflict copies the apply wrote into the folder, with the lineage file id of the version each
    /// holds: committed under it, a copy is the very entry a merge elsewhere makes of that version, so
    /// the two meet as one.
    var copyLineage: [PlainPath: FileID] = [:]
    /// The folder's file system keeps no permissions worth syncing (FAT, NTFS mounts): commits carry the
    /// modes synced before (defaults for new entries), and applying never changes a mode.
    public var ignorePermissions = false
    /// Why the local branch must not be synced until `repair`: it holds a commit ShadowSync did not make.
    var untrusted: ShadowError?
    /// True until a pass has scanned the whole folder in this process, and again after a pass failed:
    /// only a full scan can find what changed while no watcher (or a failed pass) was looking.
    var fullScanDue = true
    /// Paths a partial scan left for the next pass (they changed while read, or could not be read).
    var carriedPaths: [PlainPath: Bool] = [:]
    /// A partial scan over more paths than this scans the whole folder instead: past it one walk of
    /// the tree costs less than a lookup per path.
    public static let maximumChangedPaths = 10_000

    /// More than this share of the tracked files vanishing in one scan trips the mass-delete guard...
    static let massDeleteFraction = 0.5
    /// ...once at least this many vanish (deleting a handful of files by hand must not need a flag).
    /// A folder that became entirely empty trips it from two files: that is what an unmounted disk looks like.
    static let massDeleteMinimumFiles = 10
    /// Conflict names tried for one copy (`-2`, `-3`, …) before the pass gives up, leaving everything in place.
    static let maximumCopyNames = 1000
    /// Read, write and search for the owner: what a directory needs while the apply writes into it.
    static let ownerAccess: UInt32 = 0o700
    /// Read and search for the owner: what a directory above one the apply writes into needs.
    static let ownerTraverse: UInt32 = 0o500
    /// Buffer for copying a local file that moves to a conflict copy, in bytes.
    static let copyBufferBytes = 1 << 16

    /// True unless this device is admitted read-write (by the vault key it holds, or by its record).
    public var readOnly: Bool { location.deviceRole(keys) != .readWrite }
    /// This agent's device id (in its commit metadata and its doorbells).
    public var deviceID: [UInt8] { state.deviceID }
    /// The vault's read keys (the doorbell is sealed with a key derived from them).
    public var readKeys: ReadKeys? { keys.read }

    /// True when `commit` is the local branch head or one of its ancestors: a doorbell announcing it
    /// brings nothing new. A commit that is not here at all is not contained.
    public func contains(_ commit: ObjectID) -> Bool {
        guard let local = try? store.reference(ShadowRefs.main) else { return false }
        return local == commit || ((try? store.isDescendant(local, of: commit)) ?? false)
    }
    public var head: ObjectID? { get throws(ShadowError) { try store.reference(ShadowRefs.main) } }
    /// The newest head this machine verified on the server or pushed there: what it tells peers it has
    /// seen on the server (a local commit not pushed yet is not announced).
    public var lastVerified: ObjectID? { state.lastVerified }
    /// When each device last pushed, as this machine knows it: the newest of its commits in verified
    /// history (their signed metadata), this device's own pushes. Device ids in hex, Unix milliseconds.
    public var devicePushes: [String: UInt64] { state.lastPushed }

    /// Opens a folder that was initialised or joined before: takes the instance lock and finishes whatever
    /// a killed run left half done. `lockWait`: how long to wait for another process's lock. `preload`:
    /// the index, if the caller started reading it before unlocking the keys.
    /// `observing`: take no lock and finish nothing: an engine that only reports `status()` beside
    /// another process (a running daemon, a one-shot sync) that holds the folder.
    public init(location: FolderLocation, keys: VaultKeys, store: VersionStore, lockWait: Double = 0,
                preload: IndexPreload? = nil, ignorePermissions: Bool = false, observing: Bool = false) throws(ShadowError) {
        self.location = location
        self.ignorePermissions = ignorePermissions
        self.keys = keys
        baseKeys = keys
        folder = PlainFolder(root: location.plain)
        names = try NameCipher(keys: keys)
        content = FileContent(keys: try keys.requireRead())
        objects = try ShadowObjects(keys: keys, shadowRoot: location.shadow)
        if observing {
            lock = nil
            state = (try? FolderState.load(location.stateFile)) ?? FolderState(deviceID: [UInt8](repeating: 0, count: 16))
            index = SyncIndex.load(location.indexFile) ?? SyncIndex()
            self.store = store
            verifier = HistoryVerifier(keys: keys, store: store)
            try? adoptWorkTreeEpochs()
            return
        }
        lock = try FileLock(location.lockFile, waitSeconds: lockWait)
        let deviceID = try keys.requireDevice().id
        if !FileSystem.exists(location.stateFile) {
            try FolderState(deviceID: deviceID).save(location.stateFile)
        }
        state = try FolderState.load(location.stateFile)
        if state.deviceID != deviceID {
            // A key file of another device now sits in this folder (a restored backup): its id it is.
            state.deviceID = deviceID
            try state.save(location.stateFile)
        }
        index = (preload.map { $0.take(location) } ?? SyncIndex.load(location.indexFile)) ?? SyncIndex()
        self.store = store
        verifier = HistoryVerifier(keys: keys, store: store)
        // Under the instance lock this process is the shadow repository's only writer: a lock file
        // there is one a killed run left.
        store.removeStaleLocks()
        try recover()
        try adoptWorkTreeEpochs()
    }

    /// Takes up the key epochs of `commit` (verified, or made here): from then on this engine reads them
    /// and writes with the newest one it reaches. Epochs only ever grow along history.
    func adoptEpochs(at commit: ObjectID?) throws(ShadowError) {
        guard let commit, baseKeys.canDecrypt else { return }
        adopt(try verifier.keys(at: commit))
    }

    /// Takes up the key epochs of the shadow work tree: the local head's (a checkout of verified
    /// history, or commits made here) and any this machine started and has not committed yet. Reads
    /// a few files, not the repository, so a pass with nothing to do never opens git.
    func adoptWorkTreeEpochs() throws(ShadowError) {
        guard baseKeys.canDecrypt, let files = try? FileSystem.list(location.shadow.appending(DevicePaths.directory)) else { return }
        var records: [EpochRecord] = [], grants: [EpochGrant] = []
        for file in files {
            let name = String(decoding: file, as: UTF8.self)
            guard name.hasSuffix(DevicePaths.epochSuffix) || name.hasSuffix(DevicePaths.grantSuffix),
                  let bytes = try? FileSystem.readFile(location.shadow.appending(DevicePaths.directory + "/" + name), limit: DevicePaths.fileLimitBytes) else { continue }
            if name.hasSuffix(DevicePaths.epochSuffix) { records.append(try EpochRecord.parse(bytes, vaultID: baseKeys.vaultID)) }
            else { grants.append(try EpochGrant.parse(bytes, vaultID: baseKeys.vaultID)) }
        }
        guard !records.isEmpty else { return }
        adopt(try baseKeys.reaching(records, grants: grants))
    }

    /// Takes up exactly the key epochs of `commit`'s tree, dropping any newer one this engine held (one
    /// started here on a line that was left out): a commit is sealed under the newest epoch of the tree
    /// it is made on (FORMAT.md §1d), never under one whose record that tree lacks.
    func adoptEpochsReplacing(at commit: ObjectID) throws(ShadowError) {
        guard baseKeys.canDecrypt else { return }
        adopt(try HistoryVerifier(keys: baseKeys, store: store).keys(at: commit), replacing: true)
    }

    private func adopt(_ reached: VaultKeys, replacing: Bool = false) {
        // Newer epochs, or the chain to older ones that a key of a later epoch (an invite's) lacks.
        guard let read = reached.read,
              replacing || read.epoch > (keys.read?.epoch ?? 0) || (read.reachesEveryEpoch && !(keys.read?.reachesEveryEpoch ?? true)) else { return }
        keys = reached
        names = NameCipher(keys: read, vaultID: reached.vaultID)
        content = FileContent(keys: read)
        objects = objects.with(keys: reached, names: names)
        verifier = HistoryVerifier(keys: reached, store: store)
    }

    /// The keys this engine reads and writes with: the key file's, reaching the epochs of the local head.
    public var currentKeys: VaultKeys { keys }

    /// The key epoch this engine writes with.
    public var writingEpoch: UInt32 { keys.read?.epoch ?? 0 }

    // MARK: Passes

    /// Creates the first commit of a new vault and pushes it to an empty remote.
    public func initialize(options: SyncOptions = SyncOptions()) throws(ShadowError) -> SyncReport {
        if let remote = try retrying(options, { () throws(ShadowError) in try store.remote().fetch() }) {
            throw ShadowError(.alreadyExists, "the remote already holds history (head \(remote.short)); refusing to start a second vault in it",
                              advice: "use 'shadowsync join' with the vault's key, or pick an empty repository")
        }
        var report = SyncReport()
        try commitLocal(options: options, report: &report, force: true)
        try pushLoop(options: options, report: &report)
        report.head = try head
        return report
    }

    /// First sync of a joining machine: verify and adopt the remote, then treat what the folder already
    /// holds as local changes (never overwriting it), commit and push them.
    public func join(options: SyncOptions = SyncOptions()) throws(ShadowError) -> SyncReport {
        var report = SyncReport()
        guard let remote = try retrying(options, { () throws(ShadowError) in try fetchChecked() }) else {
            throw ShadowError(.notFound, "the remote repository has no branch main: it is empty, or not a ShadowSync vault; there is no vault to join",
                              advice: "check the remote's path or URL; create the vault with 'shadowsync init' on the first machine")
        }
        try integrate(remote, options: options, report: &report)
        let meta = try CommitMessage.parse(try store.commit(remote).message, commit: remote, keys: try verifier.keys(at: remote))
        report.joined = JoinedHead(commit: remote, deviceID: String(hexString(meta.deviceID).prefix(8)), wallTimeMillis: meta.wallTimeMillis)
        return try sync(options: options, report: report)
    }

    /// One full pass. After a pass that failed part-way (a full disk, a lost server), the next one first
    /// finishes or undoes it from the journal, exactly as a new process would: a long-running agent must
    /// not carry half-written shadow objects or a half-applied folder into its next pass.
    public func sync(options: SyncOptions = SyncOptions()) throws(ShadowError) -> SyncReport {
        guard lock != nil else {
            throw ShadowError(.invalidArgument, "this folder was opened to look at, without its lock: it cannot sync",
                              advice: "this is a bug in ShadowSync; run 'shadowsync sync' again")
        }
        if interrupted { try resume() }
        try checkOwnHistory()
        do throws(ShadowError) {
            return try sync(options: options, report: SyncReport())
        } catch {
            interrupted = true
            throw error
        }
    }

    /// A pass failed part-way: `resume` runs before the next one.
    private var interrupted = false

    /// Forgets what this process holds about the failed pass and recovers from what is on disk.
    private func resume() throws(ShadowError) {
        objects.touched.reset()
        fullScanDue = true
        state = try FolderState.load(location.stateFile)
        index = SyncIndex.load(location.indexFile) ?? SyncIndex()
        try recover()
        interrupted = false
    }

    private func sync(options: SyncOptions = SyncOptions(), report start: SyncReport) throws(ShadowError) -> SyncReport {
        var report = start
        report.readOnly = readOnly
        try adoptWorkTreeEpochs()
        let scope = scanScope(options)
        try commitLocal(options: options, report: &report, force: false, only: scope)
        if scope == nil { fullScanDue = false }
        try pushLoop(options: options, report: &report)
        // Plaintext conflicts found while applying leave copies in the folder; commit them now so the
        // other devices see every version without waiting for the next pass.
        if !readOnly && report.conflicts.contains(where: { _ in true }) {
            var again = SyncReport()
            try commitLocal(options: options, report: &again, force: false)
            if !again.committed.isEmpty {
                report.committed += again.committed
                try pushLoop(options: options, report: &report)
            }
        }
        report.head = try head
        return report
    }

    /// The first wait after a lost push race, in seconds: about one fetch-merge-push round on a LAN.
    static let pushRetryBaseSeconds = 0.05
    /// The longest wait between two push attempts, in seconds.
    static let pushRetryMaximumSeconds = 2.0

    /// How long to wait after losing the push race `lost` times: uniform between zero and a ceiling that
    /// doubles each time ("full jitter"), so ten agents pushing at once spread out instead of meeting again.
    static func pushRetryDelay(afterLosing lost: Int) -> Double {
        let ceiling = min(pushRetryMaximumSeconds, pushRetryBaseSeconds * Double(1 << min(max(lost, 1), 16)))
        return Double.random(in: 0...ceiling)
    }

    private func pushLoop(options: SyncOptions, report: inout SyncReport) throws(ShadowError) {
        var attempt = 0
        for _ in 0..<max(1, options.maxPushAttempts) {
            options.onPhase?(.fetching)
            let remote: ObjectID?
            do throws(ShadowError) {
                remote = try retrying(options) { () throws(ShadowError) in try fetchChecked() }
                if let remote {
                    options.onPhase?(.applying)
                    try integrate(remote, options: options, report: &report)
                }
            } catch where (options.replaceRefused || options.replaceRevokedHeads) && SyncEngine.refusesServerHead(error) {
                try replaceRefusedHead(after: error, options: options, report: &report)
                return
            }
            guard !readOnly, let local = try head else { return }
            if local == remote {
                try noteVerified(local)
                return
            }
            do throws(ShadowError) {
                options.onPhase?(.pushing)
                if let remote, try unpushedRewrite(local, over: remote) {
                    try retrying(options) { () throws(ShadowError) in try store.remote().push(expecting: local, replacing: remote) }
                } else {
                    try requireOwnCommits(head: local, base: remote)
                    try retrying(options) { () throws(ShadowError) in try store.remote().push(expecting: local) }
                }
                CrashPoint.reached("pushed")
                state.lastPushed[hexString(state.deviceID)] = Clock.nowMillis()
                try noteVerified(local, force: true)
                report.pushed = true
                return
            } catch where error.code == .nonFastForward {
                // Another agent pushed first: fetch, merge, try again, after a random wait that grows with
                // each lost race, so agents that keep meeting at the server fall out of step.
                attempt += 1
                if attempt < options.maxPushAttempts { pause(seconds: SyncEngine.pushRetryDelay(afterLosing: attempt)) }
                continue
            }
        }
        throw ShadowError(.nonFastForward, "the remote kept moving during \(options.maxPushAttempts) attempts to push",
                          advice: "nothing is lost; the next sync tries again")
    }

    /// Runs a network step again after a transient failure, waiting each delay (plus up to 25% jitter, so
    /// agents that lost the same server do not return in lockstep).
    /// Fetches after checking a local remote's head in place: its history is copied only once the
    /// head is a signed commit of bounded size.
    func fetchChecked() throws(ShadowError) -> ObjectID? {
        try verifier.requireSignedLocalRemoteHead(firstContact: state.lastVerified == nil)
        return try store.remote().fetch()
    }

    func retrying<T>(_ options: SyncOptions, _ body: () throws(ShadowError) -> T) throws(ShadowError) -> T {
        var attempt = 0
        while true {
            do throws(ShadowError) {
                return try TransferMeter.observing(options.onTransfer, body)
            } catch where error.code == .remoteUnavailable && attempt < options.transientRetryDelays.count {
                let delay = options.transientRetryDelays[attempt] * Double.random(in: 1.0...1.25)
                pause(seconds: delay)
                attempt += 1
            }
        }
    }

    private func noteVerified(_ head: ObjectID, force: Bool = false) throws(ShadowError) {
        guard force || state.lastVerified != head else { return }
        state.lastVerified = head
        try state.save(location.stateFile)
    }

    // MARK: Local changes

    /// What this pass's first scan looks at: the changed paths the caller passed (plus those carried
    /// over), or nil for the whole folder.
    private func scanScope(_ options: SyncOptions) -> [PlainPath: Bool]? {
        // Re-encrypting every file under a new epoch reads every file.
        guard let changed = options.changedPaths, !fullScanDue, !options.reencrypt else { return nil }
        var scope = carriedPaths
        carriedPaths = [:]
        for (p, walk) in changed { scope[p] = (scope[p] ?? false) || walk }
        // An ignore file decides what every other path is: its edit takes a full scan.
        let ignoreFiles = [IgnoreRules.syncedFileName, IgnoreRules.localFileName].map { Array($0.utf8) }
        if scope.keys.contains(where: { ignoreFiles.contains($0.bytes) }) { return nil }
        if scope.count > SyncEngine.maximumChangedPaths { return nil }
        return scope
    }

    /// `only`: scan these paths (and their parents) instead of the whole folder; an entry of the index
    /// is taken for deleted only at such a path or below a changed directory.
    func scanLocal(options: SyncOptions, only changed: [PlainPath: Bool]? = nil) throws(ShadowError) -> (LocalPlan, ScanReport) {
        guard FileSystem.exists(location.plain) else {
            throw ShadowError(.notFound, "the folder \(location.plain) is missing (unmounted disk?); nothing was changed",
                              advice: "mount or restore it, then sync again")
        }
        // Read each pass, so an edit of the ignore files takes effect at once. Ignored paths are neither
        // scanned nor deleted: their last synced state stays in the index and in the tree.
        let ignore = IgnoreRules.load(folder: location.plain)
        // The common case, judged on the walking threads: a file or directory whose stat the index
        // trusts, unchanged. Exactly the entries the loop below would leave as they are.
        // The tree is kept with the index until it changes: a running agent's no-op passes reuse it.
        let scan: ScanReport
        if let changed {
            var targets = changed.map { ScanTarget($0.key, recursive: $0.value) }
            // A directory's own time changes with what it holds.
            for p in changed.keys { if let parent = p.parent { targets.append(ScanTarget(parent, recursive: false)) } }
            scan = try Scanner.scan(location.plain, only: targets, ignore: ignore)
        } else {
            scan = try Scanner.scan(location.plain, expectedCount: index.count, ignore: ignore, expected: options.reencrypt ? nil : index.expectedTree())
        }
        let reencrypt = options.reencrypt
        var plan = LocalPlan()
        // Paths new as files are taken in path order after the others, so which of two hard links
        // inherits a vanished file's id does not depend on scan order.
        var newFiles: [(PlainPath, Bool, StatKey, EntryMetadata)] = []
        let device = state.deviceID
        let ignorePermissions = ignorePermissions
        /// The metadata a commit records for a scanned entry: its mode (the synced one, or the default,
        /// when modes are ignored here), its own modification time, and this device.
        func metadata(_ s: ScannedEntry, _ cur: IndexEntry?, _ kind: EntryKind) -> EntryMetadata {
            var permissions = s.permissions
            if case .symlink = kind {
                permissions = 0  // Linux keeps no mode for a symlink (lstat shows 0777)
            } else if ignorePermissions {
                permissions = cur.flatMap { $0.kind.sameType(kind) ? $0.metadata.permissions : nil } ?? EntryMetadata.defaults(for: kind).permissions
            }
            return EntryMetadata(permissions: permissions, modified: s.modified, modifiedBy: device)
        }
        /// Whether `m` differs from the synced metadata in what a user can change (mode, time).
        func differs(_ m: EntryMetadata, _ cur: IndexEntry) -> Bool {
            m.permissions != cur.metadata.permissions || m.modified != cur.metadata.modified
        }
        func unchanged(_ p: PlainPath, _ cur: IndexEntry, _ now: IndexEntry) {
            if now != cur { plan.refreshed[p] = now }
        }
        // One index lookup per entry not settled; `seen` counts the index entries found, so the common
        // case (nothing vanished) needs no table of the scan at all.
        var seen = scan.settledIDs.count
        for s in scan.entries {
            let p = s.path
            let cur = index.entries[p]
            if cur != nil { seen += 1 }
            switch s.kind {
            case .directory:
                let m = metadata(s, cur, .directory)
                if let cur, cur.kind == .directory {
                    if differs(m, cur) || reencrypt {
                        plan.records[p] = SyncedEntry(.directory, m)
                    } else {
                        unchanged(p, cur, IndexEntry(kind: .directory, fileID: .zero, stat: s.stat, metadata: cur.metadata))
                    }
                    continue
                }
                plan.records[p] = SyncedEntry(.directory, m)
            case .symlink(let target):
                let m = metadata(s, cur, .symlink(target: target))
                if let cur, cur.kind == .symlink(target: target) {
                    if differs(m, cur) || reencrypt {
                        plan.records[p] = SyncedEntry(cur.kind, m)
                    } else {
                        unchanged(p, cur, IndexEntry(kind: cur.kind, fileID: .zero, stat: s.stat, metadata: cur.metadata))
                    }
                    continue
                }
                plan.records[p] = SyncedEntry(.symlink(target: target), m)
            case .file(var executable):
                if let cur, case .file(_, _, let wasExecutable) = cur.kind {
                    let m = metadata(s, cur, cur.kind)
                    // Where modes are ignored, so is the executable bit the file system shows.
                    if ignorePermissions { executable = wasExecutable }
                    let seen = ScannedEntry(path: p, kind: .file(executable: executable), stat: s.stat, permissions: m.permissions, modified: s.modified)
                    // The same test the apply uses: a trusted stat, else a hash under the file's lineage id,
                    // so an unchanged file is never rewritten. Any read error counts as changed (retried).
                    if !reencrypt, (try? plainMatches(seen, cur)) == true {
                        if differs(m, cur) {
                            plan.fileRecords[p] = IndexEntry(kind: cur.kind, fileID: cur.fileID, stat: s.stat, metadata: m)
                            continue
                        }
                        if cur.stat != s.stat || s.stat.isRacy(recordedAtNs: index.recordedAtNs) { plan.statsRefreshed = true }
                        unchanged(p, cur, IndexEntry(kind: cur.kind, fileID: cur.fileID, stat: s.stat, metadata: cur.metadata))
                        continue
                    }
                    plan.encrypt.append((p, cur.fileID, executable, s.stat, m))
                } else {
                    let m = metadata(s, nil, .file(length: 0, siv: [], executable: executable))
                    newFiles.append((p, ignorePermissions ? m.permissions & FilePermissions.userExecute != 0 : executable, s.stat, m))
                }
            case .special:
                break
            }
            if cur != nil { plan.replaced.append(p) }
        }
        // Vanished files by inode: a new path with the same inode is a rename and inherits the file id.
        var vanishedByInode: [UInt64: (PlainPath, IndexEntry)] = [:]
        func underUnreadable(_ p: PlainPath) -> Bool {
            scan.unreadable.contains { u in p == u || p.bytes.starts(with: u.bytes + [UInt8(ascii: "/")]) }
        }
        /// What the index holds at a path the scan did not find.
        func vanished(_ p: PlainPath, _ e: IndexEntry) {
            if underUnreadable(p) { return }  // kept, never taken for deleted
            if ignore.ignores(p, isDirectory: e.kind == .directory) {
                // Gone while ignored: remembered as absent, so un-ignoring it later restores it instead of
                // deleting it everywhere.
                if !e.absent {
                    plan.refreshed[p] = IndexEntry(kind: e.kind, fileID: e.fileID, stat: nil, absent: true)
                    plan.statsRefreshed = true
                }
                return
            }
            if e.absent { plan.unignored.append(p); return }
            plan.deleted.append(p)
            if case .file = e.kind, let s = e.stat { vanishedByInode[s.inode] = (p, e) }
        }
        if let changed {
            // Only where an event was: the changed paths, and what the index holds below a changed
            // directory that was walked again or is no longer a directory.
            let scannedKinds = Dictionary(scan.entries.lazy.map { ($0.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
            var candidates: Set<PlainPath> = []
            var below: [[UInt8]] = []
            for (p, walk) in changed {
                guard let e = index.entries[p] else { continue }
                if scannedKinds[p] == nil { candidates.insert(p) }
                if e.kind == .directory, walk || scannedKinds[p] != .directory { below.append(p.bytes + [UInt8(ascii: "/")]) }
            }
            if !below.isEmpty {
                for (p, _) in index.entries where scannedKinds[p] == nil && below.contains(where: { p.bytes.starts(with: $0) }) {
                    candidates.insert(p)
                }
            }
            for p in candidates.sorted() { if let e = index.entries[p] { vanished(p, e) } }
        } else if seen < index.count {
            let scanned = Set(scan.entries.lazy.map(\.path)).union(scan.settled)
            for (p, e) in index.entries where !scanned.contains(p) { vanished(p, e) }
        }
        for (p, executable, stat, m) in newFiles.sorted(by: { $0.0 < $1.0 }) {
            var fileID = try FileID.forNewPath(p, keys: keys.requireRead())
            if let copied = copyLineage[p] { fileID = copied }
            if let (oldPath, old) = vanishedByInode.removeValue(forKey: stat.inode), old.stat?.device == stat.device {
                fileID = old.fileID  // a rename: the content object stays the same blob
                plan.renamedAway.insert(oldPath)
            }
            plan.encrypt.append((p, fileID, executable, stat, m))
        }
        plan.encrypt.sort { $0.path < $1.path }
        try guardMassDelete(plan, scan: scan, partial: changed != nil, options: options)
        return (plan, scan)
    }

    private func guardMassDelete(_ plan: LocalPlan, scan: ScanReport, partial: Bool, options: SyncOptions) throws(ShadowError) {
        guard !options.allowMassDelete, !plan.deleted.isEmpty else { return }
        // Renamed files did not vanish: moving the directory that holds everything must not trip it.
        let gone = plan.deleted.filter { index.entries[$0]?.kind != .directory && !plan.renamedAway.contains($0) }.count
        let tracked = index.entries.values.reduce(0) { $0 + ($1.kind == .directory ? 0 : 1) }
        // A partial scan that found nothing says nothing about the rest of the folder.
        let emptied = !partial && scan.entries.isEmpty && scan.settledIDs.isEmpty && gone >= 2
        guard emptied || (gone >= SyncEngine.massDeleteMinimumFiles && Double(gone) > Double(tracked) * SyncEngine.massDeleteFraction) else { return }
        throw ShadowError(.guardTripped, "\(gone) of \(tracked) files vanished from \(location.plain) since the last sync; stopped before deleting them everywhere",
                          advice: "if the folder's disk is unmounted, mount it and sync again; if you deleted them on purpose, run 'shadowsync sync --allow-mass-delete'")
    }

    /// Scans, encrypts what changed into the shadow tree and commits it (read-write members only).
    func commitLocal(options: SyncOptions, report: inout SyncReport, force: Bool, only changed: [PlainPath: Bool]? = nil) throws(ShadowError) {
        options.onPhase?(.scanning)
        let (plan, scan) = try scanLocal(options: options, only: changed)
        try commit(plan, scan: scan, options: options, report: &report, force: force)
        if !plan.unignored.isEmpty, let head = try head {
            options.onPhase?(.applying)
            try applyToPlaintext(index.tree, target: head, report: &report)
        }
    }

    private func commit(_ plan: LocalPlan, scan: ScanReport, options: SyncOptions, report: inout SyncReport, force: Bool) throws(ShadowError) {
        if !plan.isEmpty { options.onPhase?(.committing) }
        report.skipped += scan.skipped.map { "\($0.path): \($0.reason)" }
        if readOnly {
            report.notPushed = plan.encrypt.map { "M \($0.path)" } + plan.records.keys.sorted().map { "M \($0)" } + plan.deleted.sorted().map { "- \($0)" }
            if plan.statsRefreshed {
                for (p, e) in plan.refreshed { index.entries[p] = e }
                try index.save(location.indexFile)
            }
            return
        }
        let force = force || options.publishDevices
            || ShadowCommitter.devicePending(keys: keys, location: location, deviceName: location.requestedDeviceName())
        if plan.isEmpty && !force {
            if plan.statsRefreshed {
                index.entries = plan.nextEntries(from: index.entries)
                try index.save(location.indexFile)
            }
            return
        }
        let parent = try head
        objects.forgetDirectories()
        try JournalPhase.commit(parent: parent).save(location.journalFile)
        var next = plan.nextEntries(from: index.entries)
        var changes: [String] = []
        var progress = SyncProgress(totalFiles: plan.encrypt.count, totalBytes: plan.encrypt.reduce(0) { $0 + $1.stat.size },
                                    startedAt: monotonicSeconds())
        for start in stride(from: 0, to: plan.encrypt.count, by: SyncEngine.encryptChunkFiles) {
            let chunk = plan.encrypt[start..<min(start + SyncEngine.encryptChunkFiles, plan.encrypt.count)]
            for (item, outcome) in zip(chunk, encrypt(chunk)) {
                progress.files += 1
                progress.bytes += item.stat.size
                let cur = index.entries[item.path]
                let record: NameRecord, after: StatKey?
                switch outcome {
                case .success(let written): (record, after) = written
                case .failure(let error) where error.code == .sourceChanged || error.code == .notFound || error.code == .invalidArgument || error.code == .permissionDenied:
                    // Changing while read, vanished, or unreadable: keep what was synced, take it next time.
                    if let cur { next[item.path] = cur }
                    report.retryLater.append("\(item.path): \(error.message)")
                    carriedPaths[item.path] = false
                    continue
                case .failure(let error): throw error
                }
                next[item.path] = IndexEntry(kind: record.kind, fileID: item.fileID, stat: after == item.stat ? item.stat : nil, metadata: record.metadata)
                if cur?.kind != record.kind || cur?.metadata != record.metadata { changes.append("\(cur == nil ? "+" : "M") \(item.path)") }
            }
            options.onProgress?(progress)
        }
        for (p, entry) in plan.records.sorted(by: { $0.key < $1.key }) {
            try objects.writeRecord(NameRecord(path: p, kind: entry.kind, metadata: entry.metadata))
            next[p] = IndexEntry(entry, fileID: .zero, stat: try folder.entry(p)?.stat)
            changes.append("\(index.entries[p] == nil ? "+" : "M") \(p)")
        }
        for (p, entry) in plan.fileRecords.sorted(by: { $0.key < $1.key }) {
            try objects.writeFileRecord(NameRecord(path: p, kind: entry.kind, metadata: entry.metadata))
            next[p] = entry
            changes.append("M \(p)")
        }
        for p in plan.deleted.sorted() where next[p] == nil {
            try objects.remove(p)
            changes.append("- \(p)")
        }
        guard !changes.isEmpty || force else {
            index.entries = next
            try index.save(location.indexFile)
            try JournalPhase.idle.save(location.journalFile)
            return
        }
        CrashPoint.reached("commit-objects")
        let commit = try makeCommit(parents: parent.map { [$0] } ?? [])
        try store.setReference(ShadowRefs.main, to: commit, expecting: parent)
        CrashPoint.reached("commit-ref")
        index.entries = next
        index.head = commit
        try index.save(location.indexFile)
        try JournalPhase.idle.save(location.journalFile)
        report.committed += changes
        copyLineage = [:]
    }

    /// Files encrypted between two progress reports (and two joins of the lanes): about 50 ms of work
    /// for small files on this machine, so neither the report nor the wait for the slowest lane shows.
    static let encryptChunkFiles = 256
    /// Lanes encrypting small files at once: one per core, up to this many. Most of the work is creating
    /// the objects' files in the kernel. Measured with two cores only (`bench-sync-vs-git.sh` in Docs/BENCHMARKS.md: the encryption of an
    /// import of 10k files went from 1.7-2.1 s on one thread to 1.0-1.15 s on two lanes), so the cap
    /// for larger machines is a guess kept modest.
    static let maximumEncryptLanes = 4

    /// Encrypts and writes the objects of `items`, small files on parallel lanes and large ones (whose
    /// encryption runs on lanes of its own) one at a time here. For each: the name record, and the stat of
    /// the open file once read (what the index records if nothing changed it while it was read).
    private func encrypt(_ items: ArraySlice<LocalPlan.Encrypt>) -> [Result<(NameRecord, StatKey?), ShadowError>] {
        let objects = objects, plain = location.plain
        func one(_ item: LocalPlan.Encrypt) -> Result<(NameRecord, StatKey?), ShadowError> {
            Result { () throws(ShadowError) -> (NameRecord, StatKey?) in
                let source = try FileSource(plain.appending(item.path))
                // The time of the bytes read, not of the scan: a file replaced in between is recorded as read.
                var metadata = item.metadata
                metadata.modified = FileTime(totalNanoseconds: try source.currentStat().mtimeNs)
                let record = try objects.writeFile(item.path, from: source, fileID: item.fileID, executable: item.executable, metadata: metadata)
                // Its objects are written whole: a file gone right after is committed as read, then deleted next pass.
                return (record, try? source.currentStat())
            }
        }
        let items = Array(items)
        let lanes = min(onlineProcessorCount(), SyncEngine.maximumEncryptLanes)
        var out = parallelMap(items.count, lanes: lanes) { i in
            items[i].stat.size <= ShadowObjects.inMemoryContentBytes ? one(items[i]) : nil
        }
        for i in out.indices where out[i] == nil { out[i] = one(items[i]) }
        return out.map { $0! }
    }

    /// Takes the next sequence number (saved first, so a crash never reuses one) and commits the work tree.
    func makeCommit(parents: [ObjectID], replacing: ObjectID? = nil) throws(ShadowError) -> ObjectID {
        for parent in parents {
            if let me = try verifier.roster(of: parent).devices[state.deviceID], let revocation = me.revocation {
                throw ShadowError(.insufficientCapability, "this device was revoked by device \(hexString(revocation.revokerID).prefix(8)) at \(isoTime(revocation.revokedAtMillis)): no other machine accepts its changes any more",
                                  advice: "your files stay in the folder; to sync them again, join the vault anew on this machine with an invite from a remaining device")
            }
        }
        try grantEpochs(parents: parents)
        state.sequence += 1
        try state.save(location.stateFile)
        let committer = try ShadowCommitter(keys: keys, store: store, shadowRoot: location.shadow, deviceName: location.requestedDeviceName(),
                                            pendingAdmission: location.pendingAdmissionFile)
        return try committer.commit(parents: parents, sequence: state.sequence, wallTimeMillis: Clock.nowMillis(), touched: objects.touched,
                                    replacing: replacing)
    }

    // MARK: Key epochs

    /// Before a commit: refuses to write with an older key epoch than the parents hold (a device no one
    /// granted the newest epoch would leak what it writes to whoever was revoked), and seals the newest
    /// epoch to every device not revoked that has no grant of it yet (a device admitted meanwhile, or
    /// by an invite of an earlier epoch). FORMAT.md §4.8.
    private func grantEpochs(parents: [ObjectID]) throws(ShadowError) {
        let device = try keys.requireDevice()
        for parent in parents {
            let roster = try verifier.roster(of: parent)
            // Two devices that started the same epoch number at once: the one merging second must not
            // replace the other's record (every reader would refuse the merge), so it stops here.
            for (epoch, entry) in roster.epochs {
                let file = location.shadow.appending(DevicePaths.epoch(epoch))
                if let here = try? FileSystem.readFile(file, limit: DevicePaths.fileLimitBytes), here != entry.record.bytes {
                    throw ShadowError(.historyRewritten, "another device started key epoch \(epoch) at the same time as this one (a revocation or 'key rotate' on two machines before either synced); this machine's epoch was not published",
                                      advice: "nothing was pushed and the folder keeps your files; join the vault anew into a new directory (an invite from another device), move your changes there, and repeat the revocation or rotation if it is still needed")
                }
            }
            let newest = roster.newestEpoch
            guard writingEpoch >= newest else {
                throw ShadowError(.insufficientCapability, "this device holds no key for key epoch \(newest) of the vault, which a read-write device started; it cannot write until one grants it",
                                  advice: "a read-write device grants it at its next sync: run 'shadowsync sync' there, then here")
            }
            guard newest > 0, writingEpoch == newest, let read = keys.read else { continue }
            for lacking in roster.devicesLacking(epoch: newest) {
                let path = DevicePaths.grant(lacking.id, epoch: newest)
                let file = location.shadow.appending(path)
                guard !FileSystem.exists(file) else { continue }
                let grant = try EpochGrant.make(read, to: lacking.record, by: device, vaultID: keys.vaultID)
                try FileSystem.createDirectories(file.directory, mode: 0o755)
                try FileSystem.writeAtomically(grant.bytes, to: file, mode: ShadowObjects.objectMode, durable: false)
            }
        }
    }

    /// Starts a new key epoch in the work tree (published by the next commit): a fresh secret sealed to
    /// every device of the head that is neither revoked nor `revoking`, and to the recovery key; from
    /// then on this engine writes with it. Nothing already written is re-encrypted.
    public func startEpoch(revoking: [UInt8]?) throws(ShadowError) -> UInt32 {
        guard !readOnly else {
            throw ShadowError(.insufficientCapability, "this is a read-only device: it cannot start a key epoch",
                              advice: "run it on a read-write machine of the vault")
        }
        guard let head = try head else { throw ShadowError(.notFound, "this folder has no history yet: sync it first") }
        let device = try keys.requireDevice()
        let roster = try verifier.roster(of: head)
        let current = try verifier.keys(at: head)
        let read = try current.requireRead()
        guard read.epoch == roster.newestEpoch else {
            throw ShadowError(.insufficientCapability, "this device holds no key for the vault's newest key epoch (\(roster.newestEpoch)): it cannot start the next one",
                              advice: "sync a read-write device that holds it, then this one, and try again")
        }
        guard let descriptor = try store.topLevelBlob(VaultDescriptor.fileName, ofTree: try store.commit(head).tree, limit: VaultDescriptor.limitBytes),
              let recovery = baseKeys.recoveryPublicKey ?? VaultDescriptor.recoveryPublicKey(descriptor, keys: baseKeys) else {
            throw ShadowError(.malformedObject, "the head commit's vault.json names no recovery key", advice: "run 'shadowsync fsck'")
        }
        let (record, next) = try EpochRecord.start(after: read, by: device, vaultID: keys.vaultID, recoveryPublicKey: recovery, atMillis: Clock.nowMillis())
        var files = [(DevicePaths.epoch(record.epoch), record.bytes)]
        for member in roster.devices.values where member.isActive && member.id != revoking {
            files.append((DevicePaths.grant(member.id, epoch: record.epoch), try EpochGrant.make(next, to: member.record, by: device, vaultID: keys.vaultID).bytes))
        }
        for (path, bytes) in files {
            let file = location.shadow.appending(path)
            try FileSystem.createDirectories(file.directory, mode: 0o755)
            try FileSystem.writeAtomically(bytes, to: file, mode: ShadowObjects.objectMode, durable: false)
        }
        let reached = current.with(read: next)
        keys = reached
        names = NameCipher(keys: next, vaultID: reached.vaultID)
        content = FileContent(keys: next)
        objects = objects.with(keys: reached, names: names)
        verifier = HistoryVerifier(keys: reached, store: store)
        return record.epoch
    }

    // MARK: Remote changes

    /// Errors that refuse the server's head as made by no writer of this vault (not a fork: a fork is
    /// a writer's history, and is never pushed over).
    public static func refusesServerHead(_ error: ShadowError) -> Bool {
        [.signatureInvalid, .malformedObject, .replayedCommit].contains(error.code)
    }

    /// Commits on top of this machine's branch (which contains the last verified head) a commit whose
    /// rewrite record names the server's refused head, and pushes it over that head.
    private func replaceRefusedHead(after refusal: ShadowError, options: SyncOptions, report: inout SyncReport) throws(ShadowError) {
        guard !readOnly, let local = try head else { throw refusal }
        guard let refused = try retrying(options, { () throws(ShadowError) in try store.remote().probe() }), refused != local,
              !((try? store.isDescendant(local, of: refused)) ?? false) else { throw refusal }
        if !options.replaceRefused {
            // Fetched (SSH), or read in place (a local remote refused before its fetch).
            let info = (try? store.commit(refused)) ?? (try? store.remote().headBeforeFetch()).flatMap { $0 }
            guard let info, info.id == refused, case .revoked? = verifier.signatureFault(info, inLocalRemote: (try? store.commit(refused)) == nil) else { throw refusal }
        }
        try requireOwnCommits(head: local, base: state.lastVerified)
        objects.forgetDirectories()
        try JournalPhase.commit(parent: local).save(location.journalFile)
        let replacement = try makeCommit(parents: [local], replacing: refused)
        try store.setReference(ShadowRefs.main, to: replacement, expecting: local)
        index.head = replacement
        try index.save(location.indexFile)
        try JournalPhase.idle.save(location.journalFile)
        options.onPhase?(.pushing)
        try retrying(options) { () throws(ShadowError) in try store.remote().push(expecting: replacement, replacing: refused) }
        state.lastPushed[hexString(state.deviceID)] = Clock.nowMillis()
        try noteVerified(replacement, force: true)
        report.pushed = true
        report.replacedRefused = refused
    }

    /// True when this machine's branch is a rewrite of `remote` that it made and did not push (a
    /// `forget` cut off between moving the branch and pushing): the server still shows exactly the head
    /// verified here, and the branch verifies as a rewrite of it.
    func unpushedRewrite(_ local: ObjectID, over remote: ObjectID) throws(ShadowError) -> Bool {
        guard remote == state.lastVerified, local != remote, !(try store.isDescendant(local, of: remote)) else { return false }
        return (try? verifier.verify(head: local, lastVerified: remote, knownSequences: state.peers))?.rewrote == true
    }

    /// True when this machine's branch is a rewrite of `verified` it made and did not push, whatever the
    /// server holds now: the branch does not contain `verified` and verifies as a rewrite of it.
    func carriesUnpushedRewrite(_ local: ObjectID, of verified: ObjectID) throws(ShadowError) -> Bool {
        guard local != verified, !(try store.isDescendant(local, of: verified)) else { return false }
        return (try? verifier.verify(head: local, lastVerified: verified, knownSequences: state.peers))?.rewrote == true
    }

    /// Verifies a fetched head and brings the branch, the shadow tree and the plaintext to include it.
    func integrate(_ remote: ObjectID, options: SyncOptions, report: inout SyncReport) throws(ShadowError) {
        let local = try head
        if remote == local { return }
        if let local, try unpushedRewrite(local, over: remote) { return }  // pushed by the loop
        if let local, let verified = state.lastVerified, remote != verified, try carriesUnpushedRewrite(local, of: verified) {
            // A merge would keep both lines, the replaced one included: what the rewrite took out would
            // stay on the server, and the rewrite would be lost without a word.
            throw ShadowError(.historyRewritten,
                              "this machine's history rewrite ('shadowsync forget' or retention) was cut off before its push, and the server has moved on since (to \(remote.short)): it cannot be pushed over the new commits, and merging it would put back what it took out; nothing was merged or pushed, and no file in the folder was changed",
                              advice: "run 'shadowsync resync': it takes the server's history and keeps this folder's files as local changes; then run the 'shadowsync forget' again")
        }
        // Before any walk of its ancestry: a walk loads each commit whole, whatever its size.
        try verifier.requireSignedHead(remote, firstContact: state.lastVerified == nil)
        if let local, try store.isDescendant(local, of: remote) {
            // The remote is behind us (our push is pending): it must still contain what we verified.
            if let verified = state.lastVerified, !(try store.isDescendant(remote, of: verified)) {
                throw ShadowError(.historyRewritten, "the server's branch (\(remote.short)) does not contain commit \(verified.short), which this machine verified before: the server rolled back history",
                                  advice: "nothing was changed locally; if the server was restored from a backup, run 'shadowsync resync' here: it verifies the server's history again and pushes this machine's history back on top of it (Docs/OPERATIONS.md, \"A fork or a frozen server\")")
            }
            return
        }
        let verified = try verifyOrAcceptFork(remote, options: options)
        let previouslyVerified = state.lastVerified
        try adoptEpochs(at: remote)
        state.peers = verified.deviceSequences
        state.lastPushed.merge(verified.deviceTimes) { max($0, $1) }
        state.lastVerified = remote
        try state.save(location.stateFile)
        let theirs = verified.entries.mapValues { SyncedEntry($0.record) }
        let fastForward = try local.map { (l) throws(ShadowError) in try store.isDescendant(remote, of: l) } ?? true
        if verified.rewrote { report.followedRewrite = remote }
        // Onto a rewritten history with nothing unpushed here: the rewrite replaces this branch as it is.
        if fastForward || (verified.rewrote && local == previouslyVerified) {
            try JournalPhase.apply(target: remote, from: local).save(location.journalFile)
            try store.checkout(remote)
            try store.setReference(ShadowRefs.main, to: remote, expecting: local)
            let keptBoth = try applyToPlaintext(theirs, target: remote, report: &report, existing: options.existingFiles)
            try commitKeptVersions(keptBoth, options: options, report: &report)
            return
        }
        guard !readOnly, let local else {
            throw ShadowError(.historyRewritten, "this read-only machine's branch is not an ancestor of the server's: local state is inconsistent",
                              advice: "join the folder again into a new directory")
        }
        // Diverged: three-way merge of the decrypted trees. Against a rewritten history, the base is the
        // head it replaced, and the merge has the rewritten head alone as parent: this machine's commits
        // since then become one commit on top of it, and the replaced history is no longer reachable.
        let base = verified.rewrote ? previouslyVerified : try store.mergeBase(local, remote)
        let baseKinds = try base.map { (b) throws(ShadowError) in try verifier.decryptTree(of: b).mapValues { SyncedEntry($0.record) } } ?? [:]
        let ours = index.tree
        let oursSide = try side(of: local), theirsSide = try side(of: remote)
        let result = ThreeWayMerge.merge(base: baseKinds, ours: ours, theirs: theirs, oursSide: oursSide, theirsSide: theirsSide)
        try JournalPhase.merge(parent: local).save(location.journalFile)
        try writeMerged(result.entries, ours: ours, theirs: verified.entries)
        let merge = try makeCommit(parents: verified.rewrote ? [remote] : [local, remote])
        CrashPoint.reached("merge-commit")
        try JournalPhase.apply(target: merge, from: local).save(location.journalFile)
        try store.setReference(ShadowRefs.main, to: merge, expecting: local)
        report.conflicts += result.conflicts
        try appendConflictLog(result.conflicts)
        // An entry the apply cannot place is kept as a copy named after the side that brought it.
        var sides: [PlainPath: MergeSide] = [:]
        for (p, e) in result.entries where ours[p] != e.entry { sides[p] = e.origin == .ours ? oursSide : theirsSide }
        let keptBoth = try applyToPlaintext(result.entries.mapValues(\.entry), target: merge, report: &report, sides: sides,
                                            existing: options.existingFiles)
        try commitKeptVersions(keptBoth, options: options, report: &report)
    }

    /// Verifies a fetched head against the last verified one. A head on another line of history (the
    /// server showed machines different histories, or the vault moved to a repository another machine
    /// filled) is a fork: refused unless `acceptFork`, then verified from the two lines' merge base, so
    /// every commit this machine has not seen is checked exactly as on a fast-forward.
    private func verifyOrAcceptFork(_ remote: ObjectID, options: SyncOptions) throws(ShadowError) -> VerifiedHistory {
        do throws(ShadowError) {
            return try verifier.verify(head: remote, lastVerified: state.lastVerified, knownSequences: state.peers)
        } catch where error.code == .historyRewritten {
            guard let verified = state.lastVerified else { throw error }
            if error == HistoryVerifier.rewrittenPast(head: remote, verified: verified) {
                // Merging the line a writer's rewrite replaced would put it back on the server.
                guard options.acceptFork else { throw error }
                throw ShadowError(.historyRewritten, "--accept-fork refused: \(error.message); merging this machine's line would put back on the server the history that rewrite took out",
                                  advice: error.advice)
            }
            guard let base = try? store.mergeBase(remote, verified), base != remote else { throw error }
            guard options.acceptFork else {
                throw ShadowError(.historyRewritten,
                                  "the server's branch (\(remote.short)) does not contain commit \(verified.short), which this machine verified before: the two have forked from \(base.short); the server showed machines different histories (or the vault moved to a repository another machine filled), so it rolled back or rewrote this machine's view",
                                  advice: "nothing was changed locally; compare 'shadowsync log' here and on the other machines; if the other line's commits are theirs, run 'shadowsync sync --accept-fork' here: it merges both histories and pushes the merge, and the other machines then sync as usual; if that is refused, 'shadowsync resync' takes the server's history and merges this folder's files onto it (Docs/OPERATIONS.md, \"A fork or a frozen server\")")
            }
            return try verifier.verify(head: remote, lastVerified: base, knownSequences: state.peers)
        }
    }

    /// After an apply that kept a local version beside an incoming one, the index says "synced =
    /// incoming" where the folder holds the local one: commit now, so that a further merge in this pass
    /// (the push lost a race) sees this machine's real tree and cannot resolve the same path again.
    func commitKeptVersions(_ keptBoth: Bool, options: SyncOptions, report: inout SyncReport) throws(ShadowError) {
        guard keptBoth, !readOnly else { return }
        try commitLocal(options: options, report: &report, force: false)
    }

    /// Who made a commit (its encrypted metadata), for deterministic conflict decisions and names.
    func side(of commit: ObjectID) throws(ShadowError) -> MergeSide {
        let meta = try CommitMessage.parse(try store.commit(commit).message, commit: commit, keys: try verifier.keys(at: commit))
        return MergeSide(deviceID: meta.deviceID, wallTimeMillis: meta.wallTimeMillis, commit: commit)
    }

    /// Makes the shadow work tree hold the merged tree: the objects of entries that differ from ours.
    private func writeMerged(_ merged: [PlainPath: MergedEntry], ours: [PlainPath: SyncedEntry],
                             theirs: [PlainPath: VerifiedEntry]) throws(ShadowError) {
        objects.forgetDirectories()
        // Conflict copies first: they may read our objects before those are replaced.
        let ordered = merged.sorted { a, b in (a.value.sourcePath == a.key ? 1 : 0, a.key) < (b.value.sourcePath == b.key ? 1 : 0, b.key) }
        for (path, entry) in ordered where ours[path]?.kind != entry.kind {
            let target = names.locator(for: path)
            switch (entry.kind, entry.origin) {
            case (.file, .theirs):
                guard let source = theirs[entry.sourcePath], let blob = source.contentObject else {
                    throw ShadowError(.malformedObject, "merge: the other side's \(entry.sourcePath) has no content")
                }
                // One segment in memory at a time; segments this path already holds are left as they are.
                let present = Set(objects.segmentNames(target))
                for (name, id) in source.segments where !present.contains(name) {
                    try objects.writeSegment(try store.blob(id, limit: segmentObjectLimitBytes), name: name, of: target)
                }
                try SegmentDirectory(objects: objects, locator: target).keepOnly(Set(source.segments.keys))
                try objects.writeRaw(try store.blob(blob, limit: entry.kind.contentLimitBytes), at: target.contentObjectPath)
            case (.file, .ours):
                let sourceLocator = names.locator(for: entry.sourcePath)
                if sourceLocator != target {
                    let names = objects.segmentNames(sourceLocator)
                    let present = Set(objects.segmentNames(target))
                    for name in names where !present.contains(name) {
                        let from = location.shadow.appending(sourceLocator.segmentObjectPath(name))
                        try objects.writeSegment(try FileSystem.readFile(from, limit: segmentObjectLimitBytes), name: name, of: target)
                    }
                    try SegmentDirectory(objects: objects, locator: target).keepOnly(Set(names))
                }
                let from = location.shadow.appending(sourceLocator.contentObjectPath)
                try objects.writeRaw(try FileSystem.readFile(from, limit: entry.kind.contentLimitBytes), at: target.contentObjectPath)
            default:
                break
            }
        }
        for (path, entry) in ordered where ours[path] != entry.entry {
            let target = names.locator(for: path)
            if case .file = entry.kind {
                try objects.writeRaw(try names.seal(NameRecord(path: path, kind: entry.kind, metadata: entry.metadata)), at: target.nameObjectPath)
            } else {
                try objects.writeRecord(NameRecord(path: path, kind: entry.kind, metadata: entry.metadata))
            }
        }
        for path in ours.keys where merged[path] == nil {
            try objects.remove(path)
        }
    }

    private func appendConflictLog(_ conflicts: [ConflictRecord]) throws(ShadowError) {
        guard !conflicts.isEmpty else { return }
        var log = (try? FileSystem.readFile(location.conflictLog, limit: 1 << 22)) ?? []
        let stamp = ConflictNames.stamp(Clock.nowMillis())
        for c in conflicts { log += Array("\(stamp) \(c)\n".utf8) }
        try FileSystem.writeAtomically(log, to: location.conflictLog, mode: 0o600)
    }

    // MARK: Recovery

    /// Finishes or undoes what a killed run left: the journal says which. A branch holding a commit
    /// ShadowSync did not make is left as it is, for `repair`.
    func recover() throws(ShadowError) {
        let current = try head
        untrusted = try foreignHistory(current)
        if untrusted != nil { return }
        var phase: JournalPhase
        do {
            phase = try JournalPhase.load(location.journalFile)
        } catch where error.code == .malformedObject {
            // Unreadable (a bad disk, a hand edit): which step was interrupted is unknown. Redoing the
            // apply of the branch head is safe after any of them: it puts the shadow tree back to the
            // branch and changes a plaintext file only where it still matches the last synced version
            // (the index's head; when the index is lost too, the branch head is the best guess).
            phase = current.map { .apply(target: $0, from: index.head ?? $0) } ?? .idle
        }
        if phase != .idle { folder.removeLeftoverTemporaries() }
        switch phase {
        case .idle:
            if index.head != current { try rebuildIndex(from: current) }
        case .commit, .merge:
            // Objects were being written: put the shadow tree back to the branch. If the commit itself
            // landed, the index is rebuilt from it (stats unknown: the next scan re-hashes).
            try resetShadow(to: current)
            if index.head != current { try rebuildIndex(from: current) }
        case .apply(let target, let from):
            if current != target { try store.setReference(ShadowRefs.main, to: target, expecting: current) }
            try store.checkout(target)
            if index.head != from && index.head != target { try rebuildIndex(from: from) }
            let kinds = try verifier.decryptTree(of: target).mapValues { SyncedEntry($0.record) }
            var report = SyncReport()
            try applyToPlaintext(kinds, target: target, report: &report)
        }
        // Rewriting an idle journal as idle costs two fsyncs at every start for nothing.
        if phase != .idle { try JournalPhase.idle.save(location.journalFile) }
    }

    private func resetShadow(to commit: ObjectID?) throws(ShadowError) {
        if let commit {
            try store.checkout(commit)
        } else {
            try FileSystem.removeTree(location.shadow.appending("d"))
        }
    }

    /// Rebuilds the index from a commit's tree with unknown stats: every file is hashed on the next scan.
    func rebuildIndex(from commit: ObjectID?) throws(ShadowError) {
        var rebuilt = SyncIndex()
        rebuilt.head = commit
        if let commit {
            try store.checkout(commit)
            for (p, e) in try verifier.decryptTree(of: commit) {
                var fileID = FileID.zero
                if case .file = e.record.kind { fileID = try shadowFileID(p) }
                rebuilt.entries[p] = IndexEntry(SyncedEntry(e.record), fileID: fileID, stat: nil)
            }
            if let h = try head, h != commit { try store.checkout(h) }
        }
        index = rebuilt
        try index.save(location.indexFile)
    }

    /// The lineage file id of a file, read from its content object's header in the shadow tree.
    func shadowFileID(_ path: PlainPath) throws(ShadowError) -> FileID {
        let source = try FileSource(location.shadow.appending(names.locator(for: path).contentObjectPath))
        var header = [UInt8](repeating: 0, count: ContentHeader.size)
        let n = try header.withMutableBytes { (b) throws(ShadowError) in try source.readFully(at: 0, into: b) }
        guard n == header.count else { throw ShadowError(.malformedObject, "the content object of \(path) is truncated") }
        return try ContentHeader.decode(header).fileID
    }
}
