public import ShadowCore

/// Content-defined segmentation of large files (FORMAT.md §3a): where a file is cut depends only on the
/// 64 bytes before each position and on a table derived from the vault key, so an edit moves at most
/// the boundaries next to it and the server cannot predict any of them.
public enum Segmenting {
    /// Files longer than this are cut into segments; shorter ones stay one content object.
    public static let thresholdBytes: UInt64 = 1 << 20
    /// No segment but a file's last is shorter: bounds the count (and the list) per byte of file.
    public static let minimumBytes = 64 << 10
    /// No segment is longer: bounds the memory a segment costs on every path (one git blob at a time).
    public static let maximumBytes = 1 << 20
    /// A boundary where the gear hash's top this many bits are zero: one position in 2^17, so segments
    /// average about 64 KiB + 128 KiB, and a one-line edit rewrites about 0.3 MiB.
    public static let boundaryBits = 17
    /// The gear hash at a position depends on this many bytes before it (one shift per byte, 64 bits).
    static let window = 64
    /// Bytes of one list entry: LE64 length ‖ the segment's SIV.
    public static let listEntryBytes = 8 + ContentHeader.sivSize
    /// Characters of a segment's object name: base32 of its SIV's first 20 bytes.
    public static let nameCharacters = 32

    /// True when a file of `length` bytes is stored as segments.
    public static func isSegmented(length: UInt64) -> Bool { length > thresholdBytes }
}

/// The 256 keyed 64-bit values of the gear hash: BLAKE2b-64(K_gear, "SHDW-gear-v1", LE8(j)) for j < 32,
/// each 64-byte output read as eight LE64 values.
public struct GearTable: Sendable {
    let values: [UInt64]

    public init(keys: ReadKeys) {
        var values: [UInt64] = []
        values.reserveCapacity(256)
        for j in 0..<32 {
            let block = Blake2b.hash([UInt8(j)], key: keys.gear, outputLength: 64, personal: Personal("SHDW-gear-v1"))
            for i in 0..<8 { values.append(LittleEndian.read(UInt64.self, block, at: 8 * i)) }
        }
        self.values = values
    }

    /// The length of the segment that starts at `data[0]`, or nil when `data` (shorter than the maximum)
    /// ends before a boundary: then, at the end of the file, all of it is the last segment.
    public func cut(_ data: UnsafeRawBufferPointer) -> Int? {
        let count = data.count
        let limit = min(count, Segmenting.maximumBytes)
        let shift = UInt64(64 - Segmenting.boundaryBits)
        // h depends on the last 64 bytes only, so hashing may start 64 bytes before the minimum.
        var p = max(0, Segmenting.minimumBytes - Segmenting.window)
        var h: UInt64 = 0
        let found: Int? = values.withUnsafeBufferPointer { g in
            let bytes = data.bindMemory(to: UInt8.self)
            while p < limit {
                h = (h &<< 1) &+ g[Int(bytes[p])]
                p += 1
                if p >= Segmenting.minimumBytes && h &>> shift == 0 { return p }
            }
            return nil
        }
        if let found { return found }
        return count >= Segmenting.maximumBytes ? Segmenting.maximumBytes : nil
    }
}

/// One entry of a segment list: a segment's plaintext length and its SIV (which names its object).
public struct SegmentRef: Equatable, Hashable, Sendable {
    public let length: UInt64
    public let siv: [UInt8]

    /// The segment object's file name in its file's segment directory (FORMAT.md §4.1).
    public var name: String { Base32.encode(Array(siv[0..<20])) }

    /// True for a well-formed segment object name (32 characters of the base32 alphabet).
    public static func isName(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.count == Segmenting.nameCharacters
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains($0) }
    }
}

/// Where a writer puts segment objects: those it already holds are not encrypted again.
public protocol SegmentWriter {
    func holds(_ name: String) -> Bool
    func write(_ name: String, _ object: [UInt8]) throws(ShadowError)
}

/// A file's contents as the format stores them: one content object up to `Segmenting.thresholdBytes`,
/// else a segment list (the `.c` object) naming one content object per segment (FORMAT.md §3a).
/// Memory stays bounded by one segment whatever the file size.
public struct FileContent: Sendable {
    public let cipher: ContentCipher
    let gear: GearTable

    public init(keys: ReadKeys) {
        cipher = ContentCipher(keys: keys)
        gear = GearTable(keys: keys)
    }

    /// The SIV the name record pins: the whole object's, or the segment list's.
    public func siv(of source: ByteSource, fileID: FileID, parameters: ContentParameters = .default) throws(ShadowError) -> [UInt8] {
        guard Segmenting.isSegmented(length: source.length) else {
            return try cipher.siv(of: source, fileID: fileID, parameters: parameters)
        }
        var list: [UInt8] = []
        try forEachSegment(of: source) { (segment) throws(ShadowError) in
            let siv = try cipher.siv(of: MemorySource(segment), fileID: .zero, parameters: parameters, kind: .segment)
            list += LittleEndian.bytes(UInt64(segment.count)) + siv
        }
        return try cipher.siv(of: MemorySource(list), fileID: fileID, parameters: parameters, kind: .segmentList)
    }

    /// Encrypts a file: its one content object, or each segment the writer does not hold yet and then the
    /// list, go to `object`. Returns the header of what went to `object` and the segments it lists.
    @discardableResult
    public func encrypt(_ source: ByteSource, fileID: FileID, parameters: ContentParameters = .default,
                        to object: ByteSink, segments: SegmentWriter) throws(ShadowError) -> (header: ContentHeader, segments: [SegmentRef]) {
        guard Segmenting.isSegmented(length: source.length) else {
            return (try cipher.encrypt(source, fileID: fileID, parameters: parameters, to: object), [])
        }
        var refs: [SegmentRef] = []
        var list: [UInt8] = []
        try forEachSegment(of: source) { (segment) throws(ShadowError) in
            let plain = MemorySource(segment)
            let siv = try cipher.siv(of: plain, fileID: .zero, parameters: parameters, kind: .segment)
            let ref = SegmentRef(length: UInt64(segment.count), siv: siv)
            if !segments.holds(ref.name) {
                let sink = MemorySink()
                try cipher.encrypt(plain, fileID: .zero, parameters: parameters, kind: .segment, to: sink)
                try segments.write(ref.name, sink.bytes)
            }
            refs.append(ref)
            list += LittleEndian.bytes(ref.length) + siv
        }
        let header = try cipher.encrypt(MemorySource(list), fileID: fileID, parameters: parameters, kind: .segmentList, to: object)
        return (header, refs)
    }

    /// Calls `body` with each segment of the source in order, read through one buffer of the largest
    /// segment. A source that ends early or grows throws `.sourceChanged`.
    func forEachSegment(of source: ByteSource, _ body: ([UInt8]) throws(ShadowError) -> Void) throws(ShadowError) {
        let length = source.length
        var buffer = [UInt8](repeating: 0, count: Segmenting.maximumBytes)
        var filled = 0          // bytes of the buffer holding data not yet cut
        var offset: UInt64 = 0  // file offset of buffer[filled]
        while true {
            let want = Int(min(UInt64(buffer.count - filled), length - offset))
            if want > 0 {
                let got = try buffer.withMutableBytes { (b) throws(ShadowError) in
                    try source.readFully(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: b[filled..<(filled + want)]))
                }
                guard got == want else {
                    throw ShadowError(.sourceChanged, "file shrank while it was read", advice: "it will be retried")
                }
                filled += want
                offset += UInt64(want)
            }
            if filled == 0 { break }
            let atEnd = offset == length
            let cut = buffer.withUnsafeBytes { gear.cut(UnsafeRawBufferPointer(rebasing: $0[0..<filled])) } ?? (atEnd ? filled : nil)
            guard let cut else { throw ShadowError(.invalidArgument, "segmenting found no boundary in a full buffer") }
            try body(Array(buffer[0..<cut]))
            buffer.withUnsafeMutableBytes { b in
                if cut < filled { b.baseAddress!.copyMemory(from: b.baseAddress! + cut, byteCount: filled - cut) }
            }
            filled -= cut
        }
        var probe: [UInt8] = [0]
        guard try probe.withMutableBytes({ (b) throws(ShadowError) in try source.read(at: length, into: b) }) == 0 else {
            throw ShadowError(.sourceChanged, "file grew while it was read", advice: "it will be retried")
        }
    }

    /// Reads the `.c` object's header only: whole file or segment list, and the lineage file id.
    public static func header(of object: ByteSource) throws(ShadowError) -> ContentHeader {
        var bytes = [UInt8](repeating: 0, count: ContentHeader.size)
        let n = try bytes.withMutableBytes { (b) throws(ShadowError) in try object.readFully(at: 0, into: b) }
        guard n == bytes.count else { throw ShadowError(.malformedObject, "content object truncated inside its header (\(n) bytes)") }
        return try ContentHeader.decode(bytes)
    }

    /// The segments a `.c` object lists, in order (empty for a whole-file object), verified against the
    /// SIV the name record pins. The list is at most 40 bytes per 64 KiB of file.
    public func segments(of object: ByteSource, expectedSIV: [UInt8]?) throws(ShadowError) -> [SegmentRef] {
        guard try FileContent.header(of: object).kind == .segmentList else { return [] }
        let sink = MemorySink()
        try cipher.decrypt(object, expectedSIV: expectedSIV, to: sink)
        return try FileContent.parseList(sink.bytes)
    }

    static func parseList(_ list: [UInt8]) throws(ShadowError) -> [SegmentRef] {
        guard list.count % Segmenting.listEntryBytes == 0, list.count >= 2 * Segmenting.listEntryBytes else {
            throw ShadowError(.nonCanonical, "segment list of \(list.count) bytes is not two or more 40-byte entries")
        }
        return stride(from: 0, to: list.count, by: Segmenting.listEntryBytes).map { at in
            SegmentRef(length: LittleEndian.read(UInt64.self, list, at: at), siv: Array(list[(at + 8)..<(at + Segmenting.listEntryBytes)]))
        }
    }

    /// Decrypts and verifies a file: the `.c` object (pinned by `expectedSIV`) and, for a segmented file,
    /// each segment `segment` opens, one at a time. Checks every segment against its list entry and the
    /// canonical form (the threshold, the boundaries the gear hash gives). Plaintext reaches the sink as
    /// it verifies; on any throw the sink's contents must be discarded. Returns the plaintext length.
    @discardableResult
    public func decrypt(_ object: ByteSource, expectedSIV: [UInt8]?, segment: (SegmentRef) throws(ShadowError) -> ByteSource,
                        to sink: ByteSink) throws(ShadowError) -> UInt64 {
        let header = try FileContent.header(of: object)
        if header.epoch != cipher.keys.epoch {
            // A file of an earlier epoch: its segments and their boundaries follow that epoch's keys.
            return try FileContent(keys: try cipher.keys.keys(forEpoch: header.epoch)).decrypt(object, expectedSIV: expectedSIV, segment: segment, to: sink)
        }
        switch header.kind {
        case .whole:
            let counter = CountingSink(sink)
            try cipher.decrypt(object, expectedSIV: expectedSIV, to: counter)
            guard !Segmenting.isSegmented(length: counter.count) else {
                throw ShadowError(.nonCanonical, "a file of \(counter.count) bytes is stored whole; the format segments any file over \(Segmenting.thresholdBytes) bytes")
            }
            return counter.count
        case .segmentList:
            let refs = try segments(of: object, expectedSIV: expectedSIV)
            var total: UInt64 = 0
            for (i, ref) in refs.enumerated() {
                let plain = MemorySink()
                let segmentHeader = try cipher.decrypt(try segment(ref), expectedSIV: ref.siv, to: plain)
                guard segmentHeader.kind == .segment, segmentHeader.fileID == .zero else {
                    throw ShadowError(.malformedObject, "segment \(i) of \(refs.count) is not a segment object")
                }
                guard UInt64(plain.bytes.count) == ref.length, ref.length > 0 else {
                    throw ShadowError(.nonCanonical, "segment \(i) holds \(plain.bytes.count) bytes, its list entry says \(ref.length)")
                }
                let cut = plain.bytes.withUnsafeBytes { gear.cut($0) }
                let last = i == refs.count - 1
                guard cut == plain.bytes.count || (last && cut == nil) else {
                    throw ShadowError(.nonCanonical, "segment \(i) of \(refs.count) does not end where the vault's segmentation cuts")
                }
                try plain.bytes.withBytes { (b) throws(ShadowError) in try sink.write(b) }
                total += ref.length
            }
            guard Segmenting.isSegmented(length: total) else {
                throw ShadowError(.nonCanonical, "a file of \(total) bytes is stored in segments; the format keeps files up to \(Segmenting.thresholdBytes) bytes whole")
            }
            return total
        case .segment:
            throw ShadowError(.malformedObject, "a file's content object is a lone segment, not a file or a segment list")
        }
    }
}

/// Passes bytes on and counts them.
final class CountingSink: ByteSink {
    let inner: ByteSink
    private(set) var count: UInt64 = 0
    init(_ inner: ByteSink) { self.inner = inner }
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        count += UInt64(bytes.count)
        try inner.write(bytes)
    }
}
