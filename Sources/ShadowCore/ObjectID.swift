/// A git object id (SHA-1, 40 lowercase hex digits), as the engine sees commits, trees and blobs.
public struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hex: String

    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        self.hex = hex
    }

    public var description: String { hex }
    public var short: String { String(hex.prefix(12)) }
    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }
}
