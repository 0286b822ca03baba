/// Linux file names are bytes. These types never assume UTF-8.

/// Longest path the kernel accepts (PATH_MAX in <linux/limits.h>, including the NUL).
public let maxPathBytes = 4096
/// Longest single name component (NAME_MAX in <linux/limits.h>).
public let maxNameBytes = 255

private let slash = UInt8(ascii: "/")
private let dot = UInt8(ascii: ".")

/// A path relative to the synced folder's root: '/'-separated components, each non-empty, not "." or "..",
/// no NUL, at most NAME_MAX bytes each. This is the form stored inside encrypted name records.
public struct PlainPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(ShadowError) {
        guard !bytes.isEmpty else { throw ShadowError(.invalidPath, "empty path") }
        guard bytes.count < maxPathBytes else {
            throw ShadowError(.invalidPath, "path of \(bytes.count) bytes exceeds PATH_MAX")
        }
        for component in bytes.split(separator: slash, omittingEmptySubsequences: false) {
            if component.isEmpty {
                throw ShadowError(.invalidPath, "path \(PlainPath.render(bytes)) has an empty component")
            }
            if component.count > maxNameBytes {
                throw ShadowError(.invalidPath, "a component of \(PlainPath.render(bytes)) exceeds NAME_MAX (255 bytes)")
            }
            if component.elementsEqual([dot]) || component.elementsEqual([dot, dot]) {
                throw ShadowError(.invalidPath, "path \(PlainPath.render(bytes)) has a '.' or '..' component")
            }
            if component.contains(0) {
                throw ShadowError(.invalidPath, "path contains a NUL byte")
            }
        }
        self.bytes = bytes
    }

    public init(_ string: String) throws(ShadowError) {
        try self.init(bytes: Array(string.utf8))
    }

    public var components: [[UInt8]] {
        bytes.split(separator: slash).map(Array.init)
    }

    public var lastComponent: [UInt8] { components.last ?? [] }

    /// The parent directory, or nil at the top level.
    public var parent: PlainPath? {
        guard let cut = bytes.lastIndex(of: slash) else { return nil }
        return try? PlainPath(bytes: Array(bytes[..<cut]))
    }

    public func appending(_ component: [UInt8]) throws(ShadowError) -> PlainPath {
        try PlainPath(bytes: bytes + [slash] + component)
    }

    public static func < (a: PlainPath, b: PlainPath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Printable form: valid UTF-8 as is, any other byte as \xNN, so logs never carry raw invalid bytes.
    public var description: String { PlainPath.render(bytes) }

    public static func render(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self), !s.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return s
        }
        var out = ""
        for b in bytes {
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + String(b, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return out
    }
}

/// A file-system path on this machine (absolute or relative to the working directory), as bytes.
public struct BytePath: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    public func appending(_ relative: PlainPath) -> BytePath { appending(bytes: relative.bytes) }
    public func appending(_ component: String) -> BytePath { appending(bytes: Array(component.utf8)) }

    public func appending(bytes tail: [UInt8]) -> BytePath {
        if bytes.last == slash { return BytePath(bytes: bytes + tail) }
        return BytePath(bytes: bytes + [slash] + tail)
    }

    /// Directory part ("." for a bare name).
    public var directory: BytePath {
        guard let cut = bytes.lastIndex(of: slash) else { return BytePath(".") }
        return cut == 0 ? BytePath("/") : BytePath(bytes: Array(bytes[..<cut]))
    }

    public var lastComponent: [UInt8] {
        guard let cut = bytes.lastIndex(of: slash) else { return bytes }
        return Array(bytes[(cut + 1)...])
    }

    /// Calls `body` with a NUL-terminated copy, for system calls.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try (bytes + [0]).withUnsafeBufferPointer { buf in
            try buf.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    public var description: String { PlainPath.render(bytes) }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
