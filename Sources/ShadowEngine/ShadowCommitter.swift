public import ShadowCore
public import ShadowCrypto
import ShadowSystem
import Synchronization

/// Writes encrypted objects (content `.c`, name record `.n`) into a shadow tree directory and remembers
/// which paths it touched, so a commit stages only those. Not fsynced, and written in place: the work
/// tree can always be rebuilt from git (whose objects are flushed before any ref points at them) by a
/// checkout, which is what recovery does after a pass that wrote objects was killed or failed
/// (`SyncEngine.recover`). An object is written only once it is complete in memory or, for a large
/// file, through a temporary, so a file that changes while it is read never leaves a torn object.
public struct ShadowObjects {
    let keys: VaultKeys
    let shadowRoot: BytePath
    let names: NameCipher
    let touched: TouchedPaths

    /// Content objects of files up to this size are encrypted in memory and written in one go (most
    /// files of a typical folder; 1 MiB of memory at most); larger ones stream through a temporary.
    static let inMemoryContentBytes: UInt64 = 1 << 20
    /// Objects are plain files in git's eyes (mode 100644).
    static let objectMode: UInt32 = 0o644

    public init(keys: VaultKeys, shadowRoot: BytePath) throws(ShadowError) {
        self.keys = keys
        self.shadowRoot = shadowRoot
        names = try NameCipher(keys: keys)
        touched = TouchedPaths()
    }

    /// The same work tree (and the paths touched so far) written with `keys`: a later key epoch.
    func with(keys: VaultKeys, names: NameCipher) -> ShadowObjects {
        ShadowObjects(keys: keys, shadowRoot: shadowRoot, names: names, touched: touched)
    }

    private init(keys: VaultKeys, shadowRoot: BytePath, names: NameCipher, touched: TouchedPaths) {
        self.keys = keys
        self.shadowRoot = shadowRoot
        self.names = names
        self.touched = touched
    }

    /// The full path of an object about to be written or removed, marked for staging.
    func objectPathMarked(_ relative: String) throws(ShadowError) -> BytePath { try objectPath(relative) }

    private func objectPath(_ relative: String) throws(ShadowError) -> BytePath {
        let full = shadowRoot.appending(relative)
        touched.insert(relative)
        let dir = full.directory
        if !touched.isKnownDirectory(dir) {
            try FileSystem.createDirectories(dir, mode: 0o755)  // tolerates a lane creating it at once
            touched.markKnownDirectory(dir)
        }
        return full
    }

    /// Writes an object whole and keeps its bytes and stat for staging.
    private func writeObject(_ bytes: [UInt8], at relative: String) throws(ShadowError) {
        let stat = try FileSystem.overwrite(bytes, at: try objectPath(relative), mode: ShadowObjects.objectMode)
        touched.keep(relative, WrittenFile(bytes: bytes, stat: stat))
    }

    /// Forgets which object directories exist, and the objects kept for staging. Call before each
    /// batch of writes: a checkout between batches removes directories it emptied, and a stale entry
    /// made every later write into that directory fail as "not found" for the life of the process (a
    /// daemon then never committed a new file whose locator fell there).
    func forgetDirectories() {
        touched.forgetDirectories()
    }

    /// Encrypts a regular file and writes its content object and name record; returns the record. A file
    /// over `Segmenting.thresholdBytes` becomes segment objects in its segment directory (only those not
    /// already there are encrypted and written; those no longer listed are removed) and a segment list.
    /// Either way an object is written whole from memory: a segment or a small file, at most about 1 MiB.
    @discardableResult
    public func writeFile(_ path: PlainPath, from source: ByteSource, fileID: FileID, executable: Bool, metadata: EntryMetadata? = nil,
                          parameters: ContentParameters = .default) throws(ShadowError) -> NameRecord {
        let locator = names.locator(for: path)
        let content = FileContent(keys: try keys.requireRead())
        let directory = SegmentDirectory(objects: self, locator: locator)
        let sink = MemorySink()
        let header: ContentHeader, segments: [SegmentRef]
        do {
            (header, segments) = try content.encrypt(source, fileID: fileID, parameters: parameters, to: sink, segments: directory)
        } catch {
            // A file that changed or vanished while read is retried later; the segments written for it
            // must not be committed beside a list that does not name them.
            directory.discardWritten()
            throw error
        }
        try writeObject(sink.bytes, at: locator.contentObjectPath)
        try directory.keepOnly(Set(segments.map(\.name)))
        let record = NameRecord(path: path, kind: .file(length: source.length, siv: header.siv, executable: executable), metadata: metadata)
        try writeObject(try names.seal(record), at: locator.nameObjectPath)
        return record
    }

    /// The names of the segment objects in an entry's segment directory (none when it has none).
    func segmentNames(_ locator: Locator) -> [String] {
        let dir = shadowRoot.appending(locator.segmentDirectoryPath)
        return ((try? FileSystem.list(dir)) ?? []).map { String(decoding: $0, as: UTF8.self) }.filter { SegmentRef.isName(Array($0.utf8)) }
    }

    /// Removes an entry's segment directory, each object marked for staging as removed.
    func removeSegments(_ locator: Locator) throws(ShadowError) {
        for name in segmentNames(locator) { try FileSystem.removeTree(try objectPath(locator.segmentObjectPath(name))) }
        try FileSystem.removeTree(shadowRoot.appending(locator.segmentDirectoryPath))
    }

    /// Writes a segment object's bytes into an entry's segment directory.
    func writeSegment(_ bytes: [UInt8], name: String, of locator: Locator) throws(ShadowError) {
        try writeObject(bytes, at: locator.segmentObjectPath(name))
    }

    /// Writes the name record of a directory or symlink (and removes a stale content object).
    public func writeRecord(_ record: NameRecord) throws(ShadowError) {
        let locator = names.locator(for: record.path)
        if case .file = record.kind {
            throw ShadowError(.invalidArgument, "files are written with writeFile, which encrypts their content")
        }
        try writeObject(try names.seal(record), at: locator.nameObjectPath)
        try FileSystem.removeTree(try objectPath(locator.contentObjectPath))
        try removeSegments(locator)
    }

    /// Writes a file's name record alone: its metadata changed, its content object stays.
    public func writeFileRecord(_ record: NameRecord) throws(ShadowError) {
        guard case .file = record.kind else { throw ShadowError(.invalidArgument, "only a file's record is written without its content") }
        try writeObject(try names.seal(record), at: names.locator(for: record.path).nameObjectPath)
    }

    /// Writes an object's bytes as they are (copied from another tree or commit).
    public func writeRaw(_ bytes: [UInt8], at relative: String) throws(ShadowError) {
        try writeObject(bytes, at: relative)
    }

    /// Removes an entry's objects from the shadow tree.
    public func remove(_ path: PlainPath) throws(ShadowError) {
        let locator = names.locator(for: path)
        try FileSystem.removeTree(try objectPath(locator.nameObjectPath))
        try FileSystem.removeTree(try objectPath(locator.contentObjectPath))
        try removeSegments(locator)
    }
}

/// One entry's segment directory as a writer sees it: the segments already there are kept as they are.
final class SegmentDirectory: SegmentWriter {
    let objects: ShadowObjects
    let locator: Locator
    private let present: Set<String>
    /// Segments this writer added that were not there before.
    private var written: Set<String> = []

    init(objects: ShadowObjects, locator: Locator) {
        self.objects = objects
        self.locator = locator
        present = Set(objects.segmentNames(locator))
    }

    func holds(_ name: String) -> Bool { present.contains(name) }

    func write(_ name: String, _ object: [UInt8]) throws(ShadowError) {
        if !present.contains(name) { written.insert(name) }
        try objects.writeSegment(object, name: name, of: locator)
    }

    /// Removes the segments this writer added, leaving the directory as the last written list names it
    /// (or gone when there was none). Best effort: it runs while another error is reported.
    func discardWritten() {
        for name in written { try? FileSystem.removeTree(objects.shadowRoot.appending(locator.segmentObjectPath(name))) }
        written.removeAll()
        if present.isEmpty { try? FileSystem.removeTree(objects.shadowRoot.appending(locator.segmentDirectoryPath)) }
    }

    /// Removes the segments of an earlier version that the new list does not name.
    func keepOnly(_ names: Set<String>) throws(ShadowError) {
        if names.isEmpty && present.isEmpty { return }
        for name in present where !names.contains(name) {
            try FileSystem.removeTree(try objects.objectPathMarked(locator.segmentObjectPath(name)))
        }
        if names.isEmpty { try FileSystem.removeTree(objects.shadowRoot.appending(locator.segmentDirectoryPath)) }
    }
}

/// Shadow-tree paths written or removed since the last commit, the objects written whole (kept for
/// staging, which then need not read them back), and directories known to exist. Locked: the lanes of
/// a commit write objects in parallel.
final class TouchedPaths: Sendable {
    private struct State {
        var paths: Set<String> = []
        var kept: [String: WrittenFile] = [:]
        var keptBytes = 0
        var knownDirectories: Set<BytePath> = []
    }
    private let state = Mutex(State())

    /// Object bytes kept for staging at most, in all: the size of one staging pack batch
    /// (`GitRepository.packBatchBytes`). Objects past it are read back from disk.
    static let keptBytesLimit = 8 << 20

    /// Marks a path as changed; whatever was kept for it no longer describes the file.
    func insert(_ p: String) {
        state.withLock { s in
            s.paths.insert(p)
            if let old = s.kept.removeValue(forKey: p) { s.keptBytes -= old.bytes.count }
        }
    }

    func keep(_ p: String, _ file: WrittenFile) {
        state.withLock { s in
            guard s.keptBytes + file.bytes.count <= TouchedPaths.keptBytesLimit else { return }
            if let old = s.kept.updateValue(file, forKey: p) { s.keptBytes -= old.bytes.count }
            s.keptBytes += file.bytes.count
        }
    }

    func isKnownDirectory(_ d: BytePath) -> Bool { state.withLock { $0.knownDirectories.contains(d) } }
    func markKnownDirectory(_ d: BytePath) { _ = state.withLock { $0.knownDirectories.insert(d) } }

    func forgetDirectories() {
        state.withLock { s in
            s.knownDirectories.removeAll()
            s.kept.removeAll()
            s.keptBytes = 0
        }
    }

    /// The paths to stage, sorted, with what was kept of them.
    func pending() -> (paths: [String], kept: [String: WrittenFile]) {
        state.withLock { s in (s.paths.sorted(), s.kept) }
    }

    /// Forgets the paths and objects `pending` returned, once they are staged.
    func staged() {
        state.withLock { s in
            s.paths.removeAll()
            s.kept.removeAll()
            s.keptBytes = 0
        }
    }

    /// Forgets everything (a failed pass: the next one starts from what is on disk).
    func reset() {
        state.withLock { $0 = State() }
    }
}

/// Turns the shadow work tree into signed commits. Before every commit it checks that the staged tree
/// holds nothing but ShadowSync objects: the key file (and anything else a user drops into the shadow
/// directory) can never leave the machine, even if .git/info/exclude were lost.
public struct ShadowCommitter {
    let keys: VaultKeys
    let store: LocalHistory
    let shadowRoot: BytePath
    let device: DeviceKeys
    /// The name this device should carry in history (nil: keep whatever it has).
    let deviceName: String?
    /// The objects of this committer's work tree.
    public let objects: ShadowObjects

    /// Where a join by invite left this device's admission record until its first commit publishes it.
    let pendingAdmission: BytePath?

    public init(keys: VaultKeys, store: LocalHistory, shadowRoot: BytePath, deviceName: String? = nil,
                pendingAdmission: BytePath? = nil) throws(ShadowError) {
        self.keys = keys
        self.pendingAdmission = pendingAdmission
        self.store = store
        self.shadowRoot = shadowRoot
        device = try keys.requireDevice()
        self.deviceName = deviceName
        objects = try ShadowObjects(keys: keys, shadowRoot: shadowRoot)
    }

    /// True when committing would change this device's own files (its admission, or a new name): a
    /// pass then commits even with no change in the folder.
    public static func devicePending(keys: VaultKeys, location: FolderLocation, deviceName: String?) -> Bool {
        let shadowRoot = location.shadow
        guard location.deviceRole(keys) == .readWrite, let device = keys.device else { return false }
        guard FileSystem.exists(shadowRoot.appending(DevicePaths.record(device.id))) else { return true }
        guard let deviceName else { return false }
        return currentName(of: device, keys: keys, shadowRoot: shadowRoot)?.name != deviceName
    }

    /// The name object in the work tree for `device`, opened (nil when absent or unreadable).
    static func currentName(of device: DeviceKeys, keys: VaultKeys, shadowRoot: BytePath) -> DeviceName? {
        guard let recordBytes = try? FileSystem.readFile(shadowRoot.appending(DevicePaths.record(device.id)), limit: DevicePaths.fileLimitBytes),
              let record = try? DeviceRecord.parse(recordBytes, vaultID: keys.vaultID),
              let bytes = try? FileSystem.readFile(shadowRoot.appending(DevicePaths.name(device.id)), limit: DevicePaths.fileLimitBytes) else { return nil }
        return try? DeviceName.open(bytes, record: record, keys: keys)
    }

    /// Brings the work tree's `devices/` up to what this commit must hold: every device file of every
    /// parent (a merge keeps both sides' records, and the newer of two names), this device's own record
    /// (admitted by the vault key on its first commit) and its name. Returns the paths written.
    func writeDeviceFiles(parents: [ObjectID]) throws(ShadowError) -> [String] {
        var written: [String] = []
        func put(_ bytes: [UInt8], _ path: String) throws(ShadowError) {
            let full = shadowRoot.appending(path)
            if (try? FileSystem.readFile(full, limit: DevicePaths.fileLimitBytes)) == bytes { return }
            try FileSystem.createDirectories(full.directory, mode: 0o755)
            try FileSystem.writeAtomically(bytes, to: full, mode: ShadowObjects.objectMode, durable: false)
            written.append(path)
        }
        for parent in parents {
            let tree = try store.commit(parent).tree
            guard let directory = try store.directoryBlobs(DevicePaths.directory, ofTree: tree, limit: DevicePaths.fileLimitBytes,
                                                           maximumCount: DevicePaths.maximumFiles) else { continue }
            for blob in directory.blobs {
                let path = DevicePaths.directory + "/" + String(decoding: blob.name, as: UTF8.self)
                let full = shadowRoot.appending(path)
                if let here = try? FileSystem.readFile(full, limit: DevicePaths.fileLimitBytes) {
                    // Two names for one device: the higher sequence wins on every machine alike.
                    guard path.hasSuffix(".name"), let mine = try? DeviceName.peek(here), let theirs = try? DeviceName.peek(blob.bytes),
                          theirs.sequence > mine.sequence else { continue }
                }
                try put(blob.bytes, path)
            }
        }
        let recordPath = DevicePaths.record(device.id)
        let record: DeviceRecord
        if let bytes = try? FileSystem.readFile(shadowRoot.appending(recordPath), limit: DevicePaths.fileLimitBytes) {
            record = try DeviceRecord.parse(bytes, vaultID: keys.vaultID)
        } else if let pendingAdmission, let bytes = try? FileSystem.readFile(pendingAdmission, limit: DevicePaths.fileLimitBytes) {
            record = try DeviceRecord.parse(bytes, vaultID: keys.vaultID)
            try put(record.bytes, recordPath)
        } else {
            record = try DeviceRecord.make(device: device, role: .readWrite, by: nil, keys: keys, atMillis: Clock.nowMillis())
            try put(record.bytes, recordPath)
        }
        // Files written into devices/ outside a commit (an invite) are staged with it.
        for name in (try? FileSystem.list(shadowRoot.appending(DevicePaths.directory))) ?? [] {
            let path = DevicePaths.directory + "/" + String(decoding: name, as: UTF8.self)
            if DevicePaths.isDevicePath(path), !written.contains(path) { written.append(path) }
        }
        if let deviceName {
            let current = ShadowCommitter.currentName(of: device, keys: keys, shadowRoot: shadowRoot)
            if current?.name != deviceName {
                let sequence = (try? FileSystem.readFile(shadowRoot.appending(DevicePaths.name(device.id)), limit: DevicePaths.fileLimitBytes))
                    .flatMap { try? DeviceName.peek($0).sequence } ?? 0
                let name = DeviceName(deviceID: device.id, sequence: sequence + 1, name: deviceName)
                try put(try name.seal(device: device, keys: keys), DevicePaths.name(device.id))
            }
        }
        return written
    }

    /// Stages the work tree, checks it, and creates a signed commit (no reference moves).
    public func commit(parents: [ObjectID], sequence: UInt64, wallTimeMillis: UInt64) throws(ShadowError) -> ObjectID {
        try commit(parents: parents, sequence: sequence, wallTimeMillis: wallTimeMillis, touched: nil)
    }

    /// Commits, staging only `touched` (plus the two fixed files: the sync engine's path, whose cost is
    /// per change) or, with nil, the whole work tree (a stray file there is then refused by the check).
    func commit(parents: [ObjectID], sequence: UInt64, wallTimeMillis: UInt64, touched: TouchedPaths?,
                replacing: ObjectID? = nil) throws(ShadowError) -> ObjectID {
        try FileSystem.writeAtomically(HistoryVerifier.gitattributes, to: shadowRoot.appending(".gitattributes"), mode: 0o644, durable: false)
        // Only a holder of the vault key can sign vault.json; a device admitted by invite keeps the
        // one its checkout brought (the same bytes: the descriptor is deterministic).
        if keys.canSign {
            try FileSystem.writeAtomically(try VaultDescriptor.make(keys), to: shadowRoot.appending(VaultDescriptor.fileName), mode: 0o644, durable: false)
        }
        let devicePaths = try writeDeviceFiles(parents: parents)
        let tree: ObjectID
        if let touched {
            let (paths, kept) = touched.pending()
            tree = try store.stage([".gitattributes", VaultDescriptor.fileName] + devicePaths + paths, written: kept)
            touched.staged()
        } else {
            tree = try store.stageAll()
        }
        // The first parent's tree passed this check (or the verifier's) already: only what differs from
        // it can be new, so a one-file commit checks a few entries, not the whole tree.
        let staged: [TreeEntry]
        if let first = parents.first {
            staged = try store.entries(ofTree: tree, changedFrom: try store.commit(first).tree)
        } else {
            staged = try store.entries(ofTree: tree)
        }
        for entry in staged {
            let path = String(decoding: entry.path, as: UTF8.self)
            guard path == ".gitattributes" || path == VaultDescriptor.fileName || DevicePaths.isDevicePath(path) || Locator.parse(objectPath: path) != nil else {
                throw ShadowError(.invalidArgument, "refusing to commit \(PlainPath.render(entry.path)) from the shadow directory: only encrypted objects may leave this machine",
                                  advice: "move that file out of \(shadowRoot)")
            }
        }
        let metadata = CommitMetadata(deviceID: device.id, sequence: sequence, wallTimeMillis: wallTimeMillis, epoch: try keys.requireRead().epoch)
        let message = try CommitMessage.make(metadata, keys: keys, replacing: replacing)
        return try store.createCommit(tree: tree, parents: parents, message: message) { (buffer) throws(ShadowError) -> String in
            Signatures.text(Signatures.sign(buffer, purpose: .commit, device: device, vaultID: keys.vaultID))
        }
    }

    /// Re-creates `original` with another tree and parents for a rewrite (FORMAT.md §5.4): its sealed
    /// metadata kept as it was, a rewrite record naming it, signed by this device.
    static func recreate(_ original: CommitInfo, tree: ObjectID, parents: [ObjectID], keys: VaultKeys,
                         store: LocalHistory) throws(ShadowError) -> ObjectID {
        let device = try keys.requireDevice()
        guard let sealed = CommitMessage.sealedMetadata(original.message) else {
            throw ShadowError(.malformedObject, "commit \(original.id.short) does not carry ShadowSync metadata: it cannot be re-created")
        }
        let message = CommitMessage.make(sealed: sealed, replacing: original.id)
        return try store.createCommit(tree: tree, parents: parents, message: message) { (buffer) throws(ShadowError) -> String in
            Signatures.text(Signatures.sign(buffer, purpose: .commit, device: device, vaultID: keys.vaultID))
        }
    }
}
