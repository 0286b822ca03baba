#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// What a stat says about a file, enough to tell "unchanged since last time" without reading it
/// (git's index idea): size, mtime and ctime in nanoseconds, inode and device.
public struct StatKey: Equatable, Hashable, Sendable, Codable {
    public let size: UInt64
    public let mtimeNs: Int64
    public let ctimeNs: Int64
    public let inode: UInt64
    public let device: UInt64

    public init(size: UInt64, mtimeNs: Int64, ctimeNs: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.mtimeNs = mtimeNs
        self.ctimeNs = ctimeNs
        self.inode = inode
        self.device = device
    }

    init(_ st: Glibc.stat) {
        size = UInt64(st.st_size)
        mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNs = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
    }

    /// Racily clean (git's term): modified so close to when the cache entry was recorded that a later
    /// write within the same timestamp tick would leave the stat unchanged. Such a file must be re-read.
    /// `slackNs` covers file systems with coarse timestamps (1 s on some, 2 s on FAT).
    public func isRacy(recordedAtNs: Int64, slackNs: Int64 = 2_000_000_000) -> Bool {
        mtimeNs >= recordedAtNs - slackNs || ctimeNs >= recordedAtNs - slackNs
    }
}

public enum ScannedKind: Equatable, Sendable {
    case file(executable: Bool)
    case directory
    case symlink(target: [UInt8])
    /// A fifo, socket or device: never synced.
    case special
}

public struct ScannedEntry: Equatable, Sendable {
    public let path: PlainPath
    public let kind: ScannedKind
    public let stat: StatKey
}

/// The result of walking the plaintext folder.
public struct ScanReport: Sendable {
    public var entries: [PlainPath: ScannedEntry] = [:]
    /// Entries left out, with the reason (fifos, sockets, devices, names that cannot be synced).
    public var skipped: [(path: String, reason: String)] = []
    /// Directories that could not be read: nothing below them may be taken for deleted.
    public var unreadable: [PlainPath] = []
}

/// Walks a folder without following symlinks. The walk is the truth; inotify (issue 5) only hints.
public enum Scanner {
    /// `exclude(path, isDirectory)` returns true for paths to leave out entirely (ignore rules, the
    /// agent's own state); an excluded directory is not entered.
    /// `expectedCount` (the number of paths the last scan found) only sizes the result up front.
    public static func scan(_ root: BytePath, expectedCount: Int = 0,
                            exclude: (PlainPath, Bool) -> Bool = { _, _ in false }) throws(ShadowError) -> ScanReport {
        var report = ScanReport()
        report.entries.reserveCapacity(expectedCount)
        // The root itself must be a real directory (not a symlink to one).
        var st = Glibc.stat()
        guard root.withCString({ lstat($0, &st) }) == 0 else { throw systemError("cannot scan", root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ShadowError(.invalidArgument, "\(root) is not a directory (a symlink to one is not followed)")
        }
        try walk(root, relative: nil, into: &report, exclude: exclude)
        report.skipped.sort { $0.path < $1.path }
        report.unreadable.sort()
        return report
    }

    /// One directory: its names are read and each is stat'ed relative to the open directory (fstatat),
    /// which spares the kernel a walk of the whole path per file; then its subdirectories, one at a time,
    /// so a deep tree holds one descriptor open, not one per level.
    private static func walk(_ dir: BytePath, relative: PlainPath?, into report: inout ScanReport,
                             exclude: (PlainPath, Bool) -> Bool) throws(ShadowError) {
        // O_NOFOLLOW: a directory swapped for a symlink since its parent was read is not followed.
        let fd = dir.withCString { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0, let stream = fdopendir(fd) else {
            let error = systemError("cannot list", dir)
            if fd >= 0 { close(fd) }
            if let relative {
                report.unreadable.append(relative)
                report.skipped.append((relative.description, "cannot read directory: \(error.message)"))
                return
            }
            throw error
        }
        // Each name is stat'ed while its dirent is at hand (no copy to NUL-terminate).
        var found: [(name: [UInt8], stat: Glibc.stat?)] = []
        while let entry = readdir(stream) {
            withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let cName = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                let name = Array(UnsafeRawBufferPointer(start: raw.baseAddress, count: strlen(cName)))
                // "." and "..", and our own half-written files.
                if name == [46] || name == [46, 46] || name.starts(with: temporaryPrefix) { return }
                var st = Glibc.stat()
                // Vanished between readdir and stat: nil, reported below; the next scan sees the truth.
                found.append((name, fstatat(fd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil))
            }
        }
        var subdirectories: [(BytePath, PlainPath)] = []
        for (name, stat) in found {  // readdir order: the result is keyed by path, the reports sorted at the end
            let path: PlainPath
            do throws(ShadowError) {
                if let relative { path = try relative.appending(name) } else { path = try PlainPath(bytes: name) }
            } catch {
                report.skipped.append((dir.appending(bytes: name).description, error.message))
                continue
            }
            guard let st = stat else {
                report.skipped.append((path.description, "vanished while scanning"))
                continue
            }
            let type = st.st_mode & S_IFMT
            if exclude(path, type == S_IFDIR) { continue }
            switch type {
            case S_IFREG:
                report.entries[path] = ScannedEntry(path: path, kind: .file(executable: st.st_mode & 0o100 != 0), stat: StatKey(st))
            case S_IFDIR:
                report.entries[path] = ScannedEntry(path: path, kind: .directory, stat: StatKey(st))
                subdirectories.append((dir.appending(bytes: name), path))
            case S_IFLNK:
                guard let target = readLink(dir.appending(bytes: name)) else {
                    report.skipped.append((path.description, "cannot read symlink"))
                    continue
                }
                report.entries[path] = ScannedEntry(path: path, kind: .symlink(target: target), stat: StatKey(st))
            default:
                let what = type == S_IFIFO ? "fifo" : type == S_IFSOCK ? "socket" : "device"
                report.skipped.append((path.description, "\(what): only files, directories and symlinks are synced"))
            }
        }
        closedir(stream)  // before descending: one descriptor at a time
        for (full, path) in subdirectories { try walk(full, relative: path, into: &report, exclude: exclude) }
    }

    private static let temporaryPrefix = Array(AtomicFileWriter.temporaryPrefix.utf8)

    static func readLink(_ path: BytePath) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: maxPathBytes)
        let n = path.withCString { readlink($0, &buffer, buffer.count) }
        guard n > 0, n < buffer.count else { return nil }
        return buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
}
