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
    public static func scan(_ root: BytePath, exclude: (PlainPath, Bool) -> Bool = { _, _ in false }) throws(ShadowError) -> ScanReport {
        var report = ScanReport()
        // The root itself must be a real directory (not a symlink to one).
        var st = Glibc.stat()
        guard root.withCString({ lstat($0, &st) }) == 0 else { throw systemError("cannot scan", root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ShadowError(.invalidArgument, "\(root) is not a directory (a symlink to one is not followed)")
        }
        try walk(root, relative: nil, into: &report, exclude: exclude)
        return report
    }

    private static func walk(_ dir: BytePath, relative: PlainPath?, into report: inout ScanReport,
                             exclude: (PlainPath, Bool) -> Bool) throws(ShadowError) {
        let names: [[UInt8]]
        do { names = try FileSystem.list(dir) } catch {
            if let relative {
                report.unreadable.append(relative)
                report.skipped.append((relative.description, "cannot read directory: \(error.message)"))
                return
            }
            throw error
        }
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if name.starts(with: Array(AtomicFileWriter.temporaryPrefix.utf8)) { continue }  // our own half-written files
            let full = dir.appending(bytes: name)
            let path: PlainPath
            do throws(ShadowError) {
                if let relative { path = try relative.appending(name) } else { path = try PlainPath(bytes: name) }
            } catch {
                report.skipped.append((full.description, error.message))
                continue
            }
            var st = Glibc.stat()
            guard full.withCString({ lstat($0, &st) }) == 0 else {
                // Vanished between readdir and lstat: the next scan sees the truth.
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
                try walk(full, relative: path, into: &report, exclude: exclude)
            case S_IFLNK:
                guard let target = readLink(full) else {
                    report.skipped.append((path.description, "cannot read symlink"))
                    continue
                }
                report.entries[path] = ScannedEntry(path: path, kind: .symlink(target: target), stat: StatKey(st))
            default:
                let what = type == S_IFIFO ? "fifo" : type == S_IFSOCK ? "socket" : "device"
                report.skipped.append((path.description, "\(what): only files, directories and symlinks are synced"))
            }
        }
    }

    static func readLink(_ path: BytePath) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: maxPathBytes)
        let n = path.withCString { readlink($0, &buffer, buffer.count) }
        guard n > 0, n < buffer.count else { return nil }
        return buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
}
