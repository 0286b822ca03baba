#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CShims

/// Whole-file copies (a git pack into another repository).
public enum FileCopy {
    /// Bytes asked of one copy call: large enough that a large file takes a few calls, and the read
    /// fallback's buffer, small enough to stay out of the way in memory.
    public static let chunkBytes = 8 << 20

    /// Copies a file through a temporary beside the destination, renamed into place when complete (a
    /// crash leaves only a temporary, never a torn pack under a pack's name). Durability is the
    /// caller's flush. False, with nothing left behind, on any failure.
    public static func copyFile(_ from: String, to destination: String) -> Bool {
        let source = open(from, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { return false }
        defer { close(source) }
        let temporary = destination + ".tmp-shadowsync"
        let target = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o444)
        guard target >= 0 else { return false }
        var ok = true
        while true {
            let n = shadow_shim_copy_file_range(source, target, UInt(chunkBytes))
            if n > 0 { continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            ok = errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ? copyByReading(source, target) : false
            break
        }
        ok = close(target) == 0 && ok
        if ok && rename(temporary, destination) == 0 { return true }
        unlink(temporary)
        return false
    }

    /// The copy for file systems where copy_file_range cannot go (between some file systems, old kernels).
    private static func copyByReading(_ source: Int32, _ target: Int32) -> Bool {
        guard lseek(source, 0, SEEK_SET) == 0, ftruncate(target, 0) == 0, lseek(target, 0, SEEK_SET) == 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n == 0 { return true }
            if n < 0 { if errno == EINTR { continue }; return false }
            var done = 0
            while done < n {
                let w = buffer.withUnsafeBytes { write(target, $0.baseAddress! + done, n - done) }
                if w < 0 { if errno == EINTR { continue }; return false }
                done += w
            }
        }
    }
}
