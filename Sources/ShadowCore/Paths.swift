#if canImport(Glibc)
import Glibc
#endif

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
        try PlainPath.checkComponents(bytes, from: 0)
        self.bytes = bytes
    }

    private init(trusted bytes: [UInt8]) { self.bytes = bytes }

    /// Checks every component from byte `start` on in one pass, without allocating: this runs for every
    /// path of every scan and every index load.
    private static func checkComponents(_ bytes: [UInt8], from start: Int) throws(ShadowError) {
        var result: Result<Void, ShadowError> = .success(())
        bytes.withUnsafeBufferPointer { b in result = Result { () throws(ShadowError) in try checkComponents(b, from: start) } }
        try result.get()
    }

    /// Checks `bytes` as `init(bytes:)` does, without making a path: for a reader that only compares
    /// (the stat index's fast load). PATH_MAX included.
    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(ShadowError) {
        guard !bytes.isEmpty else { throw ShadowError(.invalidPath, "empty path") }
        guard bytes.count < maxPathBytes else {
            throw ShadowError(.invalidPath, "path of \(bytes.count) bytes exceeds PATH_MAX")
        }
        try checkComponents(bytes, from: 0)
    }

    private static func checkComponents(_ b: UnsafeBufferPointer<UInt8>, from start: Int) throws(ShadowError) {
        // memchr for NULs and slashes instead of a byte loop: every path of a loaded index passes here.
        guard let base = b.baseAddress else { throw ShadowError(.invalidPath, "empty path") }
        if start < b.count, memchr(base + start, 0, b.count - start) != nil {
            throw ShadowError(.invalidPath, "path contains a NUL byte")
        }
        var begin = start
        while true {
            let end = begin < b.count ? memchr(base + begin, Int32(slash), b.count - begin).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? b.count : b.count
            let length = end - begin
            if length == 0 {
                throw ShadowError(.invalidPath, "path \(PlainPath.render(Array(b))) has an empty component")
            } else if length > maxNameBytes {
                throw ShadowError(.invalidPath, "a component of \(PlainPath.render(Array(b))) exceeds NAME_MAX (255 bytes)")
            } else if base[begin] == dot && (length == 1 || (length == 2 && base[begin + 1] == dot)) {
                throw ShadowError(.invalidPath, "path \(PlainPath.render(Array(b))) has a '.' or '..' component")
            }
            if end == b.count { return }
            begin = end + 1
        }
    }

    public static func == (a: PlainPath, b: PlainPath) -> Bool {
        a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    /// One call per path instead of Array's one per byte: paths key the index and every scan.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public init(_ string: String) throws(ShadowError) {
        try self.init(bytes: Array(string.utf8))
    }

    public var components: [[UInt8]] {
        bytes.split(separator: slash).map(Array.init)
    }

    public var lastComponent: [UInt8] {
        // Without splitting the whole path: conflict-copy checks run this over every index entry.
        guard let cut = bytes.lastIndex(of: slash) else { return bytes }
        return Array(bytes[(cut + 1)...])
    }

    /// The parent directory, or nil at the top level.
    public var parent: PlainPath? {
        guard let cut = bytes.lastIndex(of: slash) else { return nil }
        return try? PlainPath(bytes: Array(bytes[..<cut]))
    }

    public func appending(_ component: [UInt8]) throws(ShadowError) -> PlainPath { try joining(component) }

    /// The scan's form: a name straight from a dirent, not copied into an array first.
    public func appending(_ component: UnsafeRawBufferPointer) throws(ShadowError) -> PlainPath { try joining(component) }

    private func joining(_ component: some Collection<UInt8>) throws(ShadowError) -> PlainPath {
        var joined = [UInt8]()
        joined.reserveCapacity(bytes.count + 1 + component.count)
        joined += bytes; joined.append(slash); joined += component
        guard joined.count < maxPathBytes else {
            throw ShadowError(.invalidPath, "path of \(joined.count) bytes exceeds PATH_MAX")
        }
        // This path is already valid: only the new component needs checking.
        try PlainPath.checkComponents(joined, from: bytes.count + 1)
        return PlainPath(trusted: joined)
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

extension StringProtocol {
    /// Without leading and trailing whitespace and newlines (capability strings, config values, SSH
    /// messages, a typed "yes"). Foundation's trimmingCharacters is not in FoundationEssentials.
    public var trimmedWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
