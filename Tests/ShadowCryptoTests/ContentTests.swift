import Testing
import Synchronization
import ShadowCore
@testable import ShadowCrypto

@Suite struct ContentRoundTripTests {
    static let chunk = 1 << 16
    static let sizes = [0, 1, chunk - 9, chunk - 8, chunk - 7, chunk - 1, chunk, chunk + 1, 2 * chunk - 8, 1 << 20]

    @Test(arguments: sizes, PaddingScheme.allCases)
    func roundTrip(size: Int, padding: PaddingScheme) throws {
        let k = try vectorKeys()
        let c = ContentCipher(keys: try k.requireRead())
        let data = pattern(size, seed: UInt8(size % 251))
        let params = ContentParameters(padding: padding)
        let ct = try c.encrypt(data, fileID: FileID.forNewPath(try PlainPath("f"), keys: try k.requireRead()), parameters: params)
        #expect(UInt64(ct.count) == ContentCipher.ciphertextSize(plaintextLength: UInt64(size), parameters: params))
        #expect(try c.decrypt(ct) == data)
        // Deterministic: the same input gives the same bytes.
        #expect(try c.encrypt(data, fileID: FileID.forNewPath(try PlainPath("f"), keys: try k.requireRead()), parameters: params) == ct)
    }

    @Test func otherChunkSizesRoundTrip() throws {
        let c = ContentCipher(keys: try vectorKeys().requireRead())
        for log2 in [UInt8(12), 14, 20] {
            let data = pattern(3 * (1 << Int(log2)) + 5)
            let ct = try c.encrypt(data, fileID: .zero, parameters: ContentParameters(chunkLog2: log2))
            #expect(try c.decrypt(ct) == data)
        }
        #expect(thrownCode { _ = try c.encrypt([1], fileID: .zero, parameters: ContentParameters(chunkLog2: 25)) } == .invalidArgument)
    }

    @Test func lineageBindsTheCiphertext() throws {
        let read = try vectorKeys().requireRead()
        let c = ContentCipher(keys: read)
        let data = Array("same content".utf8)
        let a = try c.encrypt(data, fileID: FileID.forNewPath(try PlainPath("a"), keys: read))
        let b = try c.encrypt(data, fileID: FileID.forNewPath(try PlainPath("b"), keys: read))
        #expect(a != b)  // unrelated equal files do not look equal to the server
        #expect(try c.encrypt(data, fileID: .zero) == (try c.encrypt(data, fileID: .zero)))  // dedup mode converges
    }

    @Test func sivOnlyPassMatchesHeader() throws {
        let c = ContentCipher(keys: try vectorKeys().requireRead())
        let data = pattern(100_000)
        let ct = try c.encrypt(data, fileID: .zero)
        #expect(try c.siv(of: MemorySource(data), fileID: .zero) == (try ContentHeader.decode(ct)).siv)
    }
}

/// A source whose bytes change after a number of reads: models a file edited during encryption.
/// Lanes read it from two threads, hence the lock.
final class ChangingSource: ByteSource, @unchecked Sendable {
    let original: [UInt8]
    let changed: [UInt8]
    let reportedLength: UInt64
    let reads = Mutex(0)
    let changeAfterReads: Int

    init(original: [UInt8], changed: [UInt8], reportedLength: UInt64? = nil, changeAfterReads: Int) {
        self.original = original
        self.changed = changed
        self.reportedLength = reportedLength ?? UInt64(original.count)
        self.changeAfterReads = changeAfterReads
    }

    var length: UInt64 { reportedLength }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        let n = reads.withLock { (count: inout Int) -> Int in count += 1; return count }
        return try MemorySource(n > changeAfterReads ? changed : original).read(at: offset, into: buffer)
    }
}

@Suite struct SourceChangeTests {
    let cipher: ContentCipher

    init() throws { cipher = ContentCipher(keys: try vectorKeys().requireRead()) }

    @Test func editBetweenPassesIsDetected() throws {
        var edited = pattern(300_000)
        let original = edited
        edited[150_000] ^= 1
        // Pass 1 reads 5 chunks and probes for growth once; everything after that sees the edit.
        let src = ChangingSource(original: original, changed: edited, changeAfterReads: 6)
        let sink = CountingSink()
        #expect(thrownCode { try cipher.encrypt(src, fileID: .zero, to: sink) } == .sourceChanged)
    }

    @Test func growthAndShrinkAreDetected() {
        let data = pattern(1000)
        let grown = ChangingSource(original: data, changed: data + [1], changeAfterReads: 0)
        let shrunk = ChangingSource(original: data, changed: Array(data.prefix(999)), reportedLength: 1000, changeAfterReads: 0)
        #expect(thrownCode { try cipher.encrypt(grown, fileID: .zero, to: CountingSink()) } == .sourceChanged)
        #expect(thrownCode { try cipher.encrypt(shrunk, fileID: .zero, to: CountingSink()) } == .sourceChanged)
        do { try cipher.encrypt(shrunk, fileID: .zero, to: CountingSink()) } catch { #expect(error.isRetryable) }
    }
}

/// The tamper catalogue: every row must be refused with a typed error and no plaintext returned.
@Suite struct ContentTamperTests {
    let cipher: ContentCipher
    let data = pattern(3 * 65536 + 1000)  // four chunks
    let ct: [UInt8]
    static let chunkStride = 65536 + 16

    init() throws {
        cipher = ContentCipher(keys: try vectorKeys().requireRead())
        ct = try cipher.encrypt(data, fileID: .zero)
    }

    func refused(_ bytes: [UInt8], expectedSIV: [UInt8]? = nil) -> ShadowError.Code? {
        thrownCode { _ = try cipher.decrypt(bytes, expectedSIV: expectedSIV) }
    }

    func flipped(_ at: Int) -> [UInt8] { var b = ct; b[at] ^= 0x80; return b }

    @Test func headerFieldFlips() {
        #expect(refused(flipped(0)) == .malformedObject)        // magic
        #expect(refused(flipped(4)) == .unsupportedVersion)     // algorithm
        #expect(refused(flipped(5)) == .malformedObject)        // chunk size out of range
        #expect(refused(flipped(6)) == .unsupportedVersion)     // padding scheme
        #expect(refused(flipped(7)) == .unsupportedVersion)     // flags
        #expect(refused(flipped(8)) == .unsupportedVersion)     // epoch
        for at in [12, 27, 28, 45, 59] {                         // file id and siv: in the AD and the nonce
            #expect(refused(flipped(at)) == .authenticationFailed)
        }
        var small = ct; small[5] = 15  // a valid but different chunk size reshapes the body
        #expect(refused(small) == .authenticationFailed)
    }

    @Test func bodyAndTagFlips() {
        let s = ContentTamperTests.chunkStride
        for at in [60, 60 + 100, 60 + s - 17, 60 + s - 1, 60 + s, 60 + 3 * s + 500, ct.count - 1] {
            #expect(refused(flipped(at)) == .authenticationFailed, "flip at \(at)")
        }
    }

    @Test func truncationAtAndOffChunkBoundaries() {
        let s = ContentTamperTests.chunkStride
        for cut in [60 + s, 60 + 2 * s, 60 + 3 * s] {
            #expect(refused(Array(ct.prefix(cut))) == .authenticationFailed, "cut at \(cut)")
        }
        for cut in [ct.count - 1, 60 + s + 1, 60 + s - 1, 60 + 17, 100] {
            let code = refused(Array(ct.prefix(cut)))
            #expect(code == .authenticationFailed || code == .malformedObject, "cut at \(cut)")
        }
        #expect(refused(Array(ct.prefix(59))) == .malformedObject)
        #expect(refused(Array(ct.prefix(60))) == .malformedObject)
        #expect(refused([]) == .malformedObject)
    }

    /// A truncated object's chunks up to the cut are genuine, but the last one left was sealed as not
    /// final: it must fail as the final chunk, so no plaintext of the object reaches the sink at all.
    @Test func truncatedObjectHandsNothingToTheSink() {
        let s = ContentTamperTests.chunkStride
        for cut in [60 + s, 60 + 2 * s, 60 + 3 * s] {
            let sink = MemorySink()
            let code = thrownCode { _ = try cipher.decrypt(MemorySource(Array(ct.prefix(cut))), to: sink) }
            #expect(code == .authenticationFailed, "cut at \(cut)")
            #expect(sink.bytes.count == 0, "cut at \(cut): plaintext reached the sink")
        }
    }

    @Test func appendedBytes() {
        for extra in [[UInt8(0)], [UInt8](repeating: 0, count: 16), pattern(65536 + 16)] {
            #expect(refused(ct + extra) == .authenticationFailed)
        }
    }

    @Test func swappedDuplicatedAndTransplantedChunks() throws {
        let s = ContentTamperTests.chunkStride
        let chunk = { (i: Int) in Array(self.ct[(60 + i * s)..<(60 + (i + 1) * s)]) }
        let head = Array(ct.prefix(60)), tail = Array(ct[(60 + 3 * s)...])
        #expect(refused(head + chunk(1) + chunk(0) + chunk(2) + tail) == .authenticationFailed)          // swapped
        #expect(refused(head + chunk(0) + chunk(0) + chunk(1) + chunk(2) + tail) == .authenticationFailed) // duplicated
        #expect(refused(head + chunk(0) + chunk(2) + tail) == .authenticationFailed)                     // dropped
        // Transplant chunk 1 from another object of the same length and file id.
        var other = data; other[0] ^= 1
        let ct2 = try cipher.encrypt(other, fileID: .zero)
        let foreign = Array(ct2[(60 + s)..<(60 + 2 * s)])
        #expect(refused(head + chunk(0) + foreign + chunk(2) + tail) == .authenticationFailed)
        // Another object's header on this body.
        #expect(refused(Array(ct2.prefix(60)) + Array(ct[60...])) == .authenticationFailed)
    }

    @Test func wrongKeyAndWrongPinnedSIV() throws {
        let other = ContentCipher(keys: try VaultKeys.generate().requireRead())
        #expect(thrownCode { _ = try other.decrypt(ct) } == .authenticationFailed)
        let sivOfOther = Array(try cipher.encrypt([1, 2, 3], fileID: .zero)[28..<60])
        // A content object swapped under another name record: refused before any chunk is opened.
        let sink = CountingSink()
        #expect(thrownCode { try cipher.decrypt(MemorySource(ct), expectedSIV: sivOfOther, to: sink) } == .contentMismatch)
        #expect(sink.count == 0)
        #expect(try cipher.decrypt(ct, expectedSIV: Array(ct[28..<60])) == data)
    }

    @Test func headerTamperReleasesNothing() {
        for at in [0, 4, 5, 6, 7, 8] {
            let sink = CountingSink()
            _ = thrownCode { try cipher.decrypt(MemorySource(flipped(at)), to: sink) }
            #expect(sink.count == 0)
        }
    }

    @Test func nonCanonicalPaddingAndLengthAreRefused() throws {
        // Build objects that authenticate chunk by chunk but break canonical form, with the real keys,
        // by sealing hand-made P′ buffers the way the encoder would.
        let read = try vectorKeys().requireRead()
        // A one-chunk object built straight from FORMAT.md §3, independently of the encoder.
        func seal(_ pPrime: [UInt8]) -> [UInt8] {
            let prefix = ContentHeader(chunkLog2: 16, padding: .padme, kind: .whole, epoch: 0, fileID: .zero, siv: []).prefix
            let lane0 = Blake2b.hash([0] + pPrime, key: read.contentSIV, outputLength: 32, personal: ContentCipher.lanePersonal)
            let lane1 = Blake2b.hash([1], key: read.contentSIV, outputLength: 32, personal: ContentCipher.lanePersonal)
            let siv = Blake2b.hash(prefix + LittleEndian.bytes(UInt64(pPrime.count)) + lane0 + lane1, key: read.contentSIV,
                                   outputLength: 32, personal: ContentCipher.personal)
            let header = ContentHeader(chunkLog2: 16, padding: .padme, kind: .whole, epoch: 0, fileID: .zero, siv: siv)
            let nonce = Array(siv[0..<16]) + [UInt8](repeating: 0, count: 8)
            return header.encoded + XChaCha20Poly1305.seal(key: read.contentAEAD, nonce: nonce, ad: header.encoded + [1], plaintext: pPrime)
        }
        var pPrime = LittleEndian.bytes(UInt64(5)) + Array("hello".utf8) + [UInt8](repeating: 0, count: 256 - 13)
        #expect(try cipher.decrypt(seal(pPrime)) == Array("hello".utf8))   // the canonical one opens
        pPrime[200] = 1
        #expect(refused(seal(pPrime)) == .nonCanonical)                      // non-zero padding
        let short = LittleEndian.bytes(UInt64(5)) + Array("hello".utf8) + [UInt8](repeating: 0, count: 100)
        #expect(refused(seal(short)) == .nonCanonical)                       // padded size not Padmé's
        let lying = LittleEndian.bytes(UInt64(1 << 40)) + [UInt8](repeating: 0, count: 248)
        #expect(refused(seal(lying)) == .nonCanonical)                       // length beyond the object
    }
}
