public import ShadowCore
public import ShadowCrypto
import ShadowSystem

/// One commit of the decrypted history.
public struct LogEntry: Sendable {
    public let commit: ObjectID
    public let deviceID: String
    /// The device's name as the log's newest commit shows it (nil: it has none this key can read).
    public let deviceName: String?
    public let sequence: UInt64
    public let wallTimeMillis: UInt64
    public let isMerge: Bool
    /// "+ path", "M path", "- path" against the first parent.
    public let changes: [String]
}

public struct FsckReport: Sendable {
    public var commits = 0
    public var entries = 0
    public var files = 0
    public var bytes: UInt64 = 0
}

/// A sink that keeps nothing: decrypting into it authenticates every chunk.
final class DiscardingSink: ByteSink {
    var count: UInt64 = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) { count += UInt64(bytes.count) }
}

/// Reading history: log, restore, full verification and offline recovery. Works from any clone.
public struct History {
    let keys: VaultKeys
    let store: VersionStore
    /// The synced folder whose shadow repository `store` is (nil: a clone or mirror elsewhere).
    let location: FolderLocation?

    public init(keys: VaultKeys, store: VersionStore, location: FolderLocation? = nil) {
        // The key epochs of the branch head reach every epoch of its history (FORMAT.md §1d); a head
        // whose devices do not check is refused by whatever verifies it next, with these keys or not.
        let head = try? store.reference(ShadowRefs.main)
        self.keys = head.flatMap { try? HistoryVerifier(keys: keys, store: store).keys(at: $0) } ?? keys
        self.store = store
        self.location = location
    }

    /// The keys this history is read with: the key file's, reaching every key epoch of the branch head.
    public var currentKeys: VaultKeys { keys }

    /// The local branch's head (nil before the first commit).
    public var head: ObjectID? { get throws(ShadowError) { try store.reference(ShadowRefs.main) } }

    /// Decrypted history from `head`, newest first; only commits touching `path` (or below it) if given.
    public func log(from head: ObjectID, path: PlainPath? = nil, limit: Int = Int.max) throws(ShadowError) -> [LogEntry] {
        let names = try NameCipher(keys: keys)
        var out: [LogEntry] = []
        var nameBlobs: [ObjectID: [Locator: ObjectID]] = [:]  // per commit: locator → name record blob
        func blobs(_ commit: ObjectID) throws(ShadowError) -> [Locator: ObjectID] {
            if let cached = nameBlobs[commit] { return cached }
            var map: [Locator: ObjectID] = [:]
            for e in try store.entries(ofTree: try store.commit(commit).tree) {
                if let (loc, role) = Locator.parse(objectPath: String(decoding: e.path, as: UTF8.self)), role == .name { map[loc] = e.id }
            }
            nameBlobs[commit] = map
            return map
        }
        func record(_ blob: ObjectID, _ loc: Locator) throws(ShadowError) -> NameRecord {
            try names.open(try store.blob(blob, limit: HistoryVerifier.nameRecordLimitBytes), at: loc)
        }
        try requireOwnCommits(head: head)
        let deviceNames = deviceNames(head: head)
        for commit in try store.commits(from: head, excluding: nil).reversed() {
            let info = try store.commit(commit)
            let meta = try CommitMessage.parse(info.message, commit: commit, keys: keys)
            let now = try blobs(commit)
            let before = try info.parents.first.map { (p) throws(ShadowError) in try blobs(p) } ?? [:]
            var changes: [(PlainPath, String)] = []
            for (loc, blob) in now where before[loc] != blob {
                let r = try record(blob, loc)
                changes.append((r.path, before[loc] == nil ? "+" : "M"))
            }
            for (loc, blob) in before where now[loc] == nil {
                changes.append((try record(blob, loc).path, "-"))
            }
            if let path {
                changes = changes.filter { $0.0 == path || $0.0.bytes.starts(with: path.bytes + [UInt8(ascii: "/")]) }
                if changes.isEmpty { continue }
            }
            out.append(LogEntry(commit: commit, deviceID: String(hexString(meta.deviceID).prefix(8)), deviceName: deviceNames[meta.deviceID], sequence: meta.sequence,
                                wallTimeMillis: meta.wallTimeMillis, isMerge: info.parents.count > 1,
                                changes: changes.sorted { $0.0 < $1.0 }.map { "\($0.1) \($0.0)" }))
            if out.count >= limit { break }
        }
        return out
    }

    /// Verifies the whole history from the root (every signature, sequence and tree shape) and decrypts
    /// every file of `head`, authenticating each chunk.
    public func fsck(head: ObjectID) throws(ShadowError) -> FsckReport {
        try requireOwnCommits(head: head)
        let verified = try HistoryVerifier(keys: keys, store: store).verify(head: head, lastVerified: nil, knownSequences: [:])
        let content = FileContent(keys: try keys.requireRead())
        var report = FsckReport()
        report.commits = verified.newCommits
        report.entries = verified.entries.count
        for (path, e) in verified.entries {
            guard case .file(let length, _, _) = e.record.kind else { continue }
            let sink = DiscardingSink()
            do throws(ShadowError) {
                _ = try e.decrypt(from: store, content: content, to: sink)
            } catch {
                throw ShadowError(error.code, "\(path): \(error.message)")
            }
            guard sink.count == length else { throw ShadowError(.contentMismatch, "\(path) decrypts to \(sink.count) bytes, its record says \(length)") }
            report.files += 1
            report.bytes += sink.count
        }
        return report
    }

    /// Offline recovery: verifies `revision` (default: the main branch) from the root and writes its
    /// whole tree into `out`, which must not exist or be empty. Needs no agent state. Everything is
    /// written into a temporary directory beside `out`, renamed to `out` only once every entry decrypted
    /// and authenticated: a refusal part-way leaves nothing that could pass for a complete restore.
    public func decrypt(revision: String?, to out: BytePath) throws(ShadowError) -> Int {
        let nothingWritten = "nothing was written to \(out)"
        func refusal(_ error: ShadowError) -> ShadowError {
            ShadowError(error.code, "\(error.message); \(nothingWritten)", advice: error.advice)
        }
        if FileSystem.exists(out), try !FileSystem.list(out).isEmpty {
            throw ShadowError(.alreadyExists, "\(out) is not empty; refusing to write into it", advice: "give a new or empty directory")
        }
        let verified: VerifiedHistory
        do throws(ShadowError) {
            let head = try store.resolve(revision ?? ShadowRefs.main)
            verified = try HistoryVerifier(keys: keys, store: store).verify(head: head, lastVerified: nil, knownSequences: [:])
        } catch {
            throw refusal(error)
        }
        try FileSystem.createDirectories(out.directory, mode: 0o755)
        let temporary = try FileSystem.makeTemporaryDirectory(beside: out, tag: History.decryptTag)
        do throws(ShadowError) {
            let target = PlainFolder(root: temporary)
            let content = FileContent(keys: try keys.requireRead())
            var directories: [(PlainPath, EntryMetadata)] = []
            for (path, e) in verified.entries.sorted(by: { $0.key < $1.key }) {
                do throws(ShadowError) {
                    try write(e, at: path, into: target, content: content, directories: &directories)
                } catch {
                    throw ShadowError(error.code, "\(path): \(error.message)", advice: error.advice)
                }
            }
            try settleDirectories(directories, in: target)
            try FileSystem.setPermissions(temporary, History.decryptedFolderMode)
            try FileSystem.renameDirectory(temporary, to: out)
        } catch {
            try? FileSystem.removeTree(temporary)
            throw refusal(error)
        }
        return verified.entries.count
    }

    /// The part of the temporary directory's name `decrypt` writes into, after `.<name of --to>.`.
    static let decryptTag = "shadowsync-decrypt"
    /// The decrypted folder's own permissions once complete (its files keep those of their records).
    static let decryptedFolderMode: UInt32 = 0o755

    /// Writes one verified entry at `path` under `folder`, never replacing anything. A file or symlink
    /// gets its recorded mode and time before it appears; a directory it creates is owner-writable until
    /// `settleDirectories` gives it its recorded mode and time, once its entries are in (`directories`).
    func write(_ e: VerifiedEntry, at path: PlainPath, into folder: PlainFolder, content: FileContent,
               directories: inout [(PlainPath, EntryMetadata)]) throws(ShadowError) {
        let metadata = e.record.metadata
        switch e.record.kind {
        case .directory:
            // A directory that is already there keeps its own mode and time: only what this writes is settled.
            if let there = try folder.entry(path), there.kind == .directory { return }
            try folder.createDirectory(path, permissions: metadata.permissions | History.ownerAccess)
            directories.append((path, metadata))
        case .symlink(let target):
            try folder.writeSymlink(path, target: target, modified: metadata.modified, placement: .create)
        case .file:
            let store = store
            try folder.writeFile(path, mode: metadata.permissions, modified: metadata.modified, placement: .create) { (sink) throws(ShadowError) in
                _ = try e.decrypt(from: store, content: content, to: sink)
            }
        }
    }

    /// Gives each written directory its recorded mode and time, deepest first: writing an entry moves
    /// its directory's time, and a directory's mode could shut out the ones below it.
    func settleDirectories(_ directories: [(PlainPath, EntryMetadata)], in folder: PlainFolder) throws(ShadowError) {
        for (path, metadata) in directories.sorted(by: { $0.0 > $1.0 }) {
            try folder.setAttributes(path, permissions: metadata.permissions, modified: metadata.modified)
        }
    }

    /// Owner read, write and search: what a directory needs while its entries are written into it.
    static let ownerAccess: UInt32 = 0o700

    /// Restores `path` (a file, symlink or a whole directory) as it was at `revision`. By default the
    /// copy goes beside the original as `name.restored-<rev>.ext`; nothing existing is ever replaced.
    public func restore(_ path: PlainPath, at revision: String, plainRoot: BytePath, to destination: BytePath?) throws(ShadowError) -> [String] {
        let commit = try resolveRevision(revision, nowMillis: Clock.nowMillis())
        let tree = try HistoryVerifier(keys: keys, store: store).decryptTree(of: commit)
        let selected = tree.filter { $0.key == path || $0.key.bytes.starts(with: path.bytes + [UInt8(ascii: "/")]) }
        guard !selected.isEmpty else {
            throw ShadowError(.notFound, "\(path) does not exist at \(commit.short)", advice: "see 'shadowsync log \(path)' for the commits that touched it")
        }
        // Where the restored root goes: a folder root and the root's path below it.
        let folder: PlainFolder, root: PlainPath
        if let destination {
            folder = PlainFolder(root: destination.directory)
            root = try PlainPath(bytes: destination.lastComponent)
        } else {
            folder = PlainFolder(root: plainRoot)
            root = try Self.besideName(path, commit: commit)
        }
        let content = FileContent(keys: try keys.requireRead())
        var written: [String] = []
        var directories: [(PlainPath, EntryMetadata)] = []
        for (p, e) in selected.sorted(by: { $0.key < $1.key }) {
            let tail = Array(p.bytes.dropFirst(path.bytes.count))
            let target = try PlainPath(bytes: root.bytes + tail)
            do throws(ShadowError) {
                try write(e, at: target, into: folder, content: content, directories: &directories)
            } catch where error.code == .alreadyExists {
                // What was written so far keeps its recorded modes and times too.
                try? settleDirectories(directories, in: folder)
                throw ShadowError(.alreadyExists, "\(folder.root.appending(target)) already exists; nothing was overwritten",
                                  advice: "choose another place with --to")
            }
            written.append(folder.root.appending(target).description)
        }
        try settleDirectories(directories, in: folder)
        return written
    }

    public static func besideName(_ path: PlainPath, commit: ObjectID) throws(ShadowError) -> PlainPath {
        let (stem, ext) = ConflictNames.splitExtension(path.lastComponent)
        let suffix = Array(".restored-\(commit.hex.prefix(8))".utf8)
        let cut = Array(stem.prefix(maxNameBytes - suffix.count - ext.count))
        return try PlainPath(bytes: (path.parent.map { $0.bytes + [UInt8(ascii: "/")] } ?? []) + cut + suffix + ext)
    }
}
