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
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(ShadowError) {
        guard bytes.count == FileID.size else { throw ShadowError(.malformedObject, "a file id is 16 bytes") }
        self.bytes = bytes
    }

    /// All zero: the "cross-file dedup" mode where equal files give equal blobs (leaks equality).
    public static let zero = FileID(unchecked: [UInt8](repeating: 0, count: size))

    /// file_id = BLAKE2b-128(key K_fid, personal "SHDW-fileid-v1", path bytes) for a path seen first.
    public static func forNewPath(_ path: PlainPath, keys: ReadKeys) -> FileID {
        FileID(unchecked: Blake2b.hash(path.bytes, key: keys.fileID, outputLength: size, personal: Personal("SHDW-fileid-v1")))
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }
    public var description: String { Hex.encode(bytes) }
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
    public let epoch: UInt32
    public let fileID: FileID
    /// The synthetic IV: a keyed hash of every parameter and the padded plaintext.
    public let siv: [UInt8]

    /// Bytes 0..<28: everything but the SIV (the SIV's own input starts with these).
    var prefix: [UInt8] {
        ContentHeader.magic + [ContentHeader.algorithm, chunkLog2, padding.rawValue, 0] + LE.bytes(epoch) + fileID.bytes
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
        guard bytes[7] == 0 else {
            throw ShadowError(.unsupportedVersion, "content object has flags \(bytes[7]) set that this build does not know")
        }
        return ContentHeader(chunkLog2: bytes[5], padding: padding, epoch: LE.read(UInt32.self, bytes, at: 8),
                             fileID: FileID(unchecked: Array(bytes[12..<28])), siv: Array(bytes[28..<60]))
    }
}

/// Deterministic, streaming, chunked encryption of file contents (FORMAT.md §Content object).
public struct ContentCipher: Sendable {
    let keys: ReadKeys
    static let personal = Personal("SHDW-content-v1")

    public init(keys: ReadKeys) { self.keys = keys }

    /// Exact ciphertext size for a plaintext of `length` bytes.
    public static func ciphertextSize(plaintextLength length: UInt64, parameters: ContentParameters) -> UInt64 {
        let total = Padding.paddedLength(8 + length, scheme: parameters.padding)
        let chunk = UInt64(1) << UInt64(parameters.chunkLog2)
        let n = (total + chunk - 1) / chunk
        return UInt64(ContentHeader.size) + total + UInt64(XChaCha20Poly1305.tagBytes) * n
    }

    /// Pass 1 only: the SIV the file would get. Lets a caller decide without writing anything whether an
    /// existing content object already holds exactly this plaintext.
    public func siv(of source: ByteSource, fileID: FileID, parameters: ContentParameters = .default) throws(ShadowError) -> [UInt8] {
        let prefix = header(siv: [], fileID: fileID, parameters: parameters).prefix
        let hasher = Blake2b(key: keys.contentSIV, outputLength: ContentHeader.sivSize, personal: ContentCipher.personal)
        hasher.update(prefix)
        var stream = PaddedPlaintext(source: source, scheme: parameters.padding)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << Int(parameters.chunkLog2), alignment: 16)
        defer { Sodium.wipe(buffer); buffer.deallocate() }
        while true {
            let n = try stream.fill(buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finish()
    }

    private func header(siv: [UInt8], fileID: FileID, parameters: ContentParameters) -> ContentHeader {
        ContentHeader(chunkLog2: parameters.chunkLog2, padding: parameters.padding, epoch: keys.epoch, fileID: fileID, siv: siv)
    }

    /// Encrypts in two passes with constant memory. Pass 2 re-hashes what it encrypts; if the source
    /// changed in between, it throws `.sourceChanged` and the sink's contents must be discarded.
    @discardableResult
    public func encrypt(_ source: ByteSource, fileID: FileID, parameters: ContentParameters = .default,
                        to sink: ByteSink) throws(ShadowError) -> ContentHeader {
        guard ContentParameters.acceptedChunkLog2.contains(parameters.chunkLog2) else {
            throw ShadowError(.invalidArgument, "chunk size 2^\(parameters.chunkLog2) is outside 2^12…2^20")
        }
        let siv = try self.siv(of: source, fileID: fileID, parameters: parameters)
        let header = header(siv: siv, fileID: fileID, parameters: parameters)
        let headerBytes = header.encoded
        try headerBytes.withBytes { (b) throws(ShadowError) in try sink.write(b) }

        let chunkSize = 1 << Int(parameters.chunkLog2)
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize + XChaCha20Poly1305.tagBytes, alignment: 16)
        defer { Sodium.wipe(plain); plain.deallocate(); sealed.deallocate() }

        let rehash = Blake2b(key: keys.contentSIV, outputLength: ContentHeader.sivSize, personal: ContentCipher.personal)
        rehash.update(header.prefix)
        var ad = headerBytes + [0]
        var nonce = Array(siv[0..<16]) + [UInt8](repeating: 0, count: 8)
        var stream = PaddedPlaintext(source: source, scheme: parameters.padding)
        let chunkCount = (stream.total + UInt64(chunkSize) - 1) / UInt64(chunkSize)
        for index in 0..<chunkCount {
            let n = try stream.fill(plain)
            guard n > 0 else { throw ShadowError(.sourceChanged, "file shrank while it was encrypted", advice: "it will be retried") }
            let chunk = UnsafeRawBufferPointer(rebasing: plain[0..<n])
            rehash.update(chunk)
            ad[ContentHeader.size] = index == chunkCount - 1 ? 1 : 0
            nonce.replaceSubrange(16..<24, with: LE.bytes(index))
            nonce.withUnsafeBytes { nb in ad.withUnsafeBytes { ab in
                XChaCha20Poly1305.seal(key: keys.contentAEAD, nonce: nb, ad: ab, plaintext: chunk, into: sealed)
            } }
            try sink.write(UnsafeRawBufferPointer(rebasing: sealed[0..<(n + XChaCha20Poly1305.tagBytes)]))
        }
        guard Sodium.equal(rehash.finish(), siv) else {
            throw ShadowError(.sourceChanged, "file changed while it was encrypted; the output was discarded",
                              advice: "nothing to do: it is encrypted again on the next pass")
        }
        return header
    }

    /// Decrypts and verifies everything: header, every chunk tag with its index and final flag, canonical
    /// length and zero padding, and finally the SIV over the whole plaintext. If `expectedSIV` is given (the
    /// one pinned by the name record) a different object is refused before any chunk is opened.
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
            throw ShadowError(.unsupportedVersion, "content object is sealed under key epoch \(header.epoch), this key holds epoch \(keys.epoch)",
                              advice: "use a key that includes that epoch")
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

        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunkSize), alignment: 16)
        let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunkSize + tag), alignment: 16)
        defer { Sodium.wipe(plain); plain.deallocate(); sealed.deallocate() }
        let rehash = Blake2b(key: keys.contentSIV, outputLength: ContentHeader.sivSize, personal: ContentCipher.personal)
        rehash.update(header.prefix)
        var ad = headerBytes + [0]
        var nonce = Array(header.siv[0..<16]) + [UInt8](repeating: 0, count: 8)
        var dataLength: UInt64 = 0     // L as the first chunk states it
        var dataEndInP: UInt64 = 0     // 8 + L, clamped to P′ so a lying L cannot overflow anything
        var position: UInt64 = 0       // offset in P′
        var offset = UInt64(ContentHeader.size)
        var nonZeroPadding = false
        for index in 0..<chunkCount {
            let sealedCount = Int(index == chunkCount - 1 ? lastSealed : chunkSize + tag)
            let window = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<sealedCount])
            guard try source.readFully(at: offset, into: window) == sealedCount else {
                throw ShadowError(.sourceChanged, "content object shrank while it was read")
            }
            offset += UInt64(sealedCount)
            let plainCount = sealedCount - Int(tag)
            ad[ContentHeader.size] = index == chunkCount - 1 ? 1 : 0
            nonce.replaceSubrange(16..<24, with: LE.bytes(index))
            let opened = nonce.withUnsafeBytes { nb in ad.withUnsafeBytes { ab in
                XChaCha20Poly1305.open(key: keys.contentAEAD, nonce: nb, ad: ab, ciphertext: UnsafeRawBufferPointer(window), into: plain)
            } }
            guard opened else {
                throw ShadowError(.authenticationFailed, "chunk \(index) of \(chunkCount) failed authentication: the object was altered, truncated, extended or reordered, or the key is wrong")
            }
            let chunk = UnsafeRawBufferPointer(rebasing: plain[0..<plainCount])
            rehash.update(chunk)
            var dataStart = 0
            if index == 0 {
                dataLength = LE.read(UInt64.self, chunk, at: 0)
                dataEndInP = 8 + min(dataLength, total - 8)
                dataStart = 8
            }
            // Bytes of this chunk that are file data; the rest (after 8 + L) must be zero padding.
            let dataEnd = dataEndInP > position ? Int(min(UInt64(plainCount), dataEndInP - position)) : 0
            if dataEnd > dataStart {
                try sink.write(UnsafeRawBufferPointer(rebasing: chunk[dataStart..<dataEnd]))
            }
            let padStart = max(dataStart, dataEnd)
            if !Sodium.isZero(UnsafeRawBufferPointer(rebasing: chunk[padStart..<plainCount])) { nonZeroPadding = true }
            position += UInt64(plainCount)
        }
        guard Sodium.equal(rehash.finish(), header.siv) else {
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

    public func encrypt(_ plaintext: [UInt8], fileID: FileID, parameters: ContentParameters = .default) throws(ShadowError) -> [UInt8] {
        let sink = MemorySink()
        try encrypt(MemorySource(plaintext), fileID: fileID, parameters: parameters, to: sink)
        return sink.bytes
    }

    /// Returns the plaintext only when every check passed.
    public func decrypt(_ ciphertext: [UInt8], expectedSIV: [UInt8]? = nil) throws(ShadowError) -> [UInt8] {
        let sink = MemorySink()
        try decrypt(MemorySource(ciphertext), expectedSIV: expectedSIV, to: sink)
        return sink.bytes
    }
}

/// P′ = LE64(L) ‖ data ‖ zero padding, produced on the fly from a source whose length was fixed at open.
struct PaddedPlaintext {
    let source: ByteSource
    let dataLength: UInt64
    let total: UInt64
    private var position: UInt64 = 0
    private var checkedEnd = false

    init(source: ByteSource, scheme: PaddingScheme) {
        self.source = source
        dataLength = source.length
        total = Padding.paddedLength(8 + dataLength, scheme: scheme)
    }

    /// Fills up to buffer.count bytes; 0 when P′ is exhausted. A source that ends early or runs past its
    /// opened length throws `.sourceChanged`.
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        let want = Int(min(UInt64(buffer.count), total - position))
        var done = 0
        while done < want {
            let p = position + UInt64(done)
            if p < 8 {
                let prefix = LE.bytes(dataLength)
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
                if !checkedEnd {
                    var probe: [UInt8] = [0]
                    let extra = try probe.withMutableBytes { (b) throws(ShadowError) in try source.read(at: dataLength, into: b) }
                    guard extra == 0 else {
                        throw ShadowError(.sourceChanged, "file grew while it was read", advice: "it will be retried")
                    }
                    checkedEnd = true
                }
                let n = want - done
                UnsafeMutableRawBufferPointer(rebasing: buffer[done..<want]).initializeMemory(as: UInt8.self, repeating: 0)
                done += n
            }
        }
        position += UInt64(want)
        return want
    }
}
