import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read back, released. For
/// servers that cannot report the port they bound themselves (prosody, and sshd in the stress suite;
/// Tests/ssh-server.sh does the same for port 0): the window between the release here and their bind
/// is a few milliseconds, and their start scripts fail (and are retried) if another process took the
/// port in it.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestProcessError(description: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestProcessError(description: "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// rename(2) variants for tests that must know exactly what a save replaced.
public enum AtomicRename {
    static let noReplace: UInt32 = 1  // RENAME_NOREPLACE
    static let exchange: UInt32 = 2  // RENAME_EXCHANGE

    /// Swaps the two entries atomically; 0, or the errno.
    public static func exchange(_ a: String, _ b: String) -> Int32 { call(a, b, exchange) }
    /// Renames `a` to `b` unless `b` exists (EEXIST); 0, or the errno.
    public static func noReplace(_ a: String, _ b: String) -> Int32 { call(a, b, noReplace) }

    private static func call(_ a: String, _ b: String, _ flags: UInt32) -> Int32 {
        GNU.renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) == 0 ? 0 : errno
    }
}
