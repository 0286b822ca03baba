public import ShadowCore
import FoundationEssentials
@preconcurrency import Glibc

/// What a doorbell says (Docs/FORMAT.md, "Doorbell").
public enum DoorbellKind: UInt8, Sendable, CustomStringConvertible {
    /// "I pushed this head": sent after a successful push only.
    case pushed = 1
    /// "I just came online: tell me your heads"; carries the newest head the sender saw on the server, if any.
    case hello = 2
    /// The answer to a hello: the sender's current head.
    case head = 3

    public var description: String {
        switch self {
        case .pushed: return "pushed"
        case .hello: return "hello"
        case .head: return "head"
        }
    }
}

/// One doorbell, as sealed inside the XMPP message. Nothing here is visible to the XMPP server.
public struct DoorbellMessage: Sendable, Equatable {
    public var kind: DoorbellKind
    /// The sending agent's device id (the one in its commit metadata).
    public var device: [UInt8]
    /// Per-device, strictly increasing: receivers drop anything not above the last one they accepted.
    public var sequence: UInt64
    /// Unix seconds at sending: receivers drop doorbells older than their staleness window.
    public var sentAt: UInt64
    /// A commit id: the head pushed (`pushed`), the newest head the sender verified on the server or
    /// pushed (`head`, and `hello` when it has one); empty for a `hello` of a sender that has none.
    public var head: [UInt8]

    public init(kind: DoorbellKind, device: [UInt8], sequence: UInt64, sentAt: UInt64, head: [UInt8]) {
        self.kind = kind
        self.device = device
        self.sequence = sequence
        self.sentAt = sentAt
        self.head = head
    }
}

/// Seals and opens doorbell payloads with K_bell (XChaCha20-Poly1305, random nonce) and names the vault
/// with T_bell, both derived from the read secret: only key holders can ring or read a doorbell.
public struct DoorbellSeal: Sendable {
    /// Format version inside the sealed record.
    static let version: UInt8 = 1
    /// Fixed record size, so `pushed`, `hello` and `head` look alike: 1 version + 1 kind + 16 device +
    /// 8 sequence + 8 time + 1 head length + up to 32 head bytes (SHA-256 ids), zero-padded.
    static let recordBytes = 67
    static let maxHeadBytes = 32
    /// Associated data: a label and the folder tag, so a payload cannot be moved to another vault's tag.
    static let label = Array("shdwbell1".utf8)

    private let key: SecretBytes
    private let tagBytes: [UInt8]
    /// The opaque folder tag in clear on the wire (hex of T_bell): stable, says nothing about the folder.
    public let folderTag: String

    public init(keys: ReadKeys) {
        key = keys.doorbell
        tagBytes = keys.doorbellTag.exposedCopy()
        folderTag = hexString(tagBytes)
    }

    /// Base64 of nonce ‖ sealed record (24 + 67 + 16 = 107 bytes): 144 characters for every doorbell.
    public func seal(_ message: DoorbellMessage) -> String {
        seal(message, nonce: Sodium.random(XChaCha20Poly1305.nonceBytes))
    }

    /// With a given nonce: only for the test vector in Docs/FORMAT.md (a reused nonce would leak).
    func seal(_ message: DoorbellMessage, nonce: [UInt8]) -> String {
        precondition(message.device.count == KeySizes.deviceID && message.head.count <= Self.maxHeadBytes)
        var record = [Self.version, message.kind.rawValue] + message.device + LittleEndian.bytes(message.sequence) + LittleEndian.bytes(message.sentAt)
        record.append(UInt8(message.head.count))
        record += message.head
        record += [UInt8](repeating: 0, count: Self.recordBytes - record.count)
        let sealed = XChaCha20Poly1305.seal(key: key, nonce: nonce, ad: Self.label + tagBytes, plaintext: record)
        return Data(nonce + sealed).base64EncodedString()
    }

    /// Opens a doorbell addressed to `folderTag`. Throws `.notFound` for another vault's tag,
    /// `.malformedObject` for anything that is not a sealed record, `.authenticationFailed` for a forgery.
    public func open(folderTag tag: String, payload: String) throws(ShadowError) -> DoorbellMessage {
        guard tag.lowercased() == folderTag else {
            throw ShadowError(.notFound, "a doorbell for a folder this agent does not hold")
        }
        let sealedBytes = XChaCha20Poly1305.nonceBytes + Self.recordBytes + XChaCha20Poly1305.tagBytes
        // Canonical base64 only: unused low bits in the last character would give one doorbell many spellings.
        guard payload.utf8.count == (sealedBytes + 2) / 3 * 4, let data = Data(base64Encoded: payload), data.count == sealedBytes,
              data.base64EncodedString() == payload else {
            throw ShadowError(.malformedObject, "a doorbell payload that is not \(sealedBytes) bytes of base64")
        }
        let bytes = [UInt8](data)
        let nonce = Array(bytes[..<XChaCha20Poly1305.nonceBytes])
        guard var record = XChaCha20Poly1305.open(key: key, nonce: nonce, ad: Self.label + tagBytes,
                                                  ciphertext: Array(bytes[XChaCha20Poly1305.nonceBytes...])) else {
            throw ShadowError(.authenticationFailed, "a doorbell that does not authenticate: forged, or sealed with another key")
        }
        defer { Sodium.wipe(&record) }
        guard record[0] == Self.version else {
            throw ShadowError(.unsupportedVersion, "a doorbell of format version \(record[0]); this build knows \(Self.version)")
        }
        guard let kind = DoorbellKind(rawValue: record[1]) else {
            throw ShadowError(.malformedObject, "a doorbell of unknown kind \(record[1])")
        }
        let headLength = Int(record[34])
        guard headLength <= Self.maxHeadBytes, record[(35 + headLength)...].allSatisfy({ $0 == 0 }),
              kind == .hello || headLength > 0 else {
            throw ShadowError(.malformedObject, "a doorbell whose head field is malformed")
        }
        return DoorbellMessage(kind: kind, device: Array(record[2..<18]), sequence: LittleEndian.read(UInt64.self, record, at: 18),
                               sentAt: LittleEndian.read(UInt64.self, record, at: 26), head: Array(record[35..<(35 + headLength)]))
    }
}
