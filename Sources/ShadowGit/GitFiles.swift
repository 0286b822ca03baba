@preconcurrency import Glibc

/// Reading git's small files (ref files, config, pack indexes) directly. ShadowGit does not depend on
/// ShadowSystem, whose `FileSystem.readFile` does the same for the engine.
enum GitFiles {
    /// A whole file of at most `limit` bytes, as its size was when opened; nil when it cannot be opened
    /// or read, is larger, or shrank while it was read. `noFollow`: a symlink is not read through.
    static func read(_ path: String, limit: Int, noFollow: Bool = false) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }
}
