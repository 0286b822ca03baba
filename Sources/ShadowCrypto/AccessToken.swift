import ShadowCore

/// A bearer token for a local service (the web UI): 32 random bytes as lowercase hex, kept in guarded
/// memory and compared in constant time.
public struct AccessToken: Sendable {
    public static let randomBytes = 32
    private let secret: SecretBytes

    public init() {
        var raw = Sodium.random(Self.randomBytes)
        var hex = Array(hexString(raw).utf8)
        secret = SecretBytes(copying: hex)
        Sodium.wipe(&raw)
        Sodium.wipe(&hex)
    }

    /// The token's text, to print once in the address the user opens.
    public var text: String { secret.withBytes { String(decoding: $0, as: UTF8.self) } }

    /// Whether `presented` is this token, in time independent of where the two first differ.
    public func matches(_ presented: some StringProtocol) -> Bool {
        var bytes = Array(presented.utf8)
        defer { Sodium.wipe(&bytes) }
        return secret.withBytes { own in bytes.withUnsafeBytes { Sodium.equal(own, $0) } }
    }
}
