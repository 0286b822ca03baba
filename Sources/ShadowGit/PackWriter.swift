@preconcurrency import Glibc
internal import CGit2
import ShadowCore
import ShadowSystem

/// Writes a batch of objects as one git pack and its index (formats: git's Documentation/gitformat-pack,
/// index version 2) straight into `objects/pack`.
///
/// Why not `git_odb_write` per blob: each loose write costs a file, a fan-out directory and, when the
/// object is new, a freshen pass over every backend that re-reads the pack directory — about 40 system
/// calls per object, most of an import's time (Docs/BENCHMARKS.md). A pack is one file.
/// Objects are stored, not compressed (deflate "stored" blocks): they are ciphertext, which zlib
/// cannot shrink, so compressing only costs time.
/// Why not libgit2's indexer, which this used before: it hashes every object again and the whole pack
/// again, inflates each entry and checksums it, while the caller already knows each object's id (it
/// hashed the object to stage it, or read it through libgit2, which checks every object it reads
/// against its id). Those passes were half of a large import's CPU time (Docs/BENCHMARKS.md,
/// `bench-import.sh`). The pack is hashed once here for its trailer.
/// A reader sees the pack only once its index is in place: pack first, index last, each renamed into
/// place from a temporary file. Not flushed: the caller flushes the file system before a ref names
/// any object in it. Git thread only.
final class PackWriter {
    private let packDirectory: String
    private let expected: Int
    private var fd: Int32
    private var temporary: String
    private var sha = SHA1()
    private var buffer: [UInt8] = []
    private var offset: UInt64 = 0
    private var entries: [(id: [UInt8], offset: UInt64, crc: UInt32)] = []
    private var finished = false

    /// Largest stored deflate block (its LEN field is 16 bits; RFC 1951 §3.2.4).
    static let storedBlockBytes = 65_535
    /// Bytes gathered before they are written: few calls, little memory.
    static let appendBytes = 1 << 20
    /// Pack and index files are read-only, as git makes them.
    static let fileMode: mode_t = 0o444

    /// Starts a pack of exactly `count` objects in `packDirectory`.
    init(packDirectory: String, count: Int) throws(ShadowError) {
        self.packDirectory = packDirectory
        expected = count
        (fd, temporary) = try PackWriter.temporaryFile(in: packDirectory)
        entries.reserveCapacity(count)
        buffer.reserveCapacity(PackWriter.appendBytes + PackWriter.storedBlockBytes + 64)
        emit(Array("PACK".utf8) + BigEndian.bytes(UInt32(2)) + BigEndian.bytes(UInt32(count)))
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        if !finished { unlink(temporary) }
    }

    /// Object type codes in a pack entry's header (gitformat-pack: OBJ_COMMIT, OBJ_TREE, OBJ_BLOB).
    enum Kind: UInt8 { case commit = 1, tree = 2, blob = 3 }

    /// Appends one object whose id the caller knows (it hashed the bytes, or libgit2 read them by that
    /// id): type-and-size header, then a zlib stream of stored blocks and its Adler-32.
    func add(_ kind: Kind, id: git_oid, _ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        precondition(entries.count < expected, "more objects than the pack header announced")
        var crc = CRC32()
        func entry(_ part: UnsafeRawBufferPointer) {
            crc.update(part)
            emit(part)
        }
        func entry(_ part: [UInt8]) { part.withUnsafeBytes { entry($0) } }
        let start = offset
        var size = UInt64(bytes.count)
        var header: [UInt8] = [kind.rawValue << 4 | UInt8(size & 0x0f)]   // type, low 4 bits of the size
        size >>= 4
        while size > 0 {
            header[header.count - 1] |= 0x80
            header.append(UInt8(size & 0x7f))
            size >>= 7
        }
        entry(header)
        entry([0x78, 0x01])   // zlib: deflate, 32 KiB window, no dictionary, "fastest" level hint
        var at = 0
        repeat {
            let n = min(PackWriter.storedBlockBytes, bytes.count - at)
            let final: UInt8 = at + n == bytes.count ? 1 : 0
            entry([final, UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)])
            entry(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]))
            at += n
            try flushIfFull()
        } while at < bytes.count
        entry(BigEndian.bytes(Adler32.checksum(bytes)))
        entries.append((withUnsafeBytes(of: id) { Array($0.prefix(PackIndex.idBytes)) }, start, crc.value))
        try flushIfFull()
    }

    /// Writes the trailer and the index and puts both in place; returns the pack's name (`pack-` and
    /// the trailer's hex, as git names it).
    @discardableResult
    func finish() throws(ShadowError) -> String {
        precondition(entries.count == expected, "fewer objects than the pack header announced")
        let trailer = sha.finish()
        buffer.append(contentsOf: trailer)
        try flush()
        let name = "pack-" + Hex.encode(trailer)
        let packPath = packDirectory + "/" + name + ".pack"
        try place(temporary, at: packPath)
        Glibc.close(fd)
        fd = -1
        finished = true

        let index = PackWriter.index(of: entries, packTrailer: trailer)
        let (indexFD, indexTemporary) = try PackWriter.temporaryFile(in: packDirectory)
        defer { Glibc.close(indexFD) }
        do {
            try PackWriter.writeAll(indexFD, index, indexTemporary)
            try place(indexTemporary, at: packDirectory + "/" + name + PackIndex.indexSuffix)
        } catch {
            unlink(indexTemporary)
            throw error
        }
        return name
    }

    /// The version 2 index of `entries` (ids as 20 raw bytes): magic, version, fan-out, sorted ids,
    /// CRC-32s, 31-bit offsets (larger ones through the 64-bit table), the pack's trailer, and the
    /// index's own SHA-1.
    static func index(of entries: [(id: [UInt8], offset: UInt64, crc: UInt32)], packTrailer: [UInt8]) -> [UInt8] {
        let sorted = entries.sorted { a, b in a.id.lexicographicallyPrecedes(b.id) }
        var out = PackIndex.magic + BigEndian.bytes(UInt32(2))
        var fanOut = [UInt32](repeating: 0, count: 256)
        for e in sorted { fanOut[Int(e.id[0])] += 1 }
        var running: UInt32 = 0
        for i in 0..<256 {
            running += fanOut[i]
            out += BigEndian.bytes(running)
        }
        for e in sorted { out += e.id }
        for e in sorted { out += BigEndian.bytes(e.crc) }
        var large: [UInt64] = []
        for e in sorted {
            if e.offset < 1 << 31 {
                out += BigEndian.bytes(UInt32(e.offset))
            } else {
                out += BigEndian.bytes(UInt32(1 << 31) | UInt32(large.count))
                large.append(e.offset)
            }
        }
        for o in large { out += BigEndian.bytes(o) }
        out += packTrailer
        out += SHA1.hash(out)
        return out
    }

    private func emit(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) {
        sha.update(bytes)
        buffer.append(contentsOf: bytes)
        offset += UInt64(bytes.count)
    }

    private func flushIfFull() throws(ShadowError) {
        if buffer.count >= PackWriter.appendBytes { try flush() }
    }

    private func flush() throws(ShadowError) {
        guard !buffer.isEmpty else { return }
        try PackWriter.writeAll(fd, buffer, temporary)
        buffer.removeAll(keepingCapacity: true)
    }

    private func place(_ from: String, at to: String) throws(ShadowError) {
        guard chmod(from, PackWriter.fileMode) == 0, rename(from, to) == 0 else {
            throw SystemError.last("cannot put the pack file in place at", BytePath(to))
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(ShadowError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemError.last("cannot write the pack", BytePath(path)) }
            done += n
        }
    }

    /// A new file in `directory` named as git names its temporary packs (`tmp_pack_XXXXXX`): git's own
    /// gc removes one left behind by a crash once it is old.
    private static func temporaryFile(in directory: String) throws(ShadowError) -> (Int32, String) {
        var template = Array((directory + "/tmp_pack_XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemError.last("cannot start a pack in", BytePath(directory)) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return (fd, String(cString: template))
    }
}
