public import ShadowCore
public import ShadowCrypto
import ShadowSystem

/// Largest segment object a reader loads: the ciphertext of the largest segment (about 1.03 MiB).
let segmentObjectLimitBytes = Int(ContentCipher.ciphertextSize(plaintextLength: UInt64(Segmenting.maximumBytes), parameters: .default))

/// Largest content object a file of `length` bytes (its verified name record's) can have: its whole
/// ciphertext up to `Segmenting.thresholdBytes`, else the ciphertext of a segment list with an entry
/// per minimum-size segment; with the smallest chunks readers accept, which cost the most tags.
func contentObjectLimitBytes(plaintextLength length: UInt64) -> Int {
    let plain = Segmenting.isSegmented(length: length)
        ? UInt64(Segmenting.listEntryBytes) * (length / UInt64(Segmenting.minimumBytes) + 1)
        : length
    let worst = ContentParameters(chunkLog2: ContentParameters.acceptedChunkLog2.lowerBound)
    return Int(clamping: ContentCipher.ciphertextSize(plaintextLength: plain, parameters: worst))
}

extension EntryKind {
    /// The content object limit for this entry (a file's length), 0 for anything else.
    var contentLimitBytes: Int {
        guard case .file(let length, _, _) = self else { return 0 }
        return contentObjectLimitBytes(plaintextLength: length)
    }
}

extension VerifiedEntry {
    /// Decrypts this file from git objects into `sink`, one segment blob in memory at a time, and checks
    /// that its segment directory holds exactly the segments its list names.
    func decrypt(from store: VersionStore, content: FileContent, to sink: ByteSink) throws(ShadowError) -> UInt64 {
        guard case .file(_, let siv, _) = record.kind, let blob = contentObject else {
            throw ShadowError(.malformedObject, "\(record.path) has no content object")
        }
        let object = MemorySource(try store.blob(blob, limit: record.kind.contentLimitBytes))
        let listed = try content.segments(of: object, expectedSIV: siv)
        guard Set(listed.map(\.name)) == Set(segments.keys) else {
            throw ShadowError(.malformedObject, "\(record.path): its segment objects are not exactly the ones its list names (the server added or removed some)")
        }
        let segments = segments
        return try content.decrypt(object, expectedSIV: siv, segment: { (ref) throws(ShadowError) -> ByteSource in
            guard let id = segments[ref.name] else { throw ShadowError(.malformedObject, "segment \(ref.name) is missing") }
            return MemorySource(try store.blob(id, limit: segmentObjectLimitBytes))
        }, to: sink)
    }
}

/// Reads a file's objects from a shadow work tree: the `.c` file, and its segment files by name.
struct ShadowTreeContent {
    let shadow: BytePath
    let content: FileContent

    func decrypt(_ locator: Locator, expectedSIV: [UInt8]?, to sink: ByteSink) throws(ShadowError) -> UInt64 {
        let shadow = shadow
        return try content.decrypt(try FileSource(shadow.appending(locator.contentObjectPath)), expectedSIV: expectedSIV, segment: { (ref) throws(ShadowError) -> ByteSource in
            try FileSource(shadow.appending(locator.segmentObjectPath(ref.name)))
        }, to: sink)
    }
}
