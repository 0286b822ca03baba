internal import CShims

/// Byte encodings the formats share: hex, fixed-width integers and SHA-1. Pure functions, one copy each.

/// Lowercase hex, the form ids and signatures take in text.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase hex; nil on an odd length or any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Public so tools and tests can print the values the formats use.
public func hexString(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
public func bytesFromHex(_ text: String) -> [UInt8]? { Hex.decode(text) }

/// Little-endian integers: every binary layout of ShadowSync's own formats.
public enum LittleEndian {
    public static func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    /// The integer at `offset`; bytes missing past the end count as zero (callers check lengths first).
    public static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: some Collection<UInt8>, at offset: Int) -> T {
        var v: T = 0
        var i = 0
        for b in bytes.dropFirst(offset).prefix(MemoryLayout<T>.size) {
            v |= T(truncatingIfNeeded: b) << (8 * i)
            i += 1
        }
        return v
    }
}

/// Big-endian (network order) integers: git's pack format, SHA-1 and SSH wire fields.
public enum BigEndian {
    public static func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    /// The integer at `offset`; bytes missing past the end count as zero (callers check lengths first).
    public static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: some Collection<UInt8>, at offset: Int) -> T {
        var v: T = 0
        for b in bytes.dropFirst(offset).prefix(MemoryLayout<T>.size) { v = v << 8 | T(truncatingIfNeeded: b) }
        return v
    }
}

/// SHA-1 (FIPS 180-4), only where other formats require it: git's pack trailer and OpenSSH's hashed
/// known_hosts names (HMAC-SHA1). Not a security primitive here: ShadowSync's integrity rests on its own
/// signatures and AEAD, and libsodium has no SHA-1.
public struct SHA1 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    private var block = [UInt8](repeating: 0, count: 64)
    private var blockFill = 0
    private var length: UInt64 = 0
    /// Set only by `portableDigest`: skips the SHA-extension path.
    private var portableOnly = false

    public init() {}

    /// The digest of `message` in one call.
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        var sha = SHA1()
        sha.update(message)
        return sha.finish()
    }

    /// RFC 2104 with a 64-byte block.
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? hash(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        return hash(k.map { $0 ^ 0x5c } + hash(k.map { $0 ^ 0x36 } + message))
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        if blockFill > 0 {
            let n = min(64 - blockFill, bytes.count)
            for k in 0..<n { block[blockFill + k] = bytes[k] }
            blockFill += n
            i = n
            if blockFill == 64 {
                let copy = block
                copy.withUnsafeBytes { compressBlocks($0) }
                blockFill = 0
            }
        }
        let whole = (bytes.count - i) / 64 * 64
        if whole > 0 {
            compressBlocks(UnsafeRawBufferPointer(rebasing: bytes[i..<i + whole]))
            i += whole
        }
        if i < bytes.count {
            for k in i..<bytes.count { block[k - i] = bytes[k] }
            blockFill = bytes.count - i
        }
    }

    public mutating func finish() -> [UInt8] {
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let fill = (blockFill + 1) % 64
        pad += [UInt8](repeating: 0, count: fill <= 56 ? 56 - fill : 120 - fill)
        pad += BigEndian.bytes(bitLength)
        let saved = length
        update(pad)
        length = saved
        return [h.0, h.1, h.2, h.3, h.4].flatMap { BigEndian.bytes($0) }
    }

    /// Compresses whole 64-byte blocks: with the CPU's SHA extensions when it has them (CShims), else
    /// with the portable rounds below.
    private mutating func compressBlocks(_ blocks: UnsafeRawBufferPointer) {
        guard !blocks.isEmpty else { return }
        var done: Int32 = 0
        var state = [h.0, h.1, h.2, h.3, h.4]
        if !portableOnly {
            done = state.withUnsafeMutableBufferPointer { s in
                shadow_shim_sha1_blocks(s.baseAddress!, blocks.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(blocks.count / 64))
            }
        }
        if done == 1 {
            h = (state[0], state[1], state[2], state[3], state[4])
            return
        }
        var at = 0
        while at < blocks.count {
            compress(UnsafeRawBufferPointer(rebasing: blocks[at..<at + 64]))
            at += 64
        }
    }

    /// The portable rounds (FIPS 180-4 §6.1.2), also the reference the SHA-extension path is tested against.
    static func portableDigest(_ message: [UInt8]) -> [UInt8] {
        var sha = SHA1()
        sha.portableOnly = true
        sha.update(message)
        return sha.finish()
    }

    private mutating func compress(_ chunk: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in compress(chunk, schedule: w) }
    }

    private mutating func compress(_ chunk: UnsafeRawBufferPointer, schedule w: UnsafeMutableBufferPointer<UInt32>) {
        // Spelled out rather than BigEndian.read: this loop is the hot path of every pack written.
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

/// Adler-32 (RFC 1950 §9), the checksum that ends a zlib stream (git's pack entries are zlib streams).
public enum Adler32 {
    /// Largest run of bytes whose sums cannot overflow 32 bits before the modulo (zlib's NMAX).
    static let runBytes = 5552
    static let modulus: UInt32 = 65521

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        let p = bytes.bindMemory(to: UInt8.self)
        while i < p.count {
            let end = min(p.count, i + runBytes)
            while i < end {
                a &+= UInt32(p[i])
                b &+= a
                i += 1
            }
            a %= modulus
            b %= modulus
        }
        return (b << 16) | a
    }
}

/// CRC-32 (ISO-HDLC, the zlib and gzip one: reflected polynomial 0xEDB88320), which a git pack index
/// (version 2) records for each packed entry. Slicing by eight bytes.
public struct CRC32 {
    /// Eight tables of 256 entries: table k gives the CRC of a byte followed by k zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xff)] }
        }
        return t
    }()

    private var crc: UInt32 = 0xFFFF_FFFF

    public init() {}

    public var value: UInt32 { crc ^ 0xFFFF_FFFF }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = crc
        let p = bytes.bindMemory(to: UInt8.self)
        var i = 0
        CRC32.tables.withUnsafeBufferPointer { t in
            while p.count - i >= 8 {
                let lo = c ^ (UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16 | UInt32(p[i + 3]) << 24)
                let hi = UInt32(p[i + 4]) | UInt32(p[i + 5]) << 8 | UInt32(p[i + 6]) << 16 | UInt32(p[i + 7]) << 24
                c = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)] ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)] ^ t[256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < p.count {
                c = t[Int((c ^ UInt32(p[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        crc = c
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
}
