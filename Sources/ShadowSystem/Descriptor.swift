#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ShadowCore

/// The one owner of an open file descriptor; closes it exactly once (close is never retried: on Linux
/// the descriptor is released even when close reports EINTR).
final class Descriptor {
    let fd: Int32
    private var isOpen = true

    init(fd: Int32) { self.fd = fd }

    static func open(_ path: BytePath, flags: Int32, mode: mode_t = 0) throws(ShadowError) -> Descriptor {
        let fd = try retryingEINTR("cannot open", path) { path.withCString { Glibc.open($0, flags | O_CLOEXEC, mode) } }
        return Descriptor(fd: fd)
    }

    func close() {
        if isOpen { _ = Glibc.close(fd); isOpen = false }
    }

    deinit { close() }

    func stat(_ path: BytePath?) throws(ShadowError) -> Glibc.stat {
        var st = Glibc.stat()
        try retryingEINTR("cannot stat", path) { fstat(fd, &st) }
        return st
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer, _ path: BytePath?) throws(ShadowError) {
        var done = 0
        while done < bytes.count {
            let n = try retryingEINTR("cannot write", path) { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            done += n
        }
    }

    func sync(_ path: BytePath?) throws(ShadowError) {
        try retryingEINTR("cannot fsync", path) { fsync(fd) }
    }
}
