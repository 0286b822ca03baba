#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// How a write may land at its path.
public enum Placement: Sendable {
    /// Only if nothing exists there (linkat: atomic, never replaces what a user just created).
    case create
    /// Only if the path still holds exactly what `expected` describes (a compare-and-swap on the stat).
    case replace(expected: StatKey)
}

/// Writes into the plaintext folder without ever following a symlink: every directory on the way is
/// opened with openat(O_NOFOLLOW | O_DIRECTORY) from the root, so a symlink planted in place of a
/// directory makes the write fail instead of landing outside the folder.
public struct PlainFolder: Sendable {
    public let root: BytePath
    /// Directories the agent creates; files get their own mode from the record.
    public static let directoryMode: UInt32 = 0o755

    public init(root: BytePath) { self.root = root }

    /// The directory holding `path`, opened component by component; missing ones are created if asked.
    func openParent(of path: PlainPath, create: Bool) throws(ShadowError) -> Descriptor {
        var dir = try Descriptor.open(root, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        for component in path.components.dropLast() {
            var fd = component.withCString { openat(dir.fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if fd < 0 && errno == ENOENT && create {
                let rc = component.withCString { mkdirat(dir.fd, $0, mode_t(PlainFolder.directoryMode)) }
                if rc != 0 && errno != EEXIST { throw systemError("cannot create directory for", root.appending(path)) }
                fd = component.withCString { openat(dir.fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            }
            if fd < 0 {
                if errno == ELOOP || errno == ENOTDIR {
                    throw ShadowError(.alreadyExists, "a parent of \(path) is not a directory (a file or symlink is in the way)")
                }
                throw systemError("cannot open the directory of", root.appending(path))
            }
            dir = Descriptor(fd: fd)
        }
        return dir
    }

    /// What is at `path` now (lstat), or nil.
    public func entry(_ path: PlainPath) throws(ShadowError) -> ScannedEntry? {
        let dir: Descriptor
        do { dir = try openParent(of: path, create: false) } catch {
            return nil  // a missing or non-directory parent: nothing is at this path
        }
        var st = Glibc.stat()
        let rc = path.lastComponent.withCString { fstatat(dir.fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
        if rc != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw systemError("cannot stat", root.appending(path))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return ScannedEntry(path: path, kind: .file(executable: st.st_mode & 0o100 != 0), st)
        case S_IFDIR: return ScannedEntry(path: path, kind: .directory, st)
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: maxPathBytes)
            let n = path.lastComponent.withCString { readlinkat(dir.fd, $0, &buffer, buffer.count) }
            guard n > 0, n < buffer.count else { throw systemError("cannot read symlink", root.appending(path)) }
            return ScannedEntry(path: path, kind: .symlink(target: buffer[0..<n].map { UInt8(bitPattern: $0) }), st)
        default:
            return ScannedEntry(path: path, kind: .special, st)
        }
    }

    /// Writes a regular file produced by `produce` (temp + fsync + place + fsync dir) and returns the stat
    /// of the placed file. `produce` failing leaves nothing behind. The temporary file has exactly
    /// `mode` (at most 0o777) from its creation on (the umask can only narrow it before the fchmod), so
    /// a private file is never readable by others, not even half-written; `modified`, if given, is set
    /// before the file appears under its name.
    @discardableResult
    public func writeFile<R>(_ path: PlainPath, mode: UInt32, modified: FileTime? = nil, placement: Placement,
                             produce: (ByteSink) throws(ShadowError) -> R) throws(ShadowError) -> (StatKey, R) {
        try PlainFolder.checkPermissions(mode, path)
        let dir = try openParent(of: path, create: true)
        let temp = PlainFolder.temporaryName()
        let fd = temp.withCString { openat(dir.fd, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode)) }
        guard fd >= 0 else { throw systemError("cannot create a temporary file for", root.appending(path)) }
        let file = Descriptor(fd: fd)
        var placed = false
        defer { if !placed { _ = temp.withCString { unlinkat(dir.fd, $0, 0) } } }
        try retryingEINTR("cannot chmod", root.appending(path)) { fchmod(fd, mode_t(mode)) }
        let result = try produce(DescriptorSink(file, root.appending(path)))
        if let modified {
            // After the last write, which would move the time again; placing the file does not.
            let times = [PlainFolder.leaveAccessTime, modified.timespec]
            try retryingEINTR("cannot set the modification time of", root.appending(path)) { futimens(fd, times) }
        }
        try file.sync(root.appending(path))
        file.close()
        try place(temp, at: path, in: dir, placement: placement)
        placed = true
        try dir.sync(root.appending(path))
        guard let now = try entry(path) else { throw ShadowError(.sourceChanged, "\(path) vanished right after it was written") }
        return (now.stat, result)
    }

    /// Creates (or replaces, under the same compare-and-swap) a symlink; its target is stored, never
    /// followed. `modified` is the link's own time, set before it appears under its name.
    @discardableResult
    public func writeSymlink(_ path: PlainPath, target: [UInt8], modified: FileTime? = nil, placement: Placement) throws(ShadowError) -> StatKey {
        let dir = try openParent(of: path, create: true)
        let temp = PlainFolder.temporaryName()
        let rc = BytePath(bytes: target).withCString { t in temp.withCString { symlinkat(t, dir.fd, $0) } }
        guard rc == 0 else { throw systemError("cannot create symlink", root.appending(path)) }
        var placed = false
        defer { if !placed { _ = temp.withCString { unlinkat(dir.fd, $0, 0) } } }
        if let modified { try setTime(modified, of: temp, in: dir, path) }
        try place(temp, at: path, in: dir, placement: placement)
        placed = true
        try dir.sync(root.appending(path))
        guard let now = try entry(path) else { throw ShadowError(.sourceChanged, "\(path) vanished right after it was written") }
        return now.stat
    }

    /// Creates a directory (and its parents, with `directoryMode` less the umask); an existing directory
    /// is fine and left as it is (`setAttributes` changes one). A directory this call creates gets
    /// exactly `permissions` (at most 0o777: created no wider, then set past the umask) and, if given,
    /// `modified`, which its next new entry will move again: set a directory's time after its contents.
    @discardableResult
    public func createDirectory(_ path: PlainPath, permissions: UInt32 = PlainFolder.directoryMode,
                                modified: FileTime? = nil) throws(ShadowError) -> StatKey {
        try PlainFolder.checkPermissions(permissions, path)
        let dir = try openParent(of: path, create: true)
        let rc = path.lastComponent.withCString { mkdirat(dir.fd, $0, mode_t(permissions)) }
        if rc != 0 && errno != EEXIST { throw systemError("cannot create directory", root.appending(path)) }
        if rc == 0 {
            try setPermissions(permissions, of: path.lastComponent, in: dir, path)
            if let modified { try setTime(modified, of: path.lastComponent, in: dir, path) }
        }
        guard let now = try entry(path), now.kind == .directory else {
            throw ShadowError(.alreadyExists, "\(path) exists and is not a directory")
        }
        return now.stat
    }

    /// Changes the permission bits and/or the modification time of what is at `path`, never following
    /// a symlink: a symlink's own time is set, and its permissions are left alone (Linux keeps none).
    /// With `expected`, only if the entry is still exactly that (the compare-and-swap of `remove`).
    /// Returns the entry's stat afterwards (its ctime has moved).
    @discardableResult
    public func setAttributes(_ path: PlainPath, permissions: UInt32? = nil, modified: FileTime? = nil,
                              expected: StatKey? = nil) throws(ShadowError) -> StatKey {
        if let permissions { try PlainFolder.checkPermissions(permissions, path) }
        let dir = try openParent(of: path, create: false)
        guard let before = try entry(path) else { throw ShadowError(.notFound, "\(path) vanished before its attributes were set") }
        if let expected, before.stat != expected {
            throw ShadowError(.sourceChanged, "\(path) changed since it was last synced; it is kept")
        }
        let name = path.lastComponent
        if let permissions, before.permissions != permissions {
            if case .symlink = before.kind {} else { try setPermissions(permissions, of: name, in: dir, path) }
        }
        if let modified, before.modified != modified { try setTime(modified, of: name, in: dir, path) }
        guard let now = try entry(path) else { throw ShadowError(.sourceChanged, "\(path) vanished while its attributes were set") }
        return now.stat
    }

    /// `UTIME_OMIT` of <sys/stat.h>, ((1l << 30) - 2l), which Swift does not import: the nanoseconds
    /// value that tells utimensat/futimens to leave that time as it is.
    private static let utimeOmit = (1 << 30) - 2
    /// The access time is left as it is: only the modification time is synced.
    private static let leaveAccessTime = Glibc.timespec(tv_sec: 0, tv_nsec: utimeOmit)

    static func checkPermissions(_ mode: UInt32, _ path: PlainPath) throws(ShadowError) {
        guard mode & ~FilePermissions.mask == 0 else {
            throw ShadowError(.invalidArgument, "mode \(String(mode, radix: 8)) for \(path) goes beyond 0777: setuid, setgid and sticky bits are never set")
        }
    }

    /// fchmodat with AT_SYMLINK_NOFOLLOW: refuses (EOPNOTSUPP) rather than follow a symlink that took
    /// the entry's place.
    private func setPermissions(_ mode: UInt32, of name: [UInt8], in dir: Descriptor, _ path: PlainPath) throws(ShadowError) {
        let rc = name.withCString { fchmodat(dir.fd, $0, mode_t(mode), AT_SYMLINK_NOFOLLOW) }
        if rc != 0 {
            if errno == EOPNOTSUPP { throw ShadowError(.sourceChanged, "\(path) became a symlink while its permissions were set; it is kept") }
            throw systemError("cannot change the permissions of", root.appending(path))
        }
    }

    /// utimensat with AT_SYMLINK_NOFOLLOW: a symlink's own time, never its target's.
    private func setTime(_ time: FileTime, of name: [UInt8], in dir: Descriptor, _ path: PlainPath) throws(ShadowError) {
        let times = [PlainFolder.leaveAccessTime, time.timespec]
        let rc = name.withCString { utimensat(dir.fd, $0, times, AT_SYMLINK_NOFOLLOW) }
        if rc != 0 { throw systemError("cannot set the modification time of", root.appending(path)) }
    }

    /// Removes a file or symlink only if it is still exactly what `expected` describes.
    public func remove(_ path: PlainPath, expected: StatKey) throws(ShadowError) {
        let dir = try openParent(of: path, create: false)
        guard let now = try entry(path) else { return }
        guard now.stat == expected else {
            throw ShadowError(.sourceChanged, "\(path) changed since it was last synced; it is kept")
        }
        let rc = path.lastComponent.withCString { unlinkat(dir.fd, $0, 0) }
        if rc != 0 && errno != ENOENT { throw systemError("cannot remove", root.appending(path)) }
    }

    /// Moves the file or symlink at `source` to `destination` within the folder, only if `source` is
    /// still exactly what `expected` describes; `placement` guards the destination as for a write
    /// (`.create`: linkat then unlink, never replacing; `.replace`: renameat after the compare).
    public func move(_ source: PlainPath, expected: StatKey, to destination: PlainPath, placement: Placement) throws(ShadowError) {
        let from = try openParent(of: source, create: false)
        let to = try openParent(of: destination, create: true)
        guard let now = try entry(source), now.stat == expected else {
            throw ShadowError(.sourceChanged, "\(source) changed since it was shown; nothing was moved", advice: "look at it again and choose once more")
        }
        let (s, d) = (source.lastComponent, destination.lastComponent)
        switch placement {
        case .create:
            let rc = s.withCString { sc in d.withCString { linkat(from.fd, sc, to.fd, $0, 0) } }
            if rc != 0 {
                if errno == EEXIST { throw ShadowError(.alreadyExists, "\(destination) already exists; nothing was moved", advice: "choose another name") }
                throw systemError("cannot create", root.appending(destination))
            }
            try to.sync(root.appending(destination))
            let removed = s.withCString { unlinkat(from.fd, $0, 0) }
            if removed != 0 && errno != ENOENT { throw systemError("cannot remove", root.appending(source)) }
        case .replace(let expectedDestination):
            guard let there = try entry(destination), there.stat == expectedDestination else {
                throw ShadowError(.sourceChanged, "\(destination) changed since it was shown; nothing was moved", advice: "look at it again and choose once more")
            }
            let rc = s.withCString { sc in d.withCString { renameat(from.fd, sc, to.fd, $0) } }
            if rc != 0 { throw systemError("cannot move over", root.appending(destination)) }
        }
        try from.sync(root.appending(source))
        try to.sync(root.appending(destination))
    }

    /// Removes a directory if it is empty; returns false when something is still inside (it stays).
    @discardableResult
    public func removeDirectoryIfEmpty(_ path: PlainPath) throws(ShadowError) -> Bool {
        let dir: Descriptor
        do { dir = try openParent(of: path, create: false) } catch { return true }
        let rc = path.lastComponent.withCString { unlinkat(dir.fd, $0, AT_REMOVEDIR) }
        if rc == 0 || errno == ENOENT { return true }
        if errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR { return false }
        throw systemError("cannot remove directory", root.appending(path))
    }

    /// Moves the temp into place under `placement`. `.create` uses linkat, which fails rather than replace.
    private func place(_ temp: [UInt8], at path: PlainPath, in dir: Descriptor, placement: Placement) throws(ShadowError) {
        let name = path.lastComponent
        CrashPoint.reached("plain-written")
        defer { CrashPoint.reached("plain-placed") }
        switch placement {
        case .create:
            let rc = temp.withCString { t in name.withCString { linkat(dir.fd, t, dir.fd, $0, 0) } }
            if rc != 0 {
                if errno == EEXIST { throw ShadowError(.alreadyExists, "\(path) appeared while it was being written; it is kept") }
                throw systemError("cannot create", root.appending(path))
            }
            _ = temp.withCString { unlinkat(dir.fd, $0, 0) }
        case .replace(let expected):
            // The window between this check and the rename is a few system calls long.
            guard let now = try entry(path), now.stat == expected else {
                throw ShadowError(.sourceChanged, "\(path) changed since it was last synced; it is kept")
            }
            let rc = temp.withCString { t in name.withCString { renameat(dir.fd, t, dir.fd, $0) } }
            if rc != 0 { throw systemError("cannot replace", root.appending(path)) }
        }
    }

    static func temporaryName() -> [UInt8] { AtomicFileWriter.temporaryName() }
}

/// A sink writing to an open descriptor (the temp file of a `PlainFolder` write).
final class DescriptorSink: ByteSink {
    let descriptor: Descriptor
    let path: BytePath

    init(_ descriptor: Descriptor, _ path: BytePath) {
        self.descriptor = descriptor
        self.path = path
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        try descriptor.writeAll(bytes, path)
    }
}

extension Array where Element == UInt8 {
    func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try BytePath(bytes: self).withCString(body)
    }
}

extension PlainFolder {
    /// Removes temp files a killed run left behind (only regular files with the agent's temp prefix;
    /// symlinked directories are not entered). Returns how many were removed.
    @discardableResult
    public func removeLeftoverTemporaries() -> Int {
        var removed = 0
        func walk(_ dir: BytePath) {
            guard let names = try? FileSystem.list(dir) else { return }
            for name in names {
                let full = dir.appending(bytes: name)
                var st = Glibc.stat()
                guard full.withCString({ lstat($0, &st) }) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    walk(full)
                } else if name.starts(with: Array(AtomicFileWriter.temporaryPrefix.utf8)) && (st.st_mode & S_IFMT) != S_IFDIR {
                    if full.withCString({ unlink($0) }) == 0 { removed += 1 }
                }
            }
        }
        walk(root)
        return removed
    }
}
