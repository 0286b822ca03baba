// Benchmarks: figures printed side by side in one run, so ratios survive a noisy machine.
//   swift run -c release shadowsync-bench crypto [--size-mib N] [--file-gib N] [--dir DIR]
//   swift run -c release shadowsync-bench vectors        (prints the FORMAT.md test vectors)
//   swift run -c release shadowsync-bench rescan --folder DIR [--git WORKTREE] [--rounds N]
//        (a long-running agent's no-op pass, in process, against `git status` in the same run)
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowEngine
import ShadowAgent
import Foundation

setvbuf(stdout, nil, _IOLBF, 0)

func now() -> Double { monotonicSeconds() }

func option(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return value
}

func stringOption(_ name: String) -> String? {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}

/// A sink that throws bytes away (measures the cipher, not the disk).
final class DiscardSink: ByteSink {
    var count: UInt64 = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) { count += UInt64(bytes.count) }
}

func mbps(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e6 }

func benchCrypto() throws(ShadowError) {
    let sizeMiB = option("--size-mib", default: 256)
    let fileGiB = option("--file-gib", default: 1)
    let rounds = option("--rounds", default: 3)
    let keys = try VaultKeys(vaultSecretBytes: Array(0..<32))
    let read = try keys.requireRead()
    let cipher = ContentCipher(keys: read)
    let size = sizeMiB << 20
    print("crypto benchmark: \(fileGiB) GiB file streamed from disk; \(sizeMiB) MiB in memory, best of \(rounds) rounds")
    if fileGiB > 0 { try benchFile(fileGiB: fileGiB) }
    let buffer = Array(repeating: UInt8(0x5a), count: size)
    let source = MemorySource(buffer)
    let fid = FileID.forNewPath(try PlainPath("bench.bin"), keys: read)

    // Raw AEAD: the same 64 KiB chunking, no SIV pass, no header: the ceiling we compare against.
    let chunk = 1 << 16
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk + XChaCha20Poly1305.tagBytes, alignment: 16)
    defer { out.deallocate() }
    let nonce = [UInt8](repeating: 7, count: XChaCha20Poly1305.nonceBytes)
    var raw = Double.infinity, enc = Double.infinity, dec = Double.infinity
    let ciphertext = try cipher.encrypt(buffer, fileID: fid, parameters: .default)
    for _ in 0..<rounds {
        var t = now()
        buffer.withUnsafeBytes { b in nonce.withUnsafeBytes { n in
            var off = 0
            while off < size {
                let len = min(chunk, size - off)
                XChaCha20Poly1305.seal(key: read.doorbell, nonce: n, ad: UnsafeRawBufferPointer(start: nil, count: 0),
                                       plaintext: UnsafeRawBufferPointer(rebasing: b[off..<(off + len)]), into: out)
                off += len
            }
        } }
        raw = min(raw, now() - t)
        t = now()
        try cipher.encrypt(source, fileID: fid, to: DiscardSink())
        enc = min(enc, now() - t)
        t = now()
        try cipher.decrypt(MemorySource(ciphertext), to: DiscardSink())
        dec = min(dec, now() - t)
    }
    let rawRate = mbps(size, raw)
    let cores = onlineProcessorCount()
    let costs = PrimitiveCosts.measure(bytes: min(size, 64 << 20), rounds: rounds)
    print(String(format: "  raw XChaCha20-Poly1305 (64 KiB chunks)  %8.1f MB/s   1.00x", rawRate))
    print(String(format: "  shdw/2 encrypt (2 passes, SIV)          %8.1f MB/s   %.2fx of raw", mbps(size, enc), mbps(size, enc) / rawRate))
    print(String(format: "  shdw/2 decrypt (verify + SIV)           %8.1f MB/s   %.2fx of raw", mbps(size, dec), mbps(size, dec) / rawRate))
    print(String(format: "  one core: AEAD %.0f MB/s, BLAKE2b %.0f MB/s, Poly1305 %.0f MB/s", costs.aead, costs.blake2b, costs.poly1305))
    print(String(format: "  ceiling on %d cores from those: encrypt %.0f MB/s (%.2fx), decrypt %.0f MB/s (%.2fx)", cores,
                 costs.encryptCeiling(cores: cores), costs.encryptCeiling(cores: cores) / costs.aead,
                 costs.decryptCeiling(cores: cores), costs.decryptCeiling(cores: cores) / costs.aead))

}

/// Streams a sparse file of `fileGiB` GiB through encrypt-to-disk and decrypt. Runs first, so the
/// process peak RSS (VmHWM) it prints is the streaming path's own.
func benchFile(fileGiB: Int) throws(ShadowError) {
    let keys = try VaultKeys(vaultSecretBytes: Array(0..<32))
    let read = try keys.requireRead()
    let cipher = ContentCipher(keys: read)
    let fid = FileID.forNewPath(try PlainPath("bench.bin"), keys: read)
    let dir: BytePath
    if let given = stringOption("--dir") { dir = BytePath(given) } else { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowsync-bench-") }
    defer { try? FileSystem.removeTree(dir) }
    let plainPath = dir.appending("big.plain"), cipherPath = dir.appending("big.shdw")
    let fd = plainPath.withCString { open($0, O_CREAT | O_WRONLY | O_TRUNC, 0o600) }
    guard fd >= 0, ftruncate(fd, off_t(fileGiB) << 30) == 0 else { throw ShadowError(.ioFailure, "cannot create \(plainPath)") }
    _ = pwrite(fd, "marker", 6, off_t(fileGiB) << 29)
    close(fd)
    let rssBefore = ProcessFacts.residentBytes() ?? 0
    var t = now()
    let writer = try AtomicFileWriter(destination: cipherPath)
    try cipher.encrypt(try FileSource(plainPath), fileID: fid, to: writer)
    try writer.commit()
    let encFile = now() - t
    t = now()
    try cipher.decrypt(try FileSource(cipherPath), to: DiscardSink())
    let decFile = now() - t
    let peak = ProcessFacts.peakResidentBytes() ?? 0
    let bytes = fileGiB << 30
    print(String(format: "  %d GiB file: encrypt to disk %.1f MB/s, decrypt %.1f MB/s", fileGiB, mbps(bytes, encFile), mbps(bytes, decFile)))
    print(String(format: "  peak RSS of the process (VmHWM) after the file phase: %.1f MiB (RSS at its start %.1f MiB; target < 32 MiB)",
                 Double(peak) / 1048576, Double(rssBefore) / 1048576))
}

func printVectors() throws(ShadowError) {
    let keys = try VaultKeys(vaultSecretBytes: Array(0..<32))
    let read = try keys.requireRead()
    print("vault secret      000102…1f (bytes 0..31)")
    print("root public key   \(hexString(keys.rootPublicKey))")
    print("vault id          \(hexString(keys.vaultID))")
    print("rw capability     \(CapabilityText.encode(keys))")
    print("ro capability     \(CapabilityText.encode(try keys.attenuated(to: .readOnly)))")
    print("vk capability     \(CapabilityText.encode(try keys.attenuated(to: .verifyOnly)))")
    let names = try NameCipher(keys: keys)
    for p in ["Documents/Tax 2024/return.pdf", "a"] {
        let path = try PlainPath(p)
        print("locator(\(p))  \(names.locator(for: path).nameObjectPath)")
        print("file id(\(p))  \(FileID.forNewPath(path, keys: read))")
    }
    let fid = try FileID(bytes: Array(repeating: 0x11, count: 16))
    for (label, data, pad) in [("empty, padme", [UInt8](), PaddingScheme.padme), ("\"hello\", none", Array("hello".utf8), .none), ("\"hello\", padme", Array("hello".utf8), .padme)] {
        let ct = try ContentCipher(keys: read).encrypt(data, fileID: fid, parameters: ContentParameters(padding: pad))
        print("content(\(label)) \(ct.count) bytes: \(hexString(ct))")
    }
    let long = try ContentCipher(keys: read).encrypt(VectorInputs.multiChunkPlaintext, fileID: fid, parameters: .default)
    print("content(150 KiB of i mod 251, padme) \(long.count) bytes: sha256 \(hexString(SHA256.hash(long)))")
    print("  first 64 bytes \(hexString(Array(long.prefix(64))))")
    print("  last 32 bytes  \(hexString(Array(long.suffix(32))))")
    let segmented = MemorySink()
    let segments = CollectedSegments()
    let (_, refs) = try FileContent(keys: read).encrypt(MemorySource(VectorInputs.segmentedPlaintext), fileID: fid, to: segmented, segments: segments)
    print("segmented content (1.5 MiB of the LCG's top bytes), path big.bin:")
    print("  segment lengths \(refs.map { String($0.length) }.joined(separator: ","))")
    for (i, ref) in refs.enumerated() { print("  segment \(i)  \(ref.name)  \(hexString(SHA256.hash(segments.objects[ref.name] ?? [])))") }
    print("  segment 0 path  \(names.locator(for: try PlainPath("big.bin")).segmentObjectPath(refs[0].name))")
    print("  list object     \(hexString(segmented.bytes))")
    let rec = NameRecord(path: try PlainPath("a"), kind: .directory)
    print("name record(dir \"a\", default metadata) \(hexString(try names.seal(rec)))")
    let hello = try ContentCipher(keys: read).encrypt(Array("hello".utf8), fileID: fid, parameters: .default)
    print("name record(file \"notes/todo.txt\", 0600) \(hexString(try names.seal(try VectorInputs.fileRecord(siv: Array(hello[28..<60])))))")
    print("vault.json \(String(decoding: try VaultDescriptor.make(keys), as: UTF8.self))", terminator: "")
    print("signature(commit, \"tree 0\") \(hexString(try Signatures.sign(Array("tree 0".utf8), purpose: .commit, keys: keys)))")
}

/// posix_spawn and wait, output discarded: Foundation's Process adds several milliseconds of its own,
/// which would flatter the comparison.
func runQuietly(_ argv: [String]) throws(ShadowError) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else {
        throw ShadowError(.notFound, "cannot run \(argv[0])")
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    guard status == 0 else { throw ShadowError(.ioFailure, "\(argv.joined(separator: " ")) failed (status \(status))") }
}

/// What a running agent pays per no-op pass: the folder stays open (index loaded, process started),
/// each pass scans, compares, fetches and finds nothing. `git status` runs between passes, so both see
/// the same machine state; medians of each.
func benchRescan() throws(ShadowError) {
    guard let folder = stringOption("--folder") else {
        throw ShadowError(.invalidArgument, "rescan needs --folder DIR (an initialised folder)")
    }
    let gitWork = stringOption("--git")
    let rounds = option("--rounds", default: 9)
    var t = now()
    let (_, engine) = try Workspace().open(BytePath(folder))
    let opened = now() - t
    t = now()
    _ = try engine.sync()
    let first = now() - t
    var ours: [Double] = [], git: [Double] = []
    for _ in 0..<rounds {
        t = now()
        let report = try engine.sync()
        ours.append(now() - t)
        guard report.committed.isEmpty && report.applied.isEmpty && !report.pushed else {
            throw ShadowError(.invalidArgument, "the folder changed during the benchmark: \(report.committed.prefix(3)) \(report.applied.prefix(3))")
        }
        if let gitWork {
            t = now()
            try runQuietly(["/usr/bin/git", "-C", gitWork, "status", "--porcelain"])
            git.append(now() - t)
        }
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    func ms(_ v: Double) -> String { String(format: "%.1f ms", v * 1000) }
    print("open (index load) \(ms(opened)); first pass \(ms(first))")
    print("no-op pass in process, median of \(rounds): \(ms(median(ours)))")
    if !git.isEmpty {
        print("git status, median of \(rounds):            \(ms(median(git)))")
        print(String(format: "ratio: %.2fx git status", median(ours) / median(git)))
        print(String(format: "figures: %.4f %.4f", median(ours), median(git)))  // for the benchmark scripts
    }
}

do {
    switch CommandLine.arguments.dropFirst().first {
    case "rescan": try benchRescan()
    case "crypto": try benchCrypto()
    case "vectors": try printVectors()
    default:
        print("usage: shadowsync-bench crypto [--size-mib N] [--file-gib N] [--rounds N] [--dir DIR] | vectors | rescan --folder DIR [--git WORKTREE] [--rounds N]")
        exit(2)
    }
} catch {
    print("error: \(error)")
    exit(1)
}

/// The inputs of FORMAT.md §8 that are more than a literal (VectorTests spells them out on its own).
/// Segment objects kept in memory by name, for printing.
final class CollectedSegments: SegmentWriter {
    var objects: [String: [UInt8]] = [:]
    func holds(_ name: String) -> Bool { objects[name] != nil }
    func write(_ name: String, _ object: [UInt8]) throws(ShadowError) { objects[name] = object }
}

enum VectorInputs {
    /// 1.5 MiB, byte i = the top byte of the (i+1)-th state of Knuth's MMIX linear congruential generator
    /// from 0: over the segmenting threshold, cut into several segments of every kind of length.
    static let segmentedPlaintext: [UInt8] = {
        var x: UInt64 = 0
        return (0..<(3 << 19)).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(x >> 56)
        }
    }()

    /// 150 KiB, byte i = i mod 251: three 64 KiB chunks once padded, so both SIV lanes hold data.
    static let multiChunkPlaintext = (0..<(150 * 1024)).map { UInt8($0 % 251) }

    /// A private file with every metadata field set: 0600, 2026-01-01T00:00:00.123456789Z, device a0…af.
    static func fileRecord(siv: [UInt8]) throws(ShadowError) -> NameRecord {
        NameRecord(path: try PlainPath("notes/todo.txt"), kind: .file(length: 5, siv: siv, executable: false),
                   metadata: EntryMetadata(permissions: 0o600, modified: FileTime(seconds: 1_767_225_600, nanoseconds: 123_456_789),
                                           modifiedBy: Array(0xa0...0xaf)))
    }
}
