public import ShadowCore

/// What a name record says about one entry of the plaintext tree.
public enum EntryKind: Equatable, Sendable {
    /// A regular file: its length and the SIV of its content object (which pins that object).
    case file(length: UInt64, siv: [UInt8], executable: Bool)
    case directory
    /// A symbolic link: the target bytes, never followed by the agent.
    case symlink(target: [UInt8])

    var typeByte: UInt8 {
        switch self {
        case .file: return 1
        case .directory: return 2
        case .symlink: return 3
        }
    }
}

/// What a name record says about an entry besides its kind: the synced part of its inode, and who
/// wrote this version.
public struct EntryMetadata: Hashable, Sendable {
    /// The device id of a record written without one (all zero; real ids are random).
    public static let unknownDevice = [UInt8](repeating: 0, count: 16)

    /// Permission bits, within `FilePermissions.mask` (0o777); always 0 for a symlink, whose own mode
    /// Linux neither keeps nor lets anyone change.
    public var permissions: UInt32
    /// The entry's own modification time (a symlink's, never its target's).
    public var modified: FileTime
    /// The 16-byte device id of the machine that wrote this version: conflict copies are named after
    /// the side that lost, and equal times are ordered by it, the same way on every machine.
    public var modifiedBy: [UInt8]

    public init(permissions: UInt32, modified: FileTime = .epoch, modifiedBy: [UInt8] = EntryMetadata.unknownDevice) {
        self.permissions = permissions
        self.modified = modified
        self.modifiedBy = modifiedBy
    }

    /// What a record made without metadata carries: 0755 for executables and directories, 0644 for
    /// other files, 0 for symlinks; the epoch; an unknown device.
    public static func defaults(for kind: EntryKind) -> EntryMetadata {
        switch kind {
        case .file(_, _, let executable): return EntryMetadata(permissions: executable ? 0o755 : 0o644)
        case .directory: return EntryMetadata(permissions: 0o755)
        case .symlink: return EntryMetadata(permissions: 0)
        }
    }
}

public struct NameRecord: Equatable, Sendable {
    public let path: PlainPath
    public let kind: EntryKind
    public let metadata: EntryMetadata

    /// The permissions are the truth for the executable bit: a file's `kind` says `executable` exactly
    /// when `metadata.permissions` has the owner's execute bit (0o100), whatever the `kind` passed in
    /// said, and a symlink's permissions are 0. Without `metadata`, `EntryMetadata.defaults(for:)`.
    public init(path: PlainPath, kind: EntryKind, metadata: EntryMetadata? = nil) {
        self.path = path
        (self.kind, self.metadata) = NameRecord.normalized(kind, metadata)
    }

    /// The one form a record stores: missing metadata gets the defaults, a file's executable bit follows
    /// its permissions (they win), a symlink has none.
    public static func normalized(_ kind: EntryKind, _ metadata: EntryMetadata?) -> (EntryKind, EntryMetadata) {
        var m = metadata ?? EntryMetadata.defaults(for: kind)
        var k = kind
        switch kind {
        case .file(let length, let siv, _):
            k = .file(length: length, siv: siv, executable: m.permissions & FilePermissions.userExecute != 0)
        case .directory: break
        case .symlink: m.permissions = 0
        }
        return (k, m)
    }
}

/// Where an entry lives in the shadow tree: `d/<c0>/<c1>/<c2…c31>.n` and `.c`. 32 base32 characters of a
/// keyed BLAKE2b-160 of the path, so the server learns neither names, their lengths nor the tree shape.
public struct Locator: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = 32
    public let text: String

    /// A name record, a content object, or one segment of a large file's content (by its object name).
    public enum Role: Sendable, Equatable { case name, content, segment(String) }

    init(unchecked text: String) { self.text = text }

    public var nameObjectPath: String { objectPath(suffix: "n") }
    public var contentObjectPath: String { objectPath(suffix: "c") }
    /// The directory holding a segmented file's segment objects, one file per distinct segment.
    public var segmentDirectoryPath: String { objectPath(suffix: "s") }
    public func segmentObjectPath(_ name: String) -> String { segmentDirectoryPath + "/" + name }

    private func objectPath(suffix: String) -> String {
        let c = Array(text)
        return "d/\(c[0])/\(c[1])/\(String(c[2...])).\(suffix)"
    }

    /// Parses a shadow-tree path; nil unless it is exactly a well-formed object path.
    public static func parse(objectPath: String) -> (Locator, Role)? {
        let b = Array(objectPath.utf8)
        // A segment: the 38-byte `.s` directory, "/", and a 32-character name.
        if b.count == 38 + 1 + Segmenting.nameCharacters {
            let name = b[39...]
            guard b[38] == UInt8(ascii: "/"), b[37] == UInt8(ascii: "s"), SegmentRef.isName(name),
                  let (locator, _) = parse(objectPath: String(decoding: b[0..<37] + [UInt8(ascii: "c")], as: UTF8.self)) else { return nil }
            return (locator, .segment(String(decoding: name, as: UTF8.self)))
        }
        // "d/" + 1 + "/" + 1 + "/" + 30 + "." + 1 = 38 bytes
        guard b.count == 38, b[0] == UInt8(ascii: "d"), b[1] == UInt8(ascii: "/"), b[3] == UInt8(ascii: "/"),
              b[5] == UInt8(ascii: "/"), b[36] == UInt8(ascii: ".") else { return nil }
        let chars = [b[2], b[4]] + Array(b[6..<36])
        // A range test, not a search of the alphabet: this runs for every path of every commit's check.
        guard chars.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains($0) }) else { return nil }
        // 160 bits = exactly 32 base32 characters, so no trailing-bit ambiguity exists.
        let role: Role
        switch b[37] {
        case UInt8(ascii: "n"): role = .name
        case UInt8(ascii: "c"): role = .content
        default: return nil
        }
        return (Locator(unchecked: String(decoding: chars, as: UTF8.self)), role)
    }

    public static func < (a: Locator, b: Locator) -> Bool { a.text < b.text }
    public var description: String { text }
}

/// Encrypted name records (FORMAT.md §Name record): deterministic SIV encryption of a padded record.
public struct NameCipher: Sendable {
    let keys: ReadKeys
    let vaultID: [UInt8]
    static let magic = Array("SHN2".utf8)
    static let headerSize = 24
    static let tagSize = 16
    /// Records are padded to a multiple of 64 bytes, so only the path length's 64-byte bucket leaks.
    static let recordQuantum = 64
    /// Fixed part of R: type, reserved, permissions(2), nanoseconds(4), seconds(8), modified-by(16),
    /// length(8), siv(32), path length(2), target length(2).
    static let fixedRecordBytes = 1 + 1 + 2 + 4 + 8 + 16 + 8 + 32 + 2 + 2
    static let maxSymlinkTarget = maxPathBytes - 1

    public init(keys: VaultKeys) throws(ShadowError) {
        self.keys = try keys.requireRead()
        self.vaultID = keys.vaultID
    }

    public init(keys: ReadKeys, vaultID: [UInt8]) {
        self.keys = keys
        self.vaultID = vaultID
    }

    /// loc = base32(BLAKE2b-160(key K_loc, personal "SHDW-locator-v1", path)).
    public func locator(for path: PlainPath) -> Locator {
        Locator(unchecked: Base32.encode(Blake2b.hash(path.bytes, key: keys.locator, outputLength: 20, personal: Personal("SHDW-locator-v1"))))
    }

    private func header(tag: [UInt8]) -> [UInt8] { NameCipher.magic + LittleEndian.bytes(keys.epoch) + tag }

    func mac(_ record: [UInt8]) -> [UInt8] {
        let h = Blake2b(key: keys.nameMAC, outputLength: NameCipher.tagSize, personal: Personal("SHDW-name-v1"))
        h.update(NameCipher.magic + LittleEndian.bytes(keys.epoch))
        h.update(vaultID)
        h.update(record)
        return h.finish()
    }

    public func seal(_ record: NameRecord) throws(ShadowError) -> [UInt8] {
        var length: UInt64 = 0
        var siv = [UInt8](repeating: 0, count: ContentHeader.sivSize)
        var target: [UInt8] = []
        switch record.kind {
        case .file(let l, let s, _):
            guard s.count == ContentHeader.sivSize else { throw ShadowError(.invalidArgument, "content siv must be 32 bytes") }
            length = l
            siv = s
        case .directory: break
        case .symlink(let t):
            guard !t.isEmpty, t.count <= NameCipher.maxSymlinkTarget, !t.contains(0) else {
                throw ShadowError(.invalidPath, "symlink \(record.path) has an empty, too long or NUL-containing target")
            }
            target = t
        }
        let m = record.metadata
        guard m.permissions & ~FilePermissions.mask == 0 else {
            throw ShadowError(.invalidArgument, "permissions \(String(m.permissions, radix: 8)) of \(record.path) go beyond 0777 (setuid, setgid and sticky bits are never synced)")
        }
        guard m.modifiedBy.count == KeySizes.deviceID else { throw ShadowError(.invalidArgument, "a device id must be 16 bytes") }
        var r: [UInt8] = [record.kind.typeByte, 0] + LittleEndian.bytes(UInt16(m.permissions))
        r += LittleEndian.bytes(m.modified.nanoseconds) + LittleEndian.bytes(m.modified.seconds) + m.modifiedBy
        r += LittleEndian.bytes(length) + siv
        r += LittleEndian.bytes(UInt16(record.path.bytes.count)) + record.path.bytes
        r += LittleEndian.bytes(UInt16(target.count)) + target
        let padded = (r.count + NameCipher.recordQuantum - 1) / NameCipher.recordQuantum * NameCipher.recordQuantum
        r += [UInt8](repeating: 0, count: padded - r.count)
        return seal(recordBytes: r)
    }

    /// Authenticates and encrypts a padded R as it is (tests use it to build records `seal` refuses).
    func seal(recordBytes r: [UInt8]) -> [UInt8] {
        let tag = mac(r)
        let body = XChaCha20.xor(r, nonce: tag + [UInt8](repeating: 0, count: 8), key: keys.nameStream)
        return header(tag: tag) + body
    }

    /// Opens a name record found at `locator`; refuses it unless it authenticates, is canonical, and
    /// belongs at exactly that locator (the server cannot move or duplicate records).
    public func open(_ bytes: [UInt8], at locator: Locator) throws(ShadowError) -> NameRecord {
        let hs = NameCipher.headerSize
        guard bytes.count >= hs + NameCipher.recordQuantum, (bytes.count - hs) % NameCipher.recordQuantum == 0 else {
            throw ShadowError(.malformedObject, "name record of \(bytes.count) bytes has an impossible size (truncated or extended)")
        }
        guard Array(bytes[0..<4]) == NameCipher.magic else {
            throw ShadowError(.malformedObject, "not a ShadowSync name record (bad magic)")
        }
        let epoch = LittleEndian.read(UInt32.self, bytes, at: 4)
        guard epoch == keys.epoch else {
            return try NameCipher(keys: try keys.keys(forEpoch: epoch), vaultID: vaultID).open(bytes, at: locator)
        }
        let tag = Array(bytes[8..<hs])
        var r = XChaCha20.xor(Array(bytes[hs...]), nonce: tag + [UInt8](repeating: 0, count: 8), key: keys.nameStream)
        defer { Sodium.wipe(&r) }
        guard Sodium.equal(mac(r), tag) else {
            throw ShadowError(.authenticationFailed, "name record at \(locator) failed authentication: altered by the server or a wrong key")
        }
        let record = try NameCipher.parseRecord(r)
        guard locator == self.locator(for: record.path) else {
            throw ShadowError(.locatorMismatch, "name record for \(record.path) was found at \(locator), not its own locator: the server moved or duplicated it")
        }
        return record
    }

    /// Strict parse of an authenticated record: every unused field must be zero, padding minimal.
    static func parseRecord(_ r: [UInt8]) throws(ShadowError) -> NameRecord {
        func bad(_ why: String) -> ShadowError { ShadowError(.nonCanonical, "name record is not canonical: \(why)") }
        guard r.count >= fixedRecordBytes else { throw bad("shorter than its fixed fields") }
        let type = r[0]
        guard r[1] == 0 else { throw bad("reserved byte set") }
        let permissions = UInt32(LittleEndian.read(UInt16.self, r, at: 2))
        let nanoseconds = LittleEndian.read(UInt32.self, r, at: 4)
        let seconds = LittleEndian.read(Int64.self, r, at: 8)
        let modifiedBy = Array(r[16..<32])
        let length = LittleEndian.read(UInt64.self, r, at: 32)
        let siv = Array(r[40..<72])
        let pathLength = Int(LittleEndian.read(UInt16.self, r, at: 72))
        let pathEnd = 74 + pathLength
        guard pathEnd + 2 <= r.count else { throw bad("path runs past the record") }
        let targetLength = Int(LittleEndian.read(UInt16.self, r, at: pathEnd))
        let used = pathEnd + 2 + targetLength
        guard used <= r.count else { throw bad("symlink target runs past the record") }
        let padded = (used + recordQuantum - 1) / recordQuantum * recordQuantum
        guard padded == r.count else { throw bad("padding longer than needed") }
        guard r[used...].allSatisfy({ $0 == 0 }) else { throw bad("non-zero padding") }
        guard permissions & ~FilePermissions.mask == 0 else { throw bad("permission bits beyond 0777 (setuid, setgid or sticky)") }
        guard nanoseconds < FileTime.nanosecondsPerSecond else { throw bad("nanoseconds of 10^9 or more") }
        let path: PlainPath
        do { path = try PlainPath(bytes: Array(r[74..<pathEnd])) } catch {
            throw ShadowError(.invalidPath, "name record holds an invalid path: \(error.message)")
        }
        let kind: EntryKind
        switch type {
        case 1:
            guard targetLength == 0 else { throw bad("file with a link target") }
            kind = .file(length: length, siv: siv, executable: permissions & FilePermissions.userExecute != 0)
        case 2:
            guard length == 0, siv.allSatisfy({ $0 == 0 }), targetLength == 0 else { throw bad("directory with file fields") }
            kind = .directory
        case 3:
            guard permissions == 0, length == 0, siv.allSatisfy({ $0 == 0 }), targetLength > 0, targetLength <= maxSymlinkTarget else {
                throw bad("symlink with permissions, file fields or a bad target length")
            }
            let target = Array(r[(pathEnd + 2)..<used])
            guard !target.contains(0) else { throw bad("symlink target contains NUL") }
            kind = .symlink(target: target)
        default:
            throw ShadowError(.unsupportedVersion, "name record has unknown entry type \(type)")
        }
        let metadata = EntryMetadata(permissions: permissions, modified: FileTime(seconds: seconds, nanoseconds: nanoseconds),
                                     modifiedBy: modifiedBy)
        return NameRecord(path: path, kind: kind, metadata: metadata)
    }
}
