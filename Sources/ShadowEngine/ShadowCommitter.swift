public import ShadowCore
public import ShadowCrypto
import ShadowFS

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
    let touched = TouchedPaths()

    /// Content objects of files up to this size are encrypted in memory and written in one go (most
    /// files of a typical folder; 1 MiB of memory at most); larger ones stream through a temporary.
    static let inMemoryContentBytes: UInt64 = 1 << 20
    /// Objects are plain files in git's eyes (mode 100644).
    static let objectMode: UInt32 = 0o644

    public init(keys: VaultKeys, shadowRoot: BytePath) throws(ShadowError) {
        self.keys = keys
        self.shadowRoot = shadowRoot
        names = try NameCipher(keys: keys)
    }

    private func objectPath(_ relative: String) throws(ShadowError) -> BytePath {
        let full = shadowRoot.appending(relative)
        touched.insert(relative)
        let dir = full.directory
        if !touched.knownDirectories.contains(dir) {
            try FileSystem.createDirectories(dir, mode: 0o755)
            touched.knownDirectories.insert(dir)
        }
        return full
    }

    /// Forgets which object directories exist. Call before each batch of writes: a checkout between
    /// batches removes directories it emptied, and a stale entry made every later write into that
    /// directory fail as "not found" for the life of the process (a daemon then never committed a
    /// new file whose locator fell there).
    func forgetDirectories() {
        touched.knownDirectories.removeAll()
    }

    /// Encrypts a regular file and writes its content object and name record; returns the record.
    @discardableResult
    public func writeFile(_ path: PlainPath, from source: ByteSource, fileID: FileID, executable: Bool,
                          parameters: ContentParameters = .default) throws(ShadowError) -> NameRecord {
        let locator = names.locator(for: path)
        let cipher = ContentCipher(keys: try keys.requireRead())
        let header: ContentHeader
        if source.length <= ShadowObjects.inMemoryContentBytes {
            let sink = MemorySink()
            header = try cipher.encrypt(source, fileID: fileID, parameters: parameters, to: sink)
            try FileSystem.overwrite(sink.bytes, at: try objectPath(locator.contentObjectPath), mode: ShadowObjects.objectMode)
        } else {
            let writer = try AtomicFileWriter(destination: try objectPath(locator.contentObjectPath), durable: false)
            header = try cipher.encrypt(source, fileID: fileID, parameters: parameters, to: writer)
            try writer.commit()
        }
        let record = NameRecord(path: path, kind: .file(length: source.length, siv: header.siv, executable: executable))
        try FileSystem.overwrite(try names.seal(record), at: try objectPath(locator.nameObjectPath), mode: ShadowObjects.objectMode)
        return record
    }

    /// Writes the name record of a directory or symlink (and removes a stale content object).
    public func writeRecord(_ record: NameRecord) throws(ShadowError) {
        let locator = names.locator(for: record.path)
        if case .file = record.kind {
            throw ShadowError(.invalidArgument, "files are written with writeFile, which encrypts their content")
        }
        try FileSystem.overwrite(try names.seal(record), at: try objectPath(locator.nameObjectPath), mode: ShadowObjects.objectMode)
        try FileSystem.removeTree(try objectPath(locator.contentObjectPath))
    }

    /// Writes an object's bytes as they are (copied from another tree or commit).
    public func writeRaw(_ bytes: [UInt8], at relative: String) throws(ShadowError) {
        try FileSystem.overwrite(bytes, at: try objectPath(relative), mode: ShadowObjects.objectMode)
    }

    /// Removes an entry's objects from the shadow tree.
    public func remove(_ path: PlainPath) throws(ShadowError) {
        let locator = names.locator(for: path)
        try FileSystem.removeTree(try objectPath(locator.nameObjectPath))
        try FileSystem.removeTree(try objectPath(locator.contentObjectPath))
    }
}

/// Shadow-tree paths written since the last commit (and directories known to exist).
final class TouchedPaths: @unchecked Sendable {
    var paths: Set<String> = []
    var knownDirectories: Set<BytePath> = []
    func insert(_ p: String) { paths.insert(p) }
}

/// Turns the shadow work tree into signed commits. Before every commit it checks that the staged tree
/// holds nothing but ShadowSync objects: the key file (and anything else a user drops into the shadow
/// directory) can never leave the machine, even if .git/info/exclude were lost.
public struct ShadowCommitter {
    let keys: VaultKeys
    let store: VersionStore
    let shadowRoot: BytePath
    let deviceID: [UInt8]
    /// The objects of this committer's work tree.
    public let objects: ShadowObjects

    public init(keys: VaultKeys, store: VersionStore, shadowRoot: BytePath, deviceID: [UInt8]) throws(ShadowError) {
        self.keys = keys
        self.store = store
        self.shadowRoot = shadowRoot
        self.deviceID = deviceID
        objects = try ShadowObjects(keys: keys, shadowRoot: shadowRoot)
    }

    /// Stages the work tree, checks it, and creates a signed commit (no reference moves).
    public func commit(parents: [ObjectID], sequence: UInt64, wallTimeMillis: UInt64) throws(ShadowError) -> ObjectID {
        try commit(parents: parents, sequence: sequence, wallTimeMillis: wallTimeMillis, touched: nil)
    }

    /// Commits, staging only `touched` (plus the two fixed files: the sync engine's path, whose cost is
    /// per change) or, with nil, the whole work tree (a stray file there is then refused by the check).
    func commit(parents: [ObjectID], sequence: UInt64, wallTimeMillis: UInt64, touched: TouchedPaths?) throws(ShadowError) -> ObjectID {
        try FileSystem.writeAtomically(HistoryVerifier.gitattributes, to: shadowRoot.appending(".gitattributes"), mode: 0o644, durable: false)
        try FileSystem.writeAtomically(try VaultDescriptor.make(keys), to: shadowRoot.appending(VaultDescriptor.fileName), mode: 0o644, durable: false)
        let tree: ObjectID
        if let touched {
            tree = try store.stage([".gitattributes", VaultDescriptor.fileName] + touched.paths.sorted())
            touched.paths.removeAll()
        } else {
            tree = try store.stageAll()
        }
        for entry in try store.entries(ofTree: tree) {
            let path = String(decoding: entry.path, as: UTF8.self)
            guard path == ".gitattributes" || path == VaultDescriptor.fileName || Locator.parse(objectPath: path) != nil else {
                throw ShadowError(.invalidArgument, "refusing to commit \(PlainPath.render(entry.path)) from the shadow directory: only encrypted objects may leave this machine",
                                  advice: "move that file out of \(shadowRoot)")
            }
        }
        let metadata = CommitMetadata(deviceID: deviceID, sequence: sequence, wallTimeMillis: wallTimeMillis, epoch: try keys.requireRead().epoch)
        let message = try CommitMessage.make(metadata, keys: keys)
        return try store.createCommit(tree: tree, parents: parents, message: message) { (buffer) throws(ShadowError) -> String in
            Signatures.text(try Signatures.sign(buffer, purpose: .commit, keys: keys))
        }
    }
}
