/// The one error type every ShadowSync layer throws.
///
/// `code` is what tests and callers branch on; `message` says what happened; `advice` says what to do.
/// Whether retrying can help is a property of the code, so callers never guess from message text.
public struct ShadowError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        // Ciphertext objects (content `.c`, name `.n`, key files, metadata) that fail to decode.
        case malformedObject          // wrong magic, impossible sizes, unknown algorithm
        case nonCanonical             // decodes, but is not the one canonical encoding of its contents
        case authenticationFailed     // an AEAD tag, MAC or SIV did not verify: tampered or wrong key
        case locatorMismatch          // a name record stored under a locator that is not its own
        case contentMismatch          // a content object that is not the one its name record pins
        case signatureInvalid         // an Ed25519 signature did not verify
        case unsupportedVersion       // a format version this build does not know
        // Keys and capabilities.
        case wrongPassphrase
        case corruptKeyFile
        case keyFilePermissions
        case badCapability            // not a capability string, a typo, or truncated
        case insufficientCapability   // e.g. a verify-only key asked to decrypt
        // Plaintext side.
        case invalidPath
        case sourceChanged            // a file changed while it was being read: retry later
        // Repository and remote.
        case nonFastForward           // the remote moved on: fetch, merge, push again
        case remoteUnavailable        // cannot reach or open the remote: retry later
        case repositoryFailure        // the local or remote repository refused an operation
        case hostKeyUnknown           // an SSH server whose key is not in known_hosts: trust it explicitly
        case hostKeyChanged           // an SSH server whose key differs from the one trusted before
        case authRefused              // the SSH server refused every key offered
        case historyRewritten         // the server's history no longer contains what was verified before
        case replayedCommit           // a device's sequence number did not increase: an old commit replayed
        // System.
        case notFound
        case alreadyExists
        case permissionDenied
        case diskFull
        case ioFailure
        case invalidArgument
        // Needs a person to decide.
        case guardTripped             // a safety guard stopped the sync (e.g. most files vanished at once)
        case foreignLocalCommit       // the shadow repository holds a commit ShadowSync did not make: never pushed
        case locked                   // another ShadowSync process holds this folder
    }

    public let code: Code
    public let message: String
    public let advice: String

    public init(_ code: Code, _ message: String, advice: String = "") {
        self.code = code
        self.message = message
        self.advice = advice
    }

    /// True when the same operation may succeed later without anyone changing anything.
    public var isRetryable: Bool {
        switch code {
        case .sourceChanged, .diskFull, .ioFailure, .remoteUnavailable, .nonFastForward: return true
        default: return false
        }
    }

    public var description: String {
        advice.isEmpty ? message : "\(message)\n  what to do: \(advice)"
    }
}
