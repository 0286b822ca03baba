public import ShadowCore

/// Parameters a writer chooses for content objects; all are stored in each header.
public struct ContentParameters: Sendable, Equatable {
    /// log2 of the plaintext chunk size. 16 → 64 KiB, the gocryptfs/Cryptomator-style trade-off between
    /// per-chunk overhead (16 B) and random-access granularity.
    public var chunkLog2: UInt8
    public var padding: PaddingScheme

    public init(chunkLog2: UInt8 = ContentParameters.defaultChunkLog2, padding: PaddingScheme = .padme) {
        self.chunkLog2 = chunkLog2
        self.padding = padding
    }

    public static let defaultChunkLog2: UInt8 = 16
    /// Readers accept 4 KiB … 1 MiB chunks: below 4 KiB the 8-byte prefix could straddle a chunk in
    /// odd ways for no benefit; above 1 MiB a hostile header could make us allocate large buffers.
    public static let acceptedChunkLog2: ClosedRange<UInt8> = 12...20
    public static let `default` = ContentParameters()
}

/// The lineage identifier bound into a file's SIV: new per path, inherited on edit and rename.
public struct FileID: Hashable, Sendable, CustomStringConvertible {
    public static let size = 16
    // Two words, not an array: the stat index holds one per file and a 100k-file folder's index is
    // decoded on every sync (one allocation per entry saved, and one free at exit).
    private let high: UInt64
    private let low: UInt64

    public var bytes: [UInt8] { withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) } }

    public init(bytes: [UInt8]) throws(ShadowError) {
        guard bytes.count == FileID.size else { throw ShadowError(.malformedObject, "a file id is 16 bytes") }
        self.init(unchecked: bytes)
    }

    public init(bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        guard bytes.count == FileID.size else { throw ShadowError(.malformedObject, "a file id is 16 bytes") }
        self.init(words: bytes)
    }

    /// The one decoder: 16 bytes, big-endian words, so `bytes` gives them back in order.
    private init(words raw: UnsafeRawBufferPointer) {
        high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// All zero: the "cross-file dedup" mode where equal files give equal blobs (leaks equality).
    public static let zero = FileID(unchecked: [UInt8](repeating: 0, count: size))

    /// file_id = BLAKE2b-128(key K_fid, personal "SHDW-fileid-v1", path bytes) for a path seen first.
    public static func forNewPath(_ path: PlainPath, keys: ReadKeys) -> FileID {
        FileID(unchecked: Blake2b.hash(path.bytes, key: keys.fileID, outputLength: size, personal: Personal("SHDW-fileid-v1")))
    }

    init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == FileID.size, "a file id is 16 bytes")  // callers pass 16-byte hashes
        self = bytes.withUnsafeBytes { FileID(words: $0) }
    }

    public var description: String { Hex.encode(bytes) }
}

/// What a content object holds (header byte 7). Part of the SIV input and of every chunk's AD, so an
/// object of one kind never verifies as another.
public enum ContentKind: UInt8, Sendable {
    /// A whole file of up to `Segmenting.thresholdBytes`, sealed under its lineage file id.
    case whole = 0
    /// The ordered list of a large file's segments (`SegmentList`), sealed under its lineage file id.
    case segmentList = 1
    /// One segment of a large file, sealed under the all-zero file id: equal segments are one object.
    case segment = 2
}

/// The 60-byte clear header of a content object.
public struct ContentHeader: Equatable, Sendable {
    public static let size = 60
    static let magic = Array("SHC1".utf8)
    /// alg 1 = XChaCha20-Poly1305-IETF chunks with a keyed BLAKE2b-256 SIV.
    static let algorithm: UInt8 = 1
    public static let sivSize = 32

    public let chunkLog2: UInt8
    public let padding: PaddingScheme
    public let kind: ContentKind
    public let epoch: UInt32
    public let fileID: FileID
    /// The synthetic IV: a keyed hash of every parameter and the padded plaintext.
    public let siv: [UInt8]

    /// Bytes 0..<28: everything but the SIV (the SIV's own input starts with these).
    var prefix: [UInt8] {
        ContentHeader.magic + [ContentHeader.algorithm, chunkLog2, padding.rawValue, kind.rawValue] + LittleEndian.bytes(epoch) + fileID.bytes
    }

    public var encoded: [UInt8] { prefix + siv }

    /// Parses and validates a header; any unknown or reserved value is refused.
    public static func decode(_ bytes: [UInt8]) throws(ShadowError) -> ContentHeader {
        guard bytes.count >= size else {
            throw ShadowError(.malformedObject, "content object shorter than its 60-byte header")
        }
        guard Array(bytes[0..<4]) == magic else {
            throw ShadowError(.malformedObject, "not a ShadowSync content object (bad magic)")
        }
        guard bytes[4] == algorithm else {
            throw ShadowError(.unsupportedVersion, "content object uses algorithm \(bytes[4]), this build knows only 1",
                              advice: "upgrade shadowsync on this machine")
        }
        guard ContentParameters.acceptedChunkLog2.contains(bytes[5]) else {
            throw ShadowError(.malformedObject, "content object declares chunk size 2^\(bytes[5]), outside 2^12…2^20")
        }
        guard let padding = PaddingScheme(rawValue: bytes[6]) else {
            throw ShadowError(.unsupportedVersion, "content object uses unknown padding scheme \(bytes[6])")
        }
        guard let kind = ContentKind(rawValue: bytes[7]) else {
            throw ShadowError(.unsupportedVersion, "content object is of kind \(bytes[7]), which this build does not know",
                              advice: "upgrade shadowsync on this machine")
        }
        return ContentHeader(chunkLog2: bytes[5], padding: padding, kind: kind, epoch: LittleEndian.read(UInt32.self, bytes, at: 8),
                             fileID: FileID(unchecked: Array(bytes[12..<28])), siv: Array(bytes[28..<60]))
    }
}

/// Deterministic, streaming, chunked encryption of file contents (FORMAT.md §3).
///
/// The SIV hashes P′ in two interleaved lanes (even and odd chunks) and chunks are sealed independently,
/// so both passes use two cores; memory stays bounded by one batch of chunks.
public struct ContentCipher: Sendable {
    let keys: ReadKeys
    static let personal = Personal("SHDW-content-v1")
    static let lanePersonal = Personal("SHDW-lane-v1")
    /// Lanes of the SIV. Fixed by the format (FORMAT.md §3): two, because a BLAKE2b stream is sequential
    /// and two lanes let two cores hash at once; a one-core machine simply runs them one after the other.
    static let laneCount = 2
    /// Plaintext bytes handled per parallel batch in pass 2 and in decryption: large enough that thread
    /// hand-offs cost little next to 1 MiB of AEAD work, small enough to keep memory at a few MiB.
    static let batchBytes = 1 << 20

    public init(keys: ReadKeys) { self.keys = keys }

    /// Exact ciphertext size for a plaintext of `length` bytes.
    public static func ciphertextSize(plaintextLength length: UInt64, parameters: ContentParameters) -> UInt64 {
        let total = Padding.paddedLength(8 + length, scheme: parameters.padding)
        let chunk = UInt64(1) << UInt64(parameters.chunkLog2)
        let n = (total + chunk - 1) / chunk
        return UInt64(ContentHeader.size) + total + UInt64(XChaCha20Poly1305.tagBytes) * n
    }

    private func header(siv: [UInt8], fileID: FileID, parameters: ContentParameters, kind: ContentKind) -> ContentHeader {
        ContentHeader(chunkLog2: parameters.chunkLog2, padding: parameters.padding, kind: kind, epoch: keys.epoch, fileID: fileID, siv: siv)
    }

    private func laneHasher(_ lane: Int) -> Blake2b {
        let h = Blake2b(key: keys.contentSIV, outputLength: ContentHeader.sivSize, personal: ContentCipher.lanePersonal)
        h.update([UInt8(lane)])
        return h
    }

    /// siv = BLAKE2b-32(K_siv, "SHDW-content-v1", header[0..28] ‖ LE64(|P′|) ‖ H_0 ‖ H_1).
    private func combine(prefix: [UInt8], total: UInt64, lanes: [[UInt8]]) -> [UInt8] {
        let h = Blake2b(key: keys.contentSIV, outputLength: ContentHeader.sivSize, personal: ContentCipher.personal)
        h.update(prefix)
        h.update(LittleEndian.bytes(total))
        for digest in lanes { h.update(digest) }
        return h.finish()
    }

    /// Pass 1 only: the SIV the file would get. Lets a caller decide without writing anything whether an
    /// existing content object already holds exactly this plaintext.
    public func siv(of source: ByteSource, fileID: FileID, parameters: ContentParameters = .default,
                    kind: ContentKind = .whole) throws(ShadowError) -> [UInt8] {
        try firstPass(PaddedPlaintext(source: source, scheme: parameters.padding, chunkLog2: parameters.chunkLog2),
                      fileID: fileID, parameters: parameters, kind: kind, changeKeys: nil).siv
    }

    /// Pass 1: each lane hashes its chunks; with `changeKeys` each lane also keeps a Poly1305 tag of what it read.
    private func firstPass(_ plain: PaddedPlaintext, fileID: FileID, parameters: ContentParameters, kind: ContentKind,
                           changeKeys: [OneTimeKey]?) throws(ShadowError) -> (siv: [UInt8], tags: [[UInt8]]) {
        let prefix = header(siv: [], fileID: fileID, parameters: parameters, kind: kind).prefix
        let results = try Lanes.run(ContentCipher.laneCount, parallel: plain.chunkCount > 1) { (lane) throws(ShadowError) -> ([UInt8], [UInt8]) in
            let hasher = laneHasher(lane)
            let poly = changeKeys.map { Poly1305(key: $0[lane]) }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: plain.bufferSize, alignment: 16)
            defer { Sodium.wipe(buffer); buffer.deallocate() }
            var index = UInt64(lane)
            while index < plain.chunkCount {
                let chunk = try plain.fill(chunk: index, into: buffer)
                hasher.update(chunk)
                poly?.update(chunk)
                index += UInt64(ContentCipher.laneCount)
            }
            return (hasher.finish(), poly?.finish() ?? [])
        }
        try plain.checkNotGrown()
        return (combine(prefix: prefix, total: plain.total, lanes: results.map(\.0)), results.map(\.1))
    }

    /// Encrypts in two passes with bounded memory. Pass 2 checks that it read exactly what pass 1 read; if
    /// the source changed in between it throws `.sourceChanged` and the sink's contents must be discarded.
    @discardableResult
    public func encrypt(_ source: ByteSource, fileID: FileID, parameters: ContentParameters = .default,
                        kind: ContentKind = .whole, to sink: ByteSink) throws(ShadowError) -> ContentHeader {
        guard ContentParameters.acceptedChunkLog2.contains(parameters.chunkLog2) else {
            throw ShadowError(.invalidArgument, "chunk size 2^\(parameters.chunkLog2) is outside 2^12…2^20")
        }
        let plain = PaddedPlaintext(source: source, scheme: parameters.padding, chunkLog2: parameters.chunkLog2)
        let changeKeys = (0..<ContentCipher.laneCount).map { _ in OneTimeKey() }
        let (siv, firstTags) = try firstPass(plain, fileID: fileID, parameters: parameters, kind: kind, changeKeys: changeKeys)
        let header = header(siv: siv, fileID: fileID, parameters: parameters, kind: kind)
        let headerBytes = header.encoded
        try headerBytes.withBytes { (b) throws(ShadowError) in try sink.write(b) }

        let polys = changeKeys.map { Poly1305(key: $0) }
        let batch = ChunkBatch(chunkSize: plain.bufferSize, chunkCount: plain.chunkCount)
        defer { batch.release() }
        var batchStart: UInt64 = 0
        while batchStart < plain.chunkCount {
            let count = Int(min(UInt64(batch.chunks), plain.chunkCount - batchStart))
            let first = batchStart
            try Lanes.run(ContentCipher.laneCount, parallel: count > 1) { (lane) throws(ShadowError) in
                var slot = lane
                while slot < count {
                    let index = first + UInt64(slot)
                    let chunk = try plain.fill(chunk: index, into: batch.plain[slot])
                    polys[lane].update(chunk)
                    ContentCipher.seal(chunk, index: index, of: plain.chunkCount, header: headerBytes, siv: siv,
                                       key: keys.contentAEAD, into: batch.sealed[slot])
                    slot += ContentCipher.laneCount
                }
            }
            for slot in 0..<count {
                let length = plain.chunkLength(first + UInt64(slot)) + XChaCha20Poly1305.tagBytes
                try sink.write(UnsafeRawBufferPointer(rebasing: batch.sealed[slot][0..<length]))
            }
            batchStart += UInt64(count)
        }
        try plain.checkNotGrown()
        for lane in 0..<ContentCipher.laneCount where !Sodium.equal(polys[lane].finish(), firstTags[lane]) {
            throw ShadowError(.sourceChanged, "file changed while it was encrypted; the output was discarded",
                              advice: "nothing to do: it is encrypted again on the next pass")
        }
        return header
    }

    /// Chunk i's nonce (siv[0..16] ‖ LE64(i)) and AD (header ‖ final flag): one definition for both directions.
    static func chunkNonceAndAD(siv: [UInt8], header: [UInt8], index: UInt64, of count: UInt64) -> (nonce: [UInt8], ad: [UInt8]) {
        (Array(siv[0..<16]) + LittleEndian.bytes(index), header + [index == count - 1 ? 1 : 0])
    }

    private static func seal(_ chunk: UnsafeRawBufferPointer, index: UInt64, of count: UInt64, header: [UInt8], siv: [UInt8],
                             key: SecretBytes, into out: UnsafeMutableRawBufferPointer) {
        let (nonce, ad) = chunkNonceAndAD(siv: siv, header: header, index: index, of: count)
        nonce.withUnsafeBytes { n in ad.withUnsafeBytes { a in
            XChaCha20Poly1305.seal(key: key, nonce: n, ad: a, plaintext: chunk, into: out)
        } }
    }

    /// Decrypts and verifies everything: header, every chunk tag with its index and final flag, the SIV
    /// over the whole plaintext, and finally canonical length and zero padding. If `expectedSIV` is given
    /// (the one pinned by the name record) a different object is refused before any chunk is opened.
    /// Plaintext reaches the sink as chunks verify; on any throw the sink's contents must be discarded.
    @discardableResult
    public func decrypt(_ source: ByteSource, expectedSIV: [UInt8]? = nil, to sink: ByteSink) throws(ShadowError) -> ContentHeader {
        let length = source.length
        var headerBytes = [UInt8](repeating: 0, count: ContentHeader.size)
        let got = try headerBytes.withMutableBytes { (b) throws(ShadowError) in try source.readFully(at: 0, into: b) }
        guard got == ContentHeader.size else {
            throw ShadowError(.malformedObject, "content object truncated inside its header (\(got) bytes)")
        }
        let header = try ContentHeader.decode(headerBytes)
        if let expectedSIV, !Sodium.equal(expectedSIV, header.siv) {
            throw ShadowError(.contentMismatch, "content object is not the one its name record pins (swapped or replayed by the server)")
        }
        guard header.epoch == keys.epoch else {
            // An object of an earlier epoch opens with that epoch's keys, reached through the chain.
            return try ContentCipher(keys: try keys.keys(forEpoch: header.epoch)).decrypt(source, expectedSIV: expectedSIV, to: sink)
        }
        let chunkSize = UInt64(1) << UInt64(header.chunkLog2)
        let tag = UInt64(XChaCha20Poly1305.tagBytes)
        let body = length - UInt64(ContentHeader.size)
        let chunkCount = (body + chunkSize + tag - 1) / (chunkSize + tag)
        let lastSealed = body - (chunkCount == 0 ? 0 : (chunkCount - 1) * (chunkSize + tag))
        guard chunkCount >= 1, lastSealed > tag, body - tag * chunkCount >= 8 else {
            throw ShadowError(.malformedObject, "content object of \(length) bytes cannot hold a valid body (truncated?)")
        }
        let total = body - tag * chunkCount
        func sealedLength(_ index: UInt64) -> Int { Int(index == chunkCount - 1 ? lastSealed : chunkSize + tag) }

        let hashers = (0..<ContentCipher.laneCount).map { laneHasher($0) }
        // A one-chunk object needs buffers only as large as its one chunk (most files are small).
        let batch = ChunkBatch(chunkSize: Int(min(chunkSize, total)), chunkCount: chunkCount)
        defer { batch.release() }
        var dataLength: UInt64 = 0     // L as the first chunk states it
        var dataEndInP: UInt64 = 0     // 8 + L, clamped to P′ so a lying L cannot overflow anything
        var nonZeroPadding = false
        var batchStart: UInt64 = 0
        while batchStart < chunkCount {
            let count = Int(min(UInt64(batch.chunks), chunkCount - batchStart))
            let first = batchStart
            try Lanes.run(ContentCipher.laneCount, parallel: count > 1) { (lane) throws(ShadowError) in
                var slot = lane
                while slot < count {
                    let index = first + UInt64(slot)
                    let window = UnsafeMutableRawBufferPointer(rebasing: batch.sealed[slot][0..<sealedLength(index)])
                    let offset = UInt64(ContentHeader.size) + index * (chunkSize + tag)
                    guard try source.readFully(at: offset, into: window) == window.count else {
                        throw ShadowError(.sourceChanged, "content object shrank while it was read")
                    }
                    let (nonce, ad) = ContentCipher.chunkNonceAndAD(siv: header.siv, header: headerBytes, index: index, of: chunkCount)
                    let opened = nonce.withUnsafeBytes { n in ad.withUnsafeBytes { a in
                        XChaCha20Poly1305.open(key: keys.contentAEAD, nonce: n, ad: a, ciphertext: UnsafeRawBufferPointer(window), into: batch.plain[slot])
                    } }
                    guard opened else {
                        throw ShadowError(.authenticationFailed, "chunk \(index) of \(chunkCount) failed authentication: the object was altered, truncated, extended or reordered, or the key is wrong")
                    }
                    hashers[lane].update(UnsafeRawBufferPointer(rebasing: batch.plain[slot][0..<(window.count - Int(tag))]))
                    slot += ContentCipher.laneCount
                }
            }
            for slot in 0..<count {
                let index = first + UInt64(slot)
                let position = index * chunkSize   // offset of this chunk in P′
                let chunk = UnsafeRawBufferPointer(rebasing: batch.plain[slot][0..<(sealedLength(index) - Int(tag))])
                var dataStart = 0
                if index == 0 {
                    dataLength = LittleEndian.read(UInt64.self, chunk, at: 0)
                    dataEndInP = 8 + min(dataLength, total - 8)
                    dataStart = 8
                }
                // Bytes of this chunk that are file data; the rest (after 8 + L) must be zero padding.
                let dataEnd = dataEndInP > position ? Int(min(UInt64(chunk.count), dataEndInP - position)) : 0
                if dataEnd > dataStart {
                    try sink.write(UnsafeRawBufferPointer(rebasing: chunk[dataStart..<dataEnd]))
                }
                if !Sodium.isZero(UnsafeRawBufferPointer(rebasing: chunk[max(dataStart, dataEnd)...])) { nonZeroPadding = true }
            }
            batchStart += UInt64(count)
        }
        let siv = combine(prefix: header.prefix, total: total, lanes: hashers.map { $0.finish() })
        guard Sodium.equal(siv, header.siv) else {
            throw ShadowError(.authenticationFailed, "content object's SIV does not match its plaintext: it was assembled from other objects' chunks or encrypted under another key")
        }
        // Everything authenticated, so only a key holder could have made these: they break canonical form,
        // which the "never re-encrypt what matches" rule depends on.
        guard dataLength <= total - 8, Padding.paddedLength(8 + dataLength, scheme: header.padding) == total else {
            throw ShadowError(.nonCanonical, "content object's length field (\(dataLength)) does not match its padded size \(total)")
        }
        guard !nonZeroPadding else {
            throw ShadowError(.nonCanonical, "content object has non-zero padding")
        }
        return header
    }

    // MARK: In-memory conveniences

    public func encrypt(_ plaintext: [UInt8], fileID: FileID, parameters: ContentParameters = .default,
                        kind: ContentKind = .whole) throws(ShadowError) -> [UInt8] {
        let sink = MemorySink()
        try encrypt(MemorySource(plaintext), fileID: fileID, parameters: parameters, kind: kind, to: sink)
        return sink.bytes
    }

    /// Returns the plaintext only when every check passed.
    public func decrypt(_ ciphertext: [UInt8], expectedSIV: [UInt8]? = nil) throws(ShadowError) -> [UInt8] {
        let sink = MemorySink()
        try decrypt(MemorySource(ciphertext), expectedSIV: expectedSIV, to: sink)
        return sink.bytes
    }
}

/// Buffers for one batch of chunks: a plaintext and a sealed buffer per chunk slot.
final class ChunkBatch: @unchecked Sendable {
    let chunks: Int
    let plain: [UnsafeMutableRawBufferPointer]
    let sealed: [UnsafeMutableRawBufferPointer]

    /// `chunkSize` is the largest chunk the batch will hold; no more slots than `chunkCount` are made, so
    /// a small file costs one small buffer pair, not a whole batch allocated and wiped per file.
    init(chunkSize: Int, chunkCount: UInt64) {
        // A whole number of lane rounds, at least one chunk per lane.
        let perLane = max(1, ContentCipher.batchBytes / chunkSize / ContentCipher.laneCount)
        chunks = Int(min(UInt64(perLane * ContentCipher.laneCount), max(1, chunkCount)))
        plain = (0..<chunks).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16) }
        sealed = (0..<chunks).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize + XChaCha20Poly1305.tagBytes, alignment: 16) }
    }

    /// Wipes plaintext and frees everything; called by the owner when done.
    func release() {
        for b in plain { Sodium.wipe(b); b.deallocate() }
        for b in sealed { b.deallocate() }
    }
}

/// Runs one closure per lane on up to that many cores and waits for all; the first error (lowest lane)
/// is rethrown. Lanes touch disjoint state; the join orders everything they did before what follows.
enum Lanes {
    @discardableResult
    /// `parallel: false` runs the lanes one after the other on this thread: for a single chunk the
    /// hand-off to other threads costs more than the work.
    static func run<T>(_ lanes: Int, parallel: Bool = true, _ body: (Int) throws(ShadowError) -> T) throws(ShadowError) -> [T] {
        if !parallel {
            var out: [T] = []
            out.reserveCapacity(lanes)
            for lane in 0..<lanes { out.append(try body(lane)) }
            return out
        }
        let results = parallelMap(lanes, lanes: lanes) { lane in Result { () throws(ShadowError) -> T in try body(lane) } }
        return try results.map { (r) throws(ShadowError) -> T in try r.get() }
    }
}

/// P′ = LE64(L) ‖ data ‖ zero padding, read chunk by chunk at random from a source whose length was fixed
/// at open. Shared by lanes: every read is positional.
struct PaddedPlaintext: @unchecked Sendable {
    let source: ByteSource
    let dataLength: UInt64
    let total: UInt64
    let chunkSize: Int
    let chunkCount: UInt64

    init(source: ByteSource, scheme: PaddingScheme, chunkLog2: UInt8) {
        self.source = source
        dataLength = source.length
        total = Padding.paddedLength(8 + dataLength, scheme: scheme)
        chunkSize = 1 << Int(chunkLog2)
        chunkCount = (total + UInt64(chunkSize) - 1) / UInt64(chunkSize)
    }

    /// The largest chunk actually present: smaller than the chunk size for a one-chunk file.
    var bufferSize: Int { Int(min(UInt64(chunkSize), total)) }

    func chunkLength(_ index: UInt64) -> Int {
        Int(min(UInt64(chunkSize), total - index * UInt64(chunkSize)))
    }

    /// Fills `buffer` with chunk `index` of P′ and returns the filled part. A source that ends early
    /// throws `.sourceChanged`.
    func fill(chunk index: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> UnsafeRawBufferPointer {
        let start = index * UInt64(chunkSize)
        let want = chunkLength(index)
        var done = 0
        while done < want {
            let p = start + UInt64(done)
            if p < 8 {
                let prefix = LittleEndian.bytes(dataLength)
                let n = min(8 - Int(p), want - done)
                for i in 0..<n { buffer[done + i] = prefix[Int(p) + i] }
                done += n
            } else if p < 8 + dataLength {
                let n = Int(min(UInt64(want - done), 8 + dataLength - p))
                let got = try source.readFully(at: p - 8, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)]))
                guard got == n else {
                    throw ShadowError(.sourceChanged, "file shrank while it was read", advice: "it will be retried")
                }
                done += n
            } else {
                UnsafeMutableRawBufferPointer(rebasing: buffer[done..<want]).initializeMemory(as: UInt8.self, repeating: 0)
                done = want
            }
        }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<want])
    }

    /// Throws `.sourceChanged` if the source now holds more than its opened length.
    func checkNotGrown() throws(ShadowError) {
        var probe: [UInt8] = [0]
        let extra = try probe.withMutableBytes { (b) throws(ShadowError) in try source.read(at: dataLength, into: b) }
        guard extra == 0 else {
            throw ShadowError(.sourceChanged, "file grew while it was read", advice: "it will be retried")
        }
    }
}
