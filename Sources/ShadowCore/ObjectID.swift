/// A git object id (SHA-1, 40 lowercase hex digits), as the engine sees commits, trees and blobs.
public struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hex: String

    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        self.hex = hex
    }

    /// From the 20 raw bytes of a SHA-1 (git's binary form), which are always valid.
    public init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 20, "a SHA-1 is 20 bytes")
        hex = String(unsafeUninitializedCapacity: 40) { out in
            for (i, b) in raw.enumerated() {
                out[2 * i] = Hex.digits[Int(b >> 4)]
                out[2 * i + 1] = Hex.digits[Int(b & 15)]
            }
            return 40
        }
    }

    public var description: String { hex }
    public var short: String { String(hex.prefix(12)) }
    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }
}
