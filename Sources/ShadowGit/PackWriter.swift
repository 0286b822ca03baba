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

    /// Writes the trailer, lets the indexer verify the pack and write pack and index; returns nothing
    /// until both files are in place.
    func finish() throws(ShadowError) {
        precondition(written == expected, "fewer objects than the pack header announced")
        let trailer = sha.finish()
        buffer.append(contentsOf: trailer)
        try flush()
        try gitCheck(git2.git_indexer_commit(indexer, &stats), "cannot finish the pack")
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

enum BigEndian {
    static func bytes(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
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

/// SHA-1 (FIPS 180-4), used only where git's formats require it: the trailer of a pack. Not a security
/// primitive here; ShadowSync's integrity rests on its own signatures and AEAD.
struct SHA1 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    private var block = [UInt8](repeating: 0, count: 64)
    private var blockFill = 0
    private var length: UInt64 = 0

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        if blockFill > 0 {
            let n = min(64 - blockFill, bytes.count)
            for k in 0..<n { block[blockFill + k] = bytes[k] }
            blockFill += n
            i = n
            if blockFill == 64 {
                let copy = block
                copy.withUnsafeBytes { compress($0) }
                blockFill = 0
            }
        }
        while bytes.count - i >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[i..<i + 64]))
            i += 64
        }
        if i < bytes.count {
            for k in i..<bytes.count { block[k - i] = bytes[k] }
            blockFill = bytes.count - i
        }
    }

    mutating func finish() -> [UInt8] {
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let fill = (blockFill + 1) % 64
        pad += [UInt8](repeating: 0, count: fill <= 56 ? 56 - fill : 120 - fill)
        for shift in stride(from: 56, through: 0, by: -8) { pad.append(UInt8((bitLength >> UInt64(shift)) & 0xff)) }
        let saved = length
        update(pad)
        length = saved
        return [h.0, h.1, h.2, h.3, h.4].flatMap { BigEndian.bytes($0) }
    }

    private mutating func compress(_ chunk: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in compress(chunk, schedule: w) }
    }

    private mutating func compress(_ chunk: UnsafeRawBufferPointer, schedule w: UnsafeMutableBufferPointer<UInt32>) {
        for t in 0..<16 {
            w[t] = UInt32(chunk[4 * t]) << 24 | UInt32(chunk[4 * t + 1]) << 16 | UInt32(chunk[4 * t + 2]) << 8 | UInt32(chunk[4 * t + 3])
        }
        for t in 16..<80 { w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var (a, b, c, d, e) = h
        for t in 0..<80 {
            let f: UInt32, k: UInt32
            switch t {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
            default: f = b ^ c ^ d; k = 0xCA62C1D6
            }
            let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }

    private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
}
