#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// What one read of the inotify queue says. Events are hints: a scan of the paths they name (or of
/// everything, after an overflow) against the stat index decides what changed.
public struct WatchBatch: Sendable {
    public var events = 0
    /// The paths events named, each with whether everything below it must be looked at too (a
    /// directory created, moved or deleted); a directory's own attribute change names it alone.
    public var changed: [PlainPath: Bool] = [:]
    /// The kernel queue overflowed (IN_Q_OVERFLOW): events were lost, so rescan everything.
    public var overflowed = false
    /// The watch set no longer matches the tree (an unpaired directory move, the root gone): re-walk it.
    public var needsRewatch = false
}

/// A recursive inotify watch of one folder (inotify(7)): one watch per directory, added for new
/// directories as they appear (then the scan finds the files created before the watch existed).
/// Directory renames inside the folder are paired by cookie to keep the watch paths right. When the
/// kernel refuses more watches (ENOSPC: fs.inotify.max_user_watches) the watcher is `degraded` and the
/// agent falls back to polling. Owns its inotify descriptor.
public final class FolderWatcher {
    public let fd: Int32
    private let root: BytePath
    private var paths: [Int32: [UInt8]] = [:]    // watch descriptor → path relative to root ("" for root)
    private var pendingMoves: [UInt32: [UInt8]] = [:]  // cookie → relative path of a directory moved away
    public private(set) var degraded = false
    public private(set) var failedWatches = 0
    private let exclude: (PlainPath, Bool) -> Bool

    /// Directory events only: file contents are caught by CLOSE_WRITE and MODIFY (an editor's save),
    /// attribute changes (chmod +x) by ATTRIB.
    static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
                             | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW) | UInt32(bitPattern: IN_EXCL_UNLINK)

    /// The advice when watches run out (the default limit is 8192 on older kernels, ~190k here).
    public static let watchLimitAdvice = "raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 (and add it to /etc/sysctl.d/ to keep it)"

    public init(root: BytePath, exclude: @escaping (PlainPath, Bool) -> Bool = { _, _ in false }) throws(ShadowError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0 else {
            let e = errno
            throw ShadowError(e == EMFILE ? .invalidArgument : .ioFailure, "cannot start watching \(root): \(String(cString: strerror(e)))",
                              advice: e == EMFILE ? "too many inotify instances: raise fs.inotify.max_user_instances" : "")
        }
        self.fd = fd
        self.root = root
        self.exclude = exclude
    }

    deinit { close(fd) }

    public var watchCount: Int { paths.count }

    /// Watches every directory of the tree (again); returns how many are watched.
    @discardableResult
    public func watchTree() -> Int {
        degraded = false
        failedWatches = 0
        add([])
        return paths.count
    }

    private func add(_ relative: [UInt8]) {
        let full = relative.isEmpty ? root : root.appending(bytes: relative)
        let wd = full.withCString { inotify_add_watch(fd, $0, FolderWatcher.mask) }
        if wd < 0 {
            if errno == ENOSPC { degraded = true; failedWatches += 1 }
            return  // vanished, or not a directory any more: the scan sees the truth
        }
        paths[wd] = relative
        guard let names = try? FileSystem.list(full) else { return }
        for name in names {
            let child = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
            var st = stat()
            guard root.appending(bytes: child).withCString({ lstat($0, &st) }) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            if let p = try? PlainPath(bytes: child), exclude(p, true) { continue }
            add(child)
        }
    }

    /// Reads whatever is queued (never blocks) and keeps the watch set in step.
    public func drain() -> WatchBatch {
        var batch = WatchBatch()
        // Room for many events per read: at least one event with the longest name (16 + NAME_MAX + 1).
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        let header = MemoryLayout<inotify_event>.size
        while true {
            let n = read(fd, buffer, size)
            if n <= 0 { break }  // EAGAIN: drained
            var offset = 0
            while offset + header <= n {
                let event = (buffer + offset).load(as: inotify_event.self)
                var name: [UInt8] = []
                if event.len > 0 {
                    let bytes = UnsafeRawBufferPointer(start: buffer + offset + header, count: Int(event.len))
                    name = Array(bytes.prefix(while: { $0 != 0 }))
                }
                offset += header + Int(event.len)
                handle(event, name: name, into: &batch)
            }
        }
        // A directory moved out of the folder (no MOVED_TO with its cookie in this batch) is gone.
        if !pendingMoves.isEmpty {
            for (_, gone) in pendingMoves { forget(prefix: gone) }
            pendingMoves.removeAll()
        }
        return batch
    }

    private func handle(_ e: inotify_event, name: [UInt8], into batch: inout WatchBatch) {
        let mask = e.mask
        if mask & UInt32(IN_Q_OVERFLOW) != 0 { batch.overflowed = true; batch.needsRewatch = true; return }
        if mask & UInt32(IN_IGNORED) != 0 { paths[e.wd] = nil; return }
        batch.events += 1
        guard let dir = paths[e.wd] else { return }
        if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0, dir.isEmpty { batch.needsRewatch = true; return }
        let subtree = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
        if name.isEmpty {
            // The watched directory itself (its parent's watch names it too, unless it is the root).
            if !dir.isEmpty, let p = try? PlainPath(bytes: dir) { note(p, subtree: false, in: &batch) }
            return
        }
        let child = dir.isEmpty ? name : dir + [UInt8(ascii: "/")] + name
        // A name no path can have is left to the full scan, which reports it as skipped.
        if let p = try? PlainPath(bytes: child) { note(p, subtree: mask & UInt32(IN_ISDIR) != 0 && mask & subtree != 0, in: &batch) }
        guard mask & UInt32(IN_ISDIR) != 0 else { return }
        if mask & UInt32(IN_CREATE) != 0 {
            if let p = try? PlainPath(bytes: child), exclude(p, true) { return }
            add(child)  // and everything already inside it
        } else if mask & UInt32(IN_MOVED_FROM) != 0 {
            pendingMoves[e.cookie] = child
        } else if mask & UInt32(IN_MOVED_TO) != 0 {
            if let old = pendingMoves.removeValue(forKey: e.cookie) {
                rename(prefix: old, to: child)  // the same watches, new paths
            } else {
                add(child)  // moved in from outside the folder
            }
        }
    }

    private func note(_ path: PlainPath, subtree: Bool, in batch: inout WatchBatch) {
        if subtree { batch.changed[path] = true } else if batch.changed[path] == nil { batch.changed[path] = false }
    }

    private func rename(prefix old: [UInt8], to new: [UInt8]) {
        for (wd, p) in paths where p == old || p.starts(with: old + [UInt8(ascii: "/")]) {
            paths[wd] = new + p.dropFirst(old.count)
        }
    }

    private func forget(prefix gone: [UInt8]) {
        for (wd, p) in paths where p == gone || p.starts(with: gone + [UInt8(ascii: "/")]) {
            inotify_rm_watch(fd, wd)
            paths[wd] = nil
        }
    }
}
