import Testing
import Glibc
import ShadowCore
import ShadowSystem
@testable import ShadowCrypto

/// A sink that hashes what it is given, so a 1 GiB round trip needs no 1 GiB buffer.
final class HashingSink: ByteSink {
    let hasher = Blake2b(key: nil, outputLength: 32, personal: Personal("test"))
    var count: UInt64 = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        hasher.update(bytes)
        count += UInt64(bytes.count)
    }
}

/// Correctness of a 1 GiB streamed round trip. Its memory bound is asserted in a process of its own
/// (EndToEndTests.BenchmarkProcessTests), since tests here run in parallel and share one RSS.
@Suite(.serialized) struct StreamingTests {

    @Test func oneGiBFileStreamsInBoundedMemory() throws {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "shadow-stream-")
        defer { try? FileSystem.removeTree(dir) }
        let size: Int64 = 1 << 30
        let plain = dir.appending("big"), sealed = dir.appending("big.c")
        // A sparse file with a few marked places: reads cost no disk, contents are not all alike.
        let fd = plain.withCString { open($0, O_CREAT | O_WRONLY, 0o600) }
        #expect(fd >= 0)
        #expect(ftruncate(fd, off_t(size)) == 0)
        for off in [0, 65_535, 1 << 29, Int(size) - 3] { _ = pwrite(fd, "mark", min(4, Int(size) - off), off_t(off)) }
        close(fd)
        let read = try vectorKeys().requireRead()
        let cipher = ContentCipher(keys: read)
        let writer = try AtomicFileWriter(destination: sealed)
        let header = try cipher.encrypt(try FileSource(plain), fileID: .zero, to: writer)
        try writer.commit()
        let source = try FileSource(sealed)
        #expect(source.length == ContentCipher.ciphertextSize(plaintextLength: UInt64(size), parameters: .default))
        let sink = HashingSink()
        try cipher.decrypt(source, expectedSIV: header.siv, to: sink)
        #expect(sink.count == UInt64(size))
        // The same bytes hashed straight from the plaintext file.
        let direct = HashingSink()
        let src = try FileSource(plain)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var off: UInt64 = 0
        while off < src.length {
            let n = try buf.withMutableBytes { (b) throws(ShadowError) in try src.read(at: off, into: b) }
            try buf.withBytes { (b) throws(ShadowError) in try direct.write(UnsafeRawBufferPointer(rebasing: b[0..<n])) }
            off += UInt64(n)
        }
        #expect(sink.hasher.finish() == direct.hasher.finish())
    }

    @Test func failedDecryptionLeavesNoFile() throws {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "shadow-stream-")
        defer { try? FileSystem.removeTree(dir) }
        let cipher = ContentCipher(keys: try vectorKeys().requireRead())
        var ct = try cipher.encrypt(pattern(500_000), fileID: .zero)
        ct[ct.count - 20] ^= 1   // the last chunk: every earlier chunk verifies and reaches the sink
        let out = dir.appending("out")
        do {
            let writer = try AtomicFileWriter(destination: out)
            #expect(thrownCode { try cipher.decrypt(MemorySource(ct), to: writer) } == .authenticationFailed)
        }
        #expect(!FileSystem.exists(out))
        #expect(try FileSystem.list(dir).isEmpty)
    }
}
