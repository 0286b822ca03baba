import Testing
import ShadowCore
@testable import ShadowCrypto

/// A segment store in memory that counts the objects written.
final class MemorySegments: SegmentWriter {
    var objects: [String: [UInt8]] = [:]
    var writes = 0
    func holds(_ name: String) -> Bool { objects[name] != nil }
    func write(_ name: String, _ object: [UInt8]) throws(ShadowError) {
        objects[name] = object
        writes += 1
    }
    func source(_ ref: SegmentRef) throws(ShadowError) -> ByteSource {
        guard let bytes = objects[ref.name] else { throw ShadowError(.notFound, "no segment \(ref.name)") }
        return MemorySource(bytes)
    }
}

@Suite struct SegmentingTests {
    let read: ReadKeys
    let content: FileContent
    init() throws {
        read = try vectorKeys().requireRead()
        content = FileContent(keys: read)
    }

    /// Encrypts `data`; returns the `.c` object and its segments in order.
    func store(_ data: [UInt8], fileID: FileID = FileID(unchecked: [UInt8](repeating: 0x11, count: 16)),
               in segments: MemorySegments = MemorySegments()) throws -> ([UInt8], [SegmentRef]) {
        let sink = MemorySink()
        let (_, refs) = try content.encrypt(MemorySource(data), fileID: fileID, to: sink, segments: segments)
        return (sink.bytes, refs)
    }

    func open(_ object: [UInt8], _ segments: MemorySegments, siv: [UInt8]? = nil) throws -> [UInt8] {
        let sink = MemorySink()
        try content.decrypt(MemorySource(object), expectedSIV: siv, segment: { (ref) throws(ShadowError) -> ByteSource in try segments.source(ref) }, to: sink)
        return sink.bytes
    }

    @Test func multiSegmentFileRoundTripsWithinTheBounds() throws {
        let data = pattern(5 << 20, seed: 3)
        let segments = MemorySegments()
        let (object, refs) = try store(data, in: segments)
        #expect(refs.count >= 5)
        #expect(refs.dropLast().allSatisfy { $0.length >= UInt64(Segmenting.minimumBytes) && $0.length <= UInt64(Segmenting.maximumBytes) })
        #expect(refs.reduce(0) { $0 + $1.length } == UInt64(data.count))
        #expect(try FileContent.header(of: MemorySource(object)).kind == .segmentList)
        #expect(try open(object, segments) == data)
        // The SIV-only pass names the same object.
        let header = try FileContent.header(of: MemorySource(object))
        #expect(try content.siv(of: MemorySource(data), fileID: header.fileID) == header.siv)
        #expect(try open(object, segments, siv: header.siv) == data)
    }

    @Test func smallFilesStayOneObject() throws {
        let segments = MemorySegments()
        let (object, refs) = try store(pattern(Int(Segmenting.thresholdBytes)), in: segments)
        #expect(refs.isEmpty && segments.writes == 0)
        #expect(try FileContent.header(of: MemorySource(object)).kind == .whole)
    }

    @Test func insertionsChangeAtMostTwoSegments() throws {
        let data = pattern(10 << 20, seed: 9)
        let before = Set(try store(data).1)
        let edits: [(String, [UInt8])] = [
            ("insert at the start", Array("a new first line\n".utf8) + data),
            ("insert in the middle", Array(data[..<(5 << 20)]) + Array("one more line\n".utf8) + Array(data[(5 << 20)...])),
            ("one byte changed", { var d = data; d[7_000_000] ^= 0x55; return d }()),
            ("append", data + Array("appended\n".utf8)),
        ]
        for (what, edited) in edits {
            let after = try store(edited).1
            let changed = after.filter { !before.contains($0) }
            #expect(changed.count >= 1 && changed.count <= 2, "\(what): \(changed.count) segments changed")
            #expect(changed.reduce(0) { $0 + $1.length } < 3 << 20, "\(what)")
        }
    }

    @Test func identicalSegmentsAreOneObjectAcrossFilesAndWithinOne() throws {
        let a = pattern(3 << 20, seed: 4)
        let segments = MemorySegments()
        let (_, first) = try store(a + a, in: segments)
        // The second copy of `a` cuts where the first did once the chunker is back in step.
        #expect(segments.writes < first.count)
        #expect(segments.objects.count == segments.writes)
        let writesBefore = segments.writes
        let (_, other) = try store(a, fileID: FileID(unchecked: [UInt8](repeating: 0x22, count: 16)), in: segments)
        // Another file (another lineage) with the same bytes shares every segment but the last.
        #expect(segments.writes - writesBefore <= 1)
        #expect(Set(other.dropLast()).isSubset(of: Set(first)))
    }

    @Test func boundariesDependOnTheVaultKey() throws {
        let data = pattern(4 << 20, seed: 5)
        let ours = try store(data).1.map(\.length)
        let otherKeys = try VaultKeys(vaultSecretBytes: Array(repeating: 7, count: 32)).requireRead()
        let sink = MemorySink()
        let theirs = try FileContent(keys: otherKeys).encrypt(MemorySource(data), fileID: .zero, to: sink, segments: MemorySegments()).segments.map(\.length)
        #expect(ours != theirs)
    }

    @Test func swappedMissingAndForgedSegmentsAreRefused() throws {
        let data = pattern(3 << 20, seed: 6)
        let segments = MemorySegments()
        let (object, refs) = try store(data, in: segments)
        // The server serves one segment's object under another's name.
        let swapped = MemorySegments()
        swapped.objects = segments.objects
        swapped.objects[refs[0].name] = segments.objects[refs[1].name]
        #expect(thrownCode { _ = try open(object, swapped) } == .contentMismatch)
        // A flipped bit inside a segment.
        let flipped = MemorySegments()
        flipped.objects = segments.objects
        flipped.objects[refs[1].name]![100] ^= 1
        #expect(thrownCode { _ = try open(object, flipped) } == .authenticationFailed)
        // A segment list pinned by another record.
        #expect(thrownCode { _ = try open(object, segments, siv: [UInt8](repeating: 0, count: 32)) } == .contentMismatch)
    }

    @Test func nonCanonicalLayoutsAreRefused() throws {
        let cipher = content.cipher
        let fileID = FileID(unchecked: [UInt8](repeating: 0x11, count: 16))
        // A file over the threshold stored whole.
        let big = pattern(Int(Segmenting.thresholdBytes) + 1)
        let whole = try cipher.encrypt(big, fileID: fileID)
        #expect(thrownCode { _ = try open(whole, MemorySegments()) } == .nonCanonical)
        // A list whose boundaries are not the vault's: every segment authentic, the cut moved by one byte.
        let data = pattern(3 << 20, seed: 8)
        let refs = try store(data).1
        let segments = MemorySegments()
        var list: [UInt8] = []
        var offset = 0
        for (i, ref) in refs.enumerated() {
            let length = Int(ref.length) + (i == 0 ? 1 : i == 1 ? -1 : 0)
            let piece = Array(data[offset..<(offset + length)])
            offset += length
            let object = try cipher.encrypt(piece, fileID: .zero, kind: .segment)
            let siv = Array(object[28..<60])
            try segments.write(SegmentRef(length: UInt64(length), siv: siv).name, object)
            list += LittleEndian.bytes(UInt64(length)) + siv
        }
        let moved = try cipher.encrypt(list, fileID: fileID, kind: .segmentList)
        #expect(thrownCode { _ = try open(moved, segments) } == .nonCanonical)
        // A segment list of a small file.
        let small = pattern(100)
        let segmentObject = try cipher.encrypt(small, fileID: .zero, kind: .segment)
        let tiny = MemorySegments()
        let ref = SegmentRef(length: 50, siv: Array(segmentObject[28..<60]))
        try tiny.write(ref.name, segmentObject)
        let twoEntries = (LittleEndian.bytes(UInt64(100)) + ref.siv) + (LittleEndian.bytes(UInt64(100)) + ref.siv)
        #expect(thrownCode { _ = try open(try cipher.encrypt(twoEntries, fileID: fileID, kind: .segmentList), tiny) } == .nonCanonical)
        // A lone segment where a file's object belongs.
        #expect(thrownCode { _ = try open(segmentObject, tiny) } == .malformedObject)
    }
}
