import ShadowCore
import ShadowCrypto

/// The whole message of every ShadowSync commit: one trailer carrying the encrypted metadata
/// (FORMAT.md §6). Nothing else, so the server learns nothing from messages.
enum CommitMessage {
    static let trailer = "Shdw-Meta: "

    static func make(_ metadata: CommitMetadata, keys: VaultKeys) throws(ShadowError) -> String {
        trailer + (try metadata.seal(keys: keys)) + "\n"
    }

    /// Strict: exactly one trailer line and nothing else.
    static func parse(_ message: String, commit: ObjectID, keys: VaultKeys) throws(ShadowError) -> CommitMetadata {
        guard message.hasPrefix(trailer), message.hasSuffix("\n"),
              message.utf8.filter({ $0 == 10 }).count == 1 else {
            throw ShadowError(.malformedObject, "commit \(commit.short) does not carry ShadowSync metadata: the server altered or injected it")
        }
        let hex = String(message.dropFirst(trailer.count).dropLast())
        do {
            return try CommitMetadata.open(hex, keys: keys)
        } catch {
            throw ShadowError(error.code, "commit \(commit.short): \(error.message)")
        }
    }
}
