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
        // Wrapping: a date past 2262 (touch -d accepts one) must not trap; the key is only compared.
        mtimeNs = Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec)
        ctimeNs = Int64(st.st_ctim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_ctim.tv_nsec)
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
    /// `st_mode & 0o777` of the entry itself (lstat): a symlink's is whatever the system reports
    /// (0o777 on Linux), which name records do not keep.
    public let permissions: UInt32
    /// The entry's own modification time (lstat: a symlink's, not its target's), exact to the
    /// nanosecond and for any date, unlike `stat.mtimeNs`.
    public let modified: FileTime

    public init(path: PlainPath, kind: ScannedKind, stat: StatKey, permissions: UInt32, modified: FileTime) {
        self.path = path
        self.kind = kind
        self.stat = stat
        self.permissions = permissions
        self.modified = modified
    }

    init(path: PlainPath, kind: ScannedKind, _ st: Glibc.stat) {
        self.init(path: path, kind: kind, stat: StatKey(st), permissions: UInt32(st.st_mode) & FilePermissions.mask,
                  modified: FileTime(st.st_mtim))
    }
}

extension FileTime {
    init(_ t: timespec) {
        self.init(seconds: Int64(t.tv_sec), nanoseconds: UInt32(t.tv_nsec))
    }

    /// For utimensat and futimens.
    var timespec: Glibc.timespec { Glibc.timespec(tv_sec: time_t(seconds), tv_nsec: Int(nanoseconds)) }
}

/// One path a partial scan looks at: itself only, or (`recursive`, when it is a directory) with
/// everything below it.
public struct ScanTarget: Hashable, Sendable {
    public let path: PlainPath
    public let recursive: Bool

    public init(_ path: PlainPath, recursive: Bool) {
        self.path = path
        self.recursive = recursive
    }
}

/// The result of walking the plaintext folder.
public struct ScanReport: Sendable {
    /// Every entry found, each path once, in no particular order (the walk is parallel), except those
    /// the caller's `ExpectedTree` settled: only their numbers are kept, in `settledIDs`.
    public var entries: [ScannedEntry] = []
    /// The entries of the caller's `ExpectedTree` found exactly as expected, by their number there.
    public var settledIDs: [Int32] = []
    /// The tree `settledIDs` number into.
    public private(set) var expected: ExpectedTree?
    /// Entries left out, with the reason (fifos, sockets, devices, names that cannot be synced).
    public var skipped: [(path: String, reason: String)] = []
    /// Directories that could not be read: nothing below them may be taken for deleted.
    public var unreadable: [PlainPath] = []

    public init(expected: ExpectedTree? = nil) { self.expected = expected }

    /// The entry at `path`, by a linear search: for tests and one-off questions, not for loops.
    public func entry(at path: PlainPath) -> ScannedEntry? { entries.first { $0.path == path } }

    /// The paths of the settled entries (a table of them is needed only when something vanished).
    public var settled: [PlainPath] { expected.map { tree in settledIDs.compactMap(tree.path) } ?? [] }

    mutating func absorb(_ other: ScanReport) {
        entries += other.entries
        settledIDs += other.settledIDs
        skipped += other.skipped
        unreadable += other.unreadable
    }
}

/// Walks a folder without following symlinks. The walk is the truth; inotify only hints.
public enum Scanner {
    /// Threads that list directories at once: two per core, capped. A thread in `fstatat` is not
    /// always on a core: on this 2-core machine 3 or 4 threads finished a 10k-file one-shot no-op sync
    /// 4–12% sooner than 2, in three alternating runs (git's preload-index uses up to 20 threads for
    /// its stats). The cap is a guess, not a measurement: only 2 cores were available here
    /// (Docs/BENCHMARKS.md, `bench-sync-vs-git.sh`).
    public static let threadsPerCore = 2
    public static let maximumThreads = 4

    /// `ignore` leaves paths out entirely; an ignored directory is not entered.
    /// `expected` (the engine: what its index trusts) settles entries found exactly as expected: they
    /// come back as numbers in `settledIDs`, not as entries, so comparing them is parallel too.
    /// `expectedCount` (the number of paths the last scan found) only sizes the result up front.
    /// `threads` defaults to `threadsPerCore` per online core, at most `maximumThreads`.
    public static func scan(_ root: BytePath, expectedCount: Int = 0, threads: Int? = nil,
                            ignore: IgnoreRules = IgnoreRules(), expected: ExpectedTree? = nil) throws(ShadowError) -> ScanReport {
        // The root itself must be a real directory (not a symlink to one).
        var st = Glibc.stat()
        guard root.withCString({ lstat($0, &st) }) == 0 else { throw systemError("cannot scan", root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ShadowError(.invalidArgument, "\(root) is not a directory (a symlink to one is not followed)")
        }
        var report = ScanReport(expected: expected)
        report.settledIDs.reserveCapacity(expectedCount)
        let filter = Filter(ignore: ignore, expected: expected)
        var subdirectories: [Pending] = []
        try list(Pending(full: root, relative: nil), into: &report, subdirectories: &subdirectories, filter: filter)
        let queue = WalkQueue(subdirectories)
        let count = max(1, min(threads ?? threadsPerCore * onlineProcessorCount(), maximumThreads, subdirectories.count))
        // Each helper thread fills its own report; this thread works too, into `report`.
        let helpers = (1..<count).map { _ in
            WorkerThread { var own = ScanReport(expected: expected); work(queue, into: &own, filter: filter); return own }
        }
        work(queue, into: &report, filter: filter)
        for helper in helpers { report.absorb(helper.join()) }
        report.skipped.sort { $0.path < $1.path }
        report.unreadable.sort()
        return report
    }

    /// Scans only `targets`, not the whole folder: each path itself (gone, it is simply not reported),
    /// and everything below the recursive ones that are directories. What a running agent's watcher
    /// says changed. A target below an ignored directory, or below a path that is no longer a
    /// directory (a directory swapped for a symlink is never followed), is left out: an event for that
    /// ancestor is among the targets too. Nothing is settled: the caller compares every entry.
    public static func scan(_ root: BytePath, only targets: [ScanTarget], ignore: IgnoreRules = IgnoreRules()) throws(ShadowError) -> ScanReport {
        var st = Glibc.stat()
        guard root.withCString({ lstat($0, &st) }) == 0 else { throw systemError("cannot scan", root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ShadowError(.invalidArgument, "\(root) is not a directory (a symlink to one is not followed)")
        }
        var report = ScanReport()
        var wanted: [PlainPath: Bool] = [:]
        for target in targets { wanted[target.path] = (wanted[target.path] ?? false) || target.recursive }
        let recursive = Set(wanted.lazy.filter(\.value).map(\.key))
        var subdirectories: [Pending] = []
        for (path, walk) in wanted.sorted(by: { $0.key < $1.key }) {
            var ancestors: [PlainPath] = []
            var ancestor = path.parent
            while let a = ancestor { ancestors.append(a); ancestor = a.parent }
            // A recursive target above it reports it anyway.
            if ancestors.contains(where: { recursive.contains($0) }) { continue }
            if path.lastComponent.starts(with: temporaryPrefix) { continue }  // our own half-written files
            // Parents from the root down: each a real directory and not ignored.
            var reachable = true
            for a in ancestors.reversed() {
                var ast = Glibc.stat()
                if root.appending(a).withCString({ lstat($0, &ast) }) != 0 || (ast.st_mode & S_IFMT) != S_IFDIR
                    || ignore.ignoresEntry(a, isDirectory: true) { reachable = false; break }
            }
            guard reachable else { continue }
            let full = root.appending(path)
            var est = Glibc.stat()
            guard full.withCString({ lstat($0, &est) }) == 0 else {
                let e = errno
                if e != ENOENT && e != ENOTDIR {
                    // Not known to be gone: nothing below it may be taken for deleted.
                    report.unreadable.append(path)
                    report.skipped.append((path.description, "cannot stat: \(String(cString: strerror(e)))"))
                }
                continue
            }
            let type = est.st_mode & S_IFMT
            if ignore.ignoresEntry(path, isDirectory: type == S_IFDIR) { continue }
            switch type {
            case S_IFREG:
                report.entries.append(ScannedEntry(path: path, kind: .file(executable: est.st_mode & 0o100 != 0), est))
            case S_IFDIR:
                report.entries.append(ScannedEntry(path: path, kind: .directory, est))
                if walk { subdirectories.append(Pending(full: full, relative: path)) }
            case S_IFLNK:
                guard let target = full.withCString({ readLink(at: AT_FDCWD, $0) }) else {
                    report.skipped.append((path.description, "cannot read symlink"))
                    continue
                }
                report.entries.append(ScannedEntry(path: path, kind: .symlink(target: target), est))
            default:
                let what = type == S_IFIFO ? "fifo" : type == S_IFSOCK ? "socket" : "device"
                report.skipped.append((path.description, "\(what): only files, directories and symlinks are synced"))
            }
        }
        let filter = Filter(ignore: ignore, expected: nil)
        work(WalkQueue(subdirectories), into: &report, filter: filter)
        report.skipped.sort { $0.path < $1.path }
        report.unreadable.sort()
        return report
    }

    /// A directory still to be listed: its path on disk and in the folder (nil for the root).
    struct Pending: Sendable {
        let full: BytePath
        let relative: PlainPath?
    }

    /// What the caller said about the entries to find.
    struct Filter: Sendable {
        let ignore: IgnoreRules
        let expected: ExpectedTree?
    }

    private static func work(_ queue: WalkQueue, into report: inout ScanReport, filter: Filter) {
        var listed = false
        var found: [Pending] = []
        while let next = queue.next(finishedOne: listed) {
            found.removeAll(keepingCapacity: true)
            // Below the root nothing throws: an unreadable directory is reported, not fatal.
            try? list(next, into: &report, subdirectories: &found, filter: filter)
            queue.add(found)  // before `next` counts this one done, so no thread sees an empty queue too early
            listed = true
        }
    }

    /// One directory: each name is stat'ed relative to the open directory (fstatat) while its dirent is
    /// at hand, which spares the kernel a walk of the whole path per file and copies no name. An entry
    /// the expected tree settles gets no path of its own (a directory does: it is listed next).
    private static func list(_ dir: Pending, into report: inout ScanReport, subdirectories: inout [Pending],
                             filter: Filter) throws(ShadowError) {
        // O_NOFOLLOW: a directory swapped for a symlink since its parent was read is not followed.
        let fd = dir.full.withCString { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0, let stream = fdopendir(fd) else {
            let error = systemError("cannot list", dir.full)
            if fd >= 0 { close(fd) }
            if let relative = dir.relative {
                report.unreadable.append(relative)
                report.skipped.append((relative.description, "cannot read directory: \(error.message)"))
                return
            }
            throw error
        }
        defer { closedir(stream) }
        // The directory's part of every path below it, and of every hash the expected tree is asked for.
        let prefix = dir.relative.map { $0.bytes + [UInt8(ascii: "/")] } ?? []
        prefix.withUnsafeBytes { prefix in
            let hasher = ExpectedTree.hasher(forDirectory: prefix)
            while let dirent = readdir(stream) {
                withUnsafeBytes(of: &dirent.pointee.d_name) { raw in
                    let cName = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                    let name = UnsafeRawBufferPointer(start: raw.baseAddress, count: strlen(cName))
                    // "." and "..", and our own half-written files.
                    if (name.count == 1 && name[0] == dot) || (name.count == 2 && name[0] == dot && name[1] == dot)
                        || name.starts(with: temporaryPrefix) { return }
                    var st = Glibc.stat()
                    let statted = fstatat(fd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0
                    let type = st.st_mode & S_IFMT
                    // Settled: a file needs nothing more; a directory still needs its path, to be listed.
                    var settledDirectory: Int32?
                    if statted, let expected = filter.expected, type == S_IFREG || type == S_IFDIR {
                        let kind: ExpectedTree.Kind = type == S_IFDIR ? .directory : st.st_mode & 0o100 != 0 ? .executableFile : .file
                        if let id = expected.settled(prefix: prefix, hasher: hasher, name: name, kind: kind, stat: StatKey(st)) {
                            if filter.ignore.ignoresEntry(in: dir.relative, name: name, isDirectory: type == S_IFDIR) { return }
                            guard type == S_IFDIR else { report.settledIDs.append(id); return }
                            settledDirectory = id
                        }
                    }
                    let path: PlainPath
                    do throws(ShadowError) {
                        if let relative = dir.relative { path = try relative.appending(name) } else { path = try PlainPath(bytes: Array(name)) }
                    } catch {
                        report.skipped.append((dir.full.appending(bytes: Array(name)).description, error.message))
                        return
                    }
                    guard statted else {
                        // Vanished between readdir and stat; the next scan sees the truth.
                        report.skipped.append((path.description, "vanished while scanning"))
                        return
                    }
                    if let settledDirectory {
                        report.settledIDs.append(settledDirectory)
                        subdirectories.append(Pending(full: dir.full.appending(bytes: Array(name)), relative: path))
                        return
                    }
                    if filter.ignore.ignoresEntry(path, isDirectory: type == S_IFDIR) { return }
                    switch type {
                    case S_IFREG:
                        report.entries.append(ScannedEntry(path: path, kind: .file(executable: st.st_mode & 0o100 != 0), st))
                    case S_IFDIR:
                        report.entries.append(ScannedEntry(path: path, kind: .directory, st))
                        subdirectories.append(Pending(full: dir.full.appending(bytes: Array(name)), relative: path))
                    case S_IFLNK:
                        guard let target = readLink(at: fd, cName) else {
                            report.skipped.append((path.description, "cannot read symlink"))
                            return
                        }
                        report.entries.append(ScannedEntry(path: path, kind: .symlink(target: target), st))
                    default:
                        let what = type == S_IFIFO ? "fifo" : type == S_IFSOCK ? "socket" : "device"
                        report.skipped.append((path.description, "\(what): only files, directories and symlinks are synced"))
                    }
                }
            }
        }
    }

    private static let dot = UInt8(ascii: ".")
    private static let temporaryPrefix = Array(AtomicFileWriter.temporaryPrefix.utf8)

    private static func readLink(at dirfd: Int32, _ name: UnsafePointer<CChar>) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: maxPathBytes)
        let n = readlinkat(dirfd, name, &buffer, buffer.count)
        guard n > 0, n < buffer.count else { return nil }
        return buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
}

/// The directories a scan has yet to list, shared by its threads. The walk is over when none is left
/// and none is being listed (a directory being listed may still add more).
private final class WalkQueue: @unchecked Sendable {  // every field is guarded by `lock`
    private let lock = ConditionLock()
    private var pending: [Scanner.Pending]
    private var listing = 0

    init(_ initial: [Scanner.Pending]) { pending = initial }

    func add(_ found: [Scanner.Pending]) {
        guard !found.isEmpty else { return }
        lock.withLock {
            pending += found
            lock.broadcast()
        }
    }

    /// The next directory to list, or nil when the walk is over. `finishedOne` says the caller has
    /// listed the directory it took last (and added what it found).
    func next(finishedOne: Bool) -> Scanner.Pending? {
        lock.withLock {
            if finishedOne { listing -= 1 }
            while pending.isEmpty && listing > 0 { lock.wait() }
            guard let next = pending.popLast() else {
                lock.broadcast()  // the walk is over: wake every waiting thread
                return nil
            }
            listing += 1
            return next
        }
    }
}
