#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// An exclusive flock on a lock file: one ShadowSync process per folder. The kernel drops it when the
/// process dies (kill -9 included), so a stale lock can never block the next run.
public final class FileLock {
    private let descriptor: Descriptor
    public let path: BytePath

    /// Seconds between tries of a waiting lock.
    static let retryInterval = 0.1

    /// Takes the lock or throws `.locked` naming the PID that holds it, after trying for up to
    /// `waitSeconds` (for a one-shot command that will soon be done).
    public init(_ path: BytePath, waitSeconds: Double = 0) throws(ShadowError) {
        self.path = path
        descriptor = try Descriptor.open(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        let deadline = monotonicSeconds() + waitSeconds
        while flock(descriptor.fd, LOCK_EX | LOCK_NB) != 0 {
            if monotonicSeconds() < deadline { pause(seconds: Self.retryInterval); continue }
            // The holder writes its PID just after taking the lock: the file can be empty for a moment.
            let holder = ((try? FileSystem.readFile(path, limit: 64)).map { String(decoding: $0, as: UTF8.self) } ?? "").trimmingNewlines
            throw ShadowError(.locked, "another shadowsync process\(holder.isEmpty ? "" : " (pid \(holder))") is working on this folder",
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
