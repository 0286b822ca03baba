internal import CGit2
import ShadowCore

/// Writes a batch of objects as one git pack (format: git's Documentation/gitformat-pack) straight into
/// `objects/pack` through libgit2's indexer, which checks the trailer and builds the .idx.
///
/// Why not `git_odb_write` per blob: each loose write costs a file, a fan-out directory and, when the
/// object is new, a freshen pass over every backend that re-reads the pack directory — about 40 system
/// calls per object, most of an import's time (Docs/BENCHMARKS.md). A pack is one file.
/// Objects are stored, not compressed (deflate "stored" blocks): they are ciphertext, which zlib
/// cannot shrink, so compressing only costs time. Git thread only.
final class PackWriter {
    private let indexer: OpaquePointer
    private var sha = SHA1()
    private var buffer: [UInt8] = []
    private var stats = git_indexer_progress()
    private let expected: Int
    private var written = 0

    /// Largest stored deflate block (its LEN field is 16 bits; RFC 1951 §3.2.4).
    static let storedBlockBytes = 65_535
    /// Bytes gathered before they are handed to the indexer: few calls, little memory.
    static let appendBytes = 1 << 20

    /// Starts a pack of exactly `count` objects in `packDirectory`.
    init(packDirectory: String, odb: OpaquePointer?, count: Int) throws(ShadowError) {
        var idx: OpaquePointer?
        var opts = git_indexer_options()
        _ = git2.git_indexer_options_init(&opts, UInt32(GIT_INDEXER_OPTIONS_VERSION))
        try gitCheck(git2.git_indexer_new(&idx, packDirectory, 0o444, odb, &opts), "cannot start a pack in \(packDirectory)")
        indexer = idx!
        expected = count
        buffer.reserveCapacity(PackWriter.appendBytes + PackWriter.storedBlockBytes + 64)
        emit(Array("PACK".utf8) + BigEndian.bytes(UInt32(2)) + BigEndian.bytes(UInt32(count)))
    }

    deinit { git2.git_indexer_free(indexer) }

    /// Object type codes in a pack entry's header (gitformat-pack: OBJ_COMMIT, OBJ_TREE, OBJ_BLOB).
    enum Kind: UInt8 { case commit = 1, tree = 2, blob = 3 }

    /// Appends one blob.
    func add(blob bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        try add(.blob, bytes)
    }

    /// Appends one object: type-and-size header, then a zlib stream of stored blocks and its Adler-32.
    func add(_ kind: Kind, _ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        precondition(written < expected, "more objects than the pack header announced")
        written += 1
        var size = UInt64(bytes.count)
        var header: [UInt8] = [kind.rawValue << 4 | UInt8(size & 0x0f)]   // type, low 4 bits of the size
        size >>= 4
        while size > 0 {
            header[header.count - 1] |= 0x80
            header.append(UInt8(size & 0x7f))
            size >>= 7
        }
        emit(header)
        emit([0x78, 0x01])   // zlib: deflate, 32 KiB window, no dictionary, "fastest" level hint
        var offset = 0
        repeat {
            let n = min(PackWriter.storedBlockBytes, bytes.count - offset)
            let final: UInt8 = offset + n == bytes.count ? 1 : 0
            emit([final, UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)])
            emit(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
            try flushIfFull()
        } while offset < bytes.count
        emit(BigEndian.bytes(Adler32.checksum(bytes)))
        try flushIfFull()
    }

    /// Writes the trailer, lets the indexer verify the pack and write pack and index; returns once both
    /// files are in place, with the pack's name (`pack-` and this trailer's hex, as libgit2 names it).
    @discardableResult
    func finish() throws(ShadowError) -> String {
        precondition(written == expected, "fewer objects than the pack header announced")
        let trailer = sha.finish()
        buffer.append(contentsOf: trailer)
        try flush()
        try gitCheck(git2.git_indexer_commit(indexer, &stats), "cannot finish the pack")
        return "pack-" + Hex.encode(trailer)
    }

    private func emit(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) {
        sha.update(bytes)
        buffer.append(contentsOf: bytes)
    }

    private func flushIfFull() throws(ShadowError) {
        if buffer.count >= PackWriter.appendBytes { try flush() }
    }

    private func flush() throws(ShadowError) {
        guard !buffer.isEmpty else { return }
        let rc = buffer.withUnsafeBytes { git2.git_indexer_append(indexer, $0.baseAddress, $0.count, &stats) }
        try gitCheck(rc, "cannot write the pack")
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Adler-32 (RFC 1950 §9), the checksum that ends a zlib stream.
enum Adler32 {
    /// Largest run of bytes whose sums cannot overflow 32 bits before the modulo (zlib's NMAX).
    static let runBytes = 5552
    static let modulus: UInt32 = 65521

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + runBytes)
            while i < end {
                a &+= UInt32(bytes[i])
                b &+= a
                i += 1
            }
            a %= modulus
            b %= modulus
        }
        return (b << 16) | a
    }
}
