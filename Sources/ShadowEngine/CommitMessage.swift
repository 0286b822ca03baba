import ShadowCore
import ShadowCrypto

/// The whole message of every ShadowSync commit: one trailer carrying the encrypted metadata
/// (FORMAT.md §6), and on a rewrite commit a second one naming the commit it replaces (FORMAT.md §5.4).
/// Nothing else, so the server learns nothing from messages.
enum CommitMessage {
    static let trailer = "Shdw-Meta: "
    /// The rewrite record: the commit this one replaces, in the clear (the pre-receive hook reads it).
    static let rewriteTrailer = "Shdw-Rewrite: "

    static func make(_ metadata: CommitMetadata, keys: VaultKeys, replacing: ObjectID? = nil) throws(ShadowError) -> String {
        make(sealed: try metadata.seal(keys: keys), replacing: replacing)
    }

    /// A message from metadata sealed before (a rewrite keeps a commit's metadata as it was).
    static func make(sealed hex: String, replacing: ObjectID?) -> String {
        trailer + hex + "\n" + (replacing.map { rewriteTrailer + $0.hex + "\n" } ?? "")
    }

    /// The two lines of a message, strictly: the metadata line, then at most a rewrite line; nil for
    /// anything else.
    static func lines(_ message: String) -> (metadata: String, replaces: ObjectID?)? {
        let bytes = Array(message.utf8)
        guard bytes.last == 10 else { return nil }
        let parts = bytes.dropLast().split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard let first = parts.first, first.hasPrefix(trailer) else { return nil }
        let metadata = String(first.dropFirst(trailer.count))
        switch parts.count {
        case 1: return (metadata, nil)
        case 2:
            let second = parts[1]
            guard second.hasPrefix(rewriteTrailer), second.utf8.count == rewriteTrailer.utf8.count + 40,
                  let id = ObjectID(hex: String(second.dropFirst(rewriteTrailer.count))) else { return nil }
            return (metadata, id)
        default: return nil
        }
    }

    /// The commit a rewrite commit replaces (nil: an ordinary commit, or not a ShadowSync message).
    static func rewriteRecord(_ message: String) -> ObjectID? { lines(message)?.replaces }

    /// The sealed metadata of a message, as it stands (nil: not a ShadowSync message).
    static func sealedMetadata(_ message: String) -> String? { lines(message)?.metadata }

    /// Strict: exactly the metadata line and at most one rewrite line, nothing else.
    static func parse(_ message: String, commit: ObjectID, keys: VaultKeys) throws(ShadowError) -> CommitMetadata {
        guard let (hex, _) = lines(message) else {
            throw ShadowError(.malformedObject, "commit \(commit.short) does not carry ShadowSync metadata: the server altered or injected it")
        }
        do {
            return try CommitMetadata.open(hex, keys: keys)
        } catch {
            throw ShadowError(error.code, "commit \(commit.short): \(error.message)")
        }
    }
}
