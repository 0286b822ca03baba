#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// An exclusive flock on a lock file: one ShadowSync process per folder. The kernel drops it when the
/// process dies (kill -9 included), so a stale lock can never block the next run.
public final class FileLock {
    private let descriptor: Descriptor
    public let path: BytePath

    /// Takes the lock or throws `.locked` naming the PID that holds it.
    public init(_ path: BytePath) throws(ShadowError) {
        self.path = path
        descriptor = try Descriptor.open(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        if flock(descriptor.fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? FileSystem.readFile(path, limit: 64)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            throw ShadowError(.locked, "another shadowsync process (pid \(holder.trimmingNewlines)) is working on this folder",
                              advice: "wait for it to finish, or stop it ('shadowsync run' holds the folder while it runs)")
        }
        // Record our PID for the message above; the lock, not this content, is what counts.
        _ = ftruncate(descriptor.fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        try? pid.withBytes { (b) throws(ShadowError) in _ = pwrite(descriptor.fd, b.baseAddress!, b.count, 0) }
    }

    deinit {
        _ = flock(descriptor.fd, LOCK_UN)
    }
}

extension String {
    var trimmingNewlines: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
