import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
