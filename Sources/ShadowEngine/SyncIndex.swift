#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ShadowCore
import ShadowCrypto
import ShadowSystem

/// What the index knows about one path: its synced kind, the lineage file id of a file (so an edit or a
/// rename keeps producing the same content object for the same bytes), and the stat the plaintext had
/// when it matched (nil: unknown, hash before trusting).
struct IndexEntry: Equatable, Sendable {
    var kind: EntryKind
    var fileID: FileID
    var stat: StatKey?
    /// In the tree but deliberately not in this folder: removed, or never received, while an ignore
    /// rule covered it. Not a deletion; once no rule covers it, it is written from the tree again.
    var absent = false
    /// The synced metadata (the tree's record): mode, modification time, the device that wrote it.
    var metadata: EntryMetadata

    init(kind: EntryKind, fileID: FileID, stat: StatKey?, absent: Bool = false, metadata: EntryMetadata? = nil) {
        let entry = SyncedEntry(kind, metadata)
        self.kind = entry.kind
        self.fileID = fileID
        self.stat = stat
        self.absent = absent
        self.metadata = entry.metadata
    }

    init(_ entry: SyncedEntry, fileID: FileID, stat: StatKey?, absent: Bool = false) {
        self.init(kind: entry.kind, fileID: fileID, stat: stat, absent: absent, metadata: entry.metadata)
    }

    var tree: SyncedEntry { SyncedEntry(kind, metadata) }

    /// True when the stat alone shows `now` unchanged, reading nothing: a directory or file as recorded
    /// (a file's length and exec bit too), with the very stat recorded, outside the racy window.
    func statVouches(for now: ScannedEntry, recordedAtNs: Int64) -> Bool {
        guard let stat, stat == now.stat else { return false }
        switch (now.kind, kind) {
        case (.directory, .directory): return true
        case (.file(let executable), .file(let length, _, let wasExecutable)):
            return executable == wasExecutable && length == stat.size && !stat.isRacy(recordedAtNs: recordedAtNs)
        default: return false
        }
    }

    /// What the scan may settle this entry as without asking the engine (`ExpectedTree`): the kind
    /// `statVouches` accepts, for an entry present here whose stat vouches for it whenever it is unchanged,
    /// and a directory only when it carries no file id (one that does was a file's path before).
    func settledKind(recordedAtNs: Int64) -> ExpectedTree.Kind? {
        let shape: Shape
        switch kind {
        case .directory: shape = .directory(hasFileID: fileID != .zero)
        case .file(let length, _, let executable): shape = .file(length: length, executable: executable)
        case .symlink: shape = .symlink
        }
        return IndexEntry.settledKind(shape, stat: stat, absent: absent, recordedAtNs: recordedAtNs)
    }

    /// What `settledKind` looks at besides the stat: the index's fast load judges from the fields it
    /// read, without making an entry.
    enum Shape {
        case file(length: UInt64, executable: Bool)
        case directory(hasFileID: Bool)
        case symlink
    }

    static func settledKind(_ shape: Shape, stat: StatKey?, absent: Bool, recordedAtNs: Int64) -> ExpectedTree.Kind? {
        guard !absent, let stat else { return nil }
        switch shape {
        case .directory(let hasFileID): return hasFileID ? nil : .directory
        case .file(let length, let executable):
            guard length == stat.size && !stat.isRacy(recordedAtNs: recordedAtNs) else { return nil }
            return executable ? .executableFile : .file
        case .symlink: return nil
        }
    }
}

/// The persistent stat index (git's index idea): the tree of `head`, path by path, with the plaintext's
/// stat. A no-op sync compares one lstat per path with it and reads nothing.
///
/// `load` validates the whole file and builds the scan's `ExpectedTree` from it in one pass over the
/// bytes, without a path or an entry per file; the table of `entries` is decoded only when a pass
/// needs it (something changed). A no-op pass of a new process never does: decoding was a fifth of it.
struct SyncIndex: Sendable {
    var head: ObjectID?
    /// When the index was written: entries modified within the racy window of this time are re-hashed.
    var recordedAtNs: Int64 = 0 {
        didSet { expected = nil }  // which stats vouch depends on it
    }
    /// The entries, decoded from `undecoded` at first use.
    var entries: [PlainPath: IndexEntry] {
        mutating get { decodeIfNeeded(); return decoded }
        _modify {
            decodeIfNeeded()
            expected = nil
            yield &decoded
        }
    }
    /// The number of entries, decoded or not.
    var count: Int { undecoded?.count ?? decoded.count }

    private var decoded: [PlainPath: IndexEntry] = [:]
    /// The file's bytes as `load` validated them, until `entries` is first used.
    private var undecoded: (bytes: [UInt8], count: Int)?
    /// The entries the scan may settle; nil after a change, rebuilt by `expectedTree()`.
    private var expected: ExpectedTree?

    static let magic = Array("SHIX".utf8)
    static let version: UInt8 = 2
    /// An index larger than this is not ours (a million entries of maximal size is far less).
    static let limitBytes = 1 << 30
    /// About what one entry takes encoded (a file with a 30-byte path and its stat), to size the output once.
    static let typicalEntryBytes = 160

    init() {}

    var kinds: [PlainPath: EntryKind] { mutating get { entries.mapValues(\.kind) } }
    /// The head's tree as the index records it.
    var tree: [PlainPath: SyncedEntry] { mutating get { entries.mapValues(\.tree) } }

    /// What the scan may settle: the entries whose stat vouches for them (`IndexEntry.settledKind`).
    mutating func expectedTree() -> ExpectedTree {
        if let expected { return expected }
        let builder = ExpectedTree.Builder(capacity: count)
        for (p, e) in entries {
            guard let kind = e.settledKind(recordedAtNs: recordedAtNs), let stat = e.stat else { continue }
            p.bytes.withUnsafeBytes { builder.add($0, kind: kind, stat: stat) }
        }
        let tree = builder.build()
        expected = tree
        return tree
    }

    private mutating func decodeIfNeeded() {
        guard let (bytes, _) = undecoded else { return }
        undecoded = nil
        var entries: [PlainPath: IndexEntry] = [:], count = 0
        // `load` parsed these very bytes without an error, so this cannot fail; were it to, the index is
        // only a cache: an empty one makes the next scan re-read every file, never lose one.
        _ = try? SyncIndex.decode(bytes, entries: &entries, entryCount: &count, expected: nil)
        decoded = entries
    }

    mutating func encode() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(SyncIndex.magic); w.u8(SyncIndex.version)
        w.blob(Array((head?.hex ?? "").utf8), width: 1)
        w.u64(UInt64(bitPattern: recordedAtNs))
        w.u64(UInt64(count))
        // Bytewise order by memcmp (PlainPath's `<` goes through the generic sequence comparison).
        let sorted = entries.sorted { a, b in
            a.key.bytes.withUnsafeBytes { x in b.key.bytes.withUnsafeBytes { y in SyncIndex.precedes(x, y) } }
        }
        w.out.reserveCapacity(sorted.count * SyncIndex.typicalEntryBytes)
        for (path, e) in sorted {
            w.blob(path.bytes, width: 2)
            switch e.kind {
            case .file(let length, let siv, let executable):
                w.u8(1); w.u64(length); w.bytes(siv); w.u8(executable ? 1 : 0); w.bytes(e.fileID.bytes)
            case .directory:
                w.u8(2)
            case .symlink(let target):
                w.u8(3); w.blob(target, width: 2)
            }
            let m = e.metadata
            w.u64(UInt64(m.permissions)); w.u64(UInt64(bitPattern: m.modified.seconds)); w.u64(UInt64(m.modified.nanoseconds)); w.bytes(m.modifiedBy)
            // The plaintext's state: 0 stat unknown, 1 stat follows, 2 absent (ignored here).
            if e.absent {
                w.u8(2)
            } else if let s = e.stat {
                w.u8(1); w.u64(s.size); w.u64(UInt64(bitPattern: s.mtimeNs)); w.u64(UInt64(bitPattern: s.ctimeNs)); w.u64(s.inode); w.u64(s.device)
            } else {
                w.u8(0)
            }
        }
        return w.out
    }

    /// Decodes every entry at once (tests, and files of other versions: there are none yet).
    static func decode(_ bytes: [UInt8]) throws(ShadowError) -> SyncIndex {
        var entries: [PlainPath: IndexEntry] = [:], count = 0
        var index = try decode(bytes, entries: &entries, entryCount: &count, expected: nil)
        index.decoded = entries
        return index
    }

    /// Validates `bytes` whole and reads its header. Fills `entries` (a table of every entry) or
    /// `expected` (only the settled-able entries, as borrowed bytes), whichever is given.
    private static func decode(_ bytes: [UInt8], entries: inout [PlainPath: IndexEntry], entryCount: inout Int,
                               expected: ExpectedTree.Builder?) throws(ShadowError) -> SyncIndex {
        var result = Result<SyncIndex, ShadowError>.failure(ShadowError(.malformedObject, "index not decoded"))
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(ShadowError) in try decode(raw, entries: &entries, entryCount: &entryCount, expected: expected) }
        }
        return try result.get()
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, entries: inout [PlainPath: IndexEntry], entryCount: inout Int,
                               expected: ExpectedTree.Builder?) throws(ShadowError) -> SyncIndex {
        var r = ByteReader(bytes)
        guard try r.take(4) == magic, try r.u8() == version else { throw ShadowError(.malformedObject, "not a ShadowSync index") }
        var index = SyncIndex()
        let headText = String(decoding: try r.blob(width: 1), as: UTF8.self)
        if !headText.isEmpty {
            guard let h = ObjectID(hex: headText) else { throw ShadowError(.malformedObject, "index names a bad commit id") }
            index.head = h
        }
        index.recordedAtNs = Int64(bitPattern: try r.u64())
        let count = try r.u64()
        // Each entry takes at least 4 bytes, so a damaged count cannot reserve more than the file holds.
        let plausible = Int(min(count, UInt64(bytes.count / 4)))
        if let expected {
            // Path bytes cannot outnumber the file's bytes.
            expected.reserve(plausible, pathBytes: bytes.count)
        } else {
            entries.reserveCapacity(plausible)
        }
        var previous = UnsafeRawBufferPointer(start: nil, count: 0)
        for _ in 0..<count {
            let pathBytes = try r.borrowBlob(width: 2)
            // Written in path order, so a path cannot come twice: both ways of reading agree on every entry.
            guard previous.isEmpty || precedes(previous, pathBytes) else {
                throw ShadowError(.malformedObject, "index entries out of order")
            }
            previous = pathBytes
            let path: PlainPath?
            if expected == nil {
                path = try PlainPath(bytes: Array(pathBytes))
            } else {
                try PlainPath.validate(pathBytes.assumingMemoryBound(to: UInt8.self))
                path = nil
            }
            let kind: EntryKind?
            var fileID = FileID.zero
            var length: UInt64 = 0, executable = false
            let type = try r.u8()
            switch type {
            case 1:
                length = try r.u64()
                let siv = try r.borrow(32)
                executable = try r.u8() == 1
                fileID = try FileID(bytes: try r.borrow(FileID.size))
                kind = expected == nil ? .file(length: length, siv: Array(siv), executable: executable) : nil
            case 2: kind = .directory
            case 3:
                let target = try r.borrowBlob(width: 2)
                kind = expected == nil ? .symlink(target: Array(target)) : nil
            default: throw ShadowError(.malformedObject, "index entry of unknown type")
            }
            let permissions = try r.u64(), seconds = Int64(bitPattern: try r.u64()), nanoseconds = try r.u64()
            let modifiedBy = try r.borrow(16)
            guard permissions <= UInt64(FilePermissions.mask), nanoseconds < UInt64(FileTime.nanosecondsPerSecond) else {
                throw ShadowError(.malformedObject, "index entry with bad metadata")
            }
            var stat: StatKey?
            let plainState = try r.u8()
            switch plainState {
            case 0, 2: break
            case 1:
                stat = StatKey(size: try r.u64(), mtimeNs: Int64(bitPattern: try r.u64()), ctimeNs: Int64(bitPattern: try r.u64()),
                               inode: try r.u64(), device: try r.u64())
            default: throw ShadowError(.malformedObject, "index entry with an unknown plaintext state")
            }
            if let path, let kind {
                let metadata = EntryMetadata(permissions: UInt32(permissions), modified: FileTime(seconds: seconds, nanoseconds: UInt32(nanoseconds)),
                                             modifiedBy: Array(modifiedBy))
                entries[path] = IndexEntry(kind: kind, fileID: fileID, stat: stat, absent: plainState == 2, metadata: metadata)
            } else if let expected {
                // From the fields as read; a directory's file id is not stored.
                let shape: IndexEntry.Shape = type == 1 ? .file(length: length, executable: executable) : type == 2 ? .directory(hasFileID: false) : .symlink
                if let stat, let settled = IndexEntry.settledKind(shape, stat: stat, absent: plainState == 2, recordedAtNs: index.recordedAtNs) {
                    expected.add(pathBytes, kind: settled, stat: stat)
                }
            }
        }
        guard r.atEnd else { throw ShadowError(.malformedObject, "trailing bytes in the index") }
        entryCount = Int(count)
        return index
    }

    /// PlainPath's order (bytes, lexicographically), on borrowed bytes.
    private static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = min(a.count, b.count)
        let order = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
        return order < 0 || (order == 0 && a.count < b.count)
    }

    /// Loads the index; a missing or unreadable one is rebuilt by the caller (it is only a cache of the
    /// head's tree plus stats, so losing it costs a re-hash, never data).
    static func load(_ path: BytePath) -> SyncIndex? {
        guard let bytes = try? FileSystem.readFile(path, limit: limitBytes) else { return nil }
        return load(bytes: bytes)
    }

    /// `load` from bytes already read: validated whole, entries left undecoded.
    static func load(bytes: [UInt8]) -> SyncIndex? {
        var none: [PlainPath: IndexEntry] = [:], count = 0
        let builder = ExpectedTree.Builder()
        guard var index = try? decode(bytes, entries: &none, entryCount: &count, expected: builder) else { return nil }
        index.undecoded = (bytes, count)
        index.expected = builder.build()
        return index
    }

    mutating func save(_ path: BytePath) throws(ShadowError) {
        recordedAtNs = Clock.nowNs()
        try FileSystem.writeAtomically(encode(), to: path, mode: 0o600)
    }
}

struct ByteWriter {
    var out: [UInt8] = []
    mutating func u8(_ v: UInt8) { out.append(v) }
    // In place, with no array per field: the index of a 100k-file folder is written after every commit.
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func bytes(_ b: [UInt8]) { out += b }
    mutating func blob(_ b: [UInt8], width: Int) {
        withUnsafeBytes(of: UInt64(b.count).littleEndian) { out.append(contentsOf: $0.prefix(width)) }
        out += b
    }
}

struct ByteReader {
    // Reads in place from borrowed bytes: the index of a 100k-file folder is decoded on every sync, and
    // reading through an array retained it on every field.
    let data: UnsafeRawBufferPointer
    var at = 0
    init(_ data: UnsafeRawBufferPointer) { self.data = data }
    var atEnd: Bool { at == data.count }

    mutating func take(_ n: Int) throws(ShadowError) -> [UInt8] { Array(try borrow(n)) }
    /// The next `n` bytes without a copy, valid as long as the reader's bytes are.
    mutating func borrow(_ n: Int) throws(ShadowError) -> UnsafeRawBufferPointer {
        guard n >= 0, data.count - at >= n else { throw ShadowError(.malformedObject, "truncated") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: data[at..<at + n])
    }
    mutating func u8() throws(ShadowError) -> UInt8 {
        guard at < data.count else { throw ShadowError(.malformedObject, "truncated") }
        defer { at += 1 }
        return data[at]
    }
    mutating func u64() throws(ShadowError) -> UInt64 {
        guard data.count - at >= 8 else { throw ShadowError(.malformedObject, "truncated") }
        defer { at += 8 }
        return UInt64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    mutating func blob(width: Int) throws(ShadowError) -> [UInt8] { Array(try borrowBlob(width: width)) }
    /// A length of `width` bytes, then that many bytes, without a copy.
    mutating func borrowBlob(width: Int) throws(ShadowError) -> UnsafeRawBufferPointer {
        guard width <= 8, data.count - at >= width else { throw ShadowError(.malformedObject, "truncated") }
        var n = 0
        for i in 0..<width { n |= Int(data[at + i]) << (8 * i) }
        at += width
        return try borrow(n)
    }
}
