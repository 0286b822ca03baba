#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore
internal import CShims

/// A regular file read positionally. Opened with O_NOFOLLOW: a symlink is never read through.
public final class FileSource: ByteSource {
    private let descriptor: Descriptor
    public let path: BytePath
    public let length: UInt64

    public init(_ path: BytePath) throws(ShadowError) {
        self.path = path
        descriptor = try Descriptor.open(path, flags: O_RDONLY | O_NOFOLLOW)
        let st = try descriptor.stat(path)
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ShadowError(.invalidArgument, "\(path) is not a regular file")
        }
        length = UInt64(st.st_size)
    }

    /// The open file's stat now. After reading, it tells whether the file changed while it was read:
    /// a write or chmod moves mtime or ctime. Recorded instead of a stat of the path, it describes the
    /// bytes that were read even if another file was renamed over the path meanwhile (the next scan
    /// then sees a different inode).
    public func currentStat() throws(ShadowError) -> StatKey {
        StatKey(try descriptor.stat(path))
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ShadowError) -> Int {
        guard buffer.count > 0 else { return 0 }
        return try retryingEINTR("cannot read", path) { pread(descriptor.fd, buffer.baseAddress!, buffer.count, off_t(offset)) }
    }
}

/// Writes a new version of a file so that readers see either the old one or the whole new one:
/// temp file in the same directory (O_EXCL, O_NOFOLLOW), fsync, rename over the target, fsync the
/// directory. Dropped without `commit()`, the temp file is removed and the target is untouched.
public final class AtomicFileWriter: ByteSink {
    public let destination: BytePath
    let temporary: BytePath
    private var descriptor: Descriptor?
    private var committed = false
    /// False for files that can be rebuilt from elsewhere (shadow objects are in git): no fsync.
    private let durable: Bool

    /// Temp names start with this so scanners can recognise and skip them.
    public static let temporaryPrefix = ".shadowsync-tmp-"

    /// Prefix and 16 random letters from one 64-bit draw (a draw per letter cost a getrandom call each).
    static func temporaryName() -> [UInt8] {
        var r = UInt64.random(in: 0...UInt64.max)
        var name = Array(temporaryPrefix.utf8)
        for _ in 0..<13 { name.append(UInt8(ascii: "a") + UInt8(r % 26)); r /= 26 }
        return name
    }

    public init(destination: BytePath, mode: UInt32 = 0o644, durable: Bool = true) throws(ShadowError) {
        self.destination = destination
        self.durable = durable
        temporary = destination.directory.appending(bytes: AtomicFileWriter.temporaryName())
        descriptor = try Descriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode_t(mode))
        // The umask may have narrowed the mode; a key file must be exactly 0600, a plaintext file as asked.
        try retryingEINTR("cannot chmod", temporary) { fchmod(descriptor!.fd, mode_t(mode)) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) {
        guard let descriptor else { throw ShadowError(.invalidArgument, "write after commit to \(destination)") }
        try descriptor.writeAll(bytes, temporary)
    }

    /// Makes the new contents durable and visible under the destination name.
    public func commit() throws(ShadowError) {
        guard let descriptor, !committed else { return }
        if durable { try descriptor.sync(temporary) }
        descriptor.close()
        self.descriptor = nil
        let tmp = temporary, dst = destination
        CrashPoint.reached("file-written")
        try retryingEINTR("cannot rename into place", dst) {
            tmp.withCString { t in dst.withCString { d in rename(t, d) } }
        }
        committed = true
        CrashPoint.reached("file-renamed")
        if durable { try FileSystem.syncDirectory(destination.directory) }
    }

    /// Discards the temp file (also done on deinit when not committed).
    public func abandon() {
        descriptor?.close()
        descriptor = nil
        if !committed {
            _ = temporary.withCString { unlink($0) }
            committed = true  // nothing left to clean
        }
    }

    deinit { abandon() }
}

public enum FileSystem {
    /// Writes `bytes` atomically with exactly `mode`.
    public static func writeAtomically(_ bytes: [UInt8], to path: BytePath, mode: UInt32, durable: Bool = true) throws(ShadowError) {
        let w = try AtomicFileWriter(destination: path, mode: mode, durable: durable)
        try bytes.withBytes { (b) throws(ShadowError) in try w.write(b) }
        try w.commit()
    }

    /// Writes `bytes` in place (created or truncated, never through a symlink): one open, one write,
    /// no temporary and no rename. Only for files that can always be rebuilt, because a crash or a
    /// full disk can leave them torn: the shadow work tree, which the journal's recovery checks out
    /// again from git. Never for the user's files or for keys.
    /// Returns the file's stat as written (staging checks the file is still this one).
    @discardableResult
    public static func overwrite(_ bytes: [UInt8], at path: BytePath, mode: UInt32) throws(ShadowError) -> WorkTreeStat {
        let d = try Descriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: mode_t(mode))
        try bytes.withBytes { (b) throws(ShadowError) in try d.writeAll(b, path) }
        return WorkTreeStat(try d.stat(path))
    }

    /// Makes every write so far to the file system holding the directory `path` durable: one syncfs
    /// instead of an fsync per file (git's own batch fsync: thousands of small objects per import).
    public static func flushFileSystem(holding path: BytePath) throws(ShadowError) {
        let d = try Descriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
        try retryingEINTR("cannot flush to disk the file system holding", path) { shadow_shim_syncfs(d.fd) }
    }

    /// Reads a whole regular file of at most `limit` bytes (no symlinks followed).
    public static func readFile(_ path: BytePath, limit: Int = 1 << 20) throws(ShadowError) -> [UInt8] {
        try readWhole(FileSource(path), limit: limit)
    }

    /// `readFile`, with the stat of the open file the bytes came from: not of the path, which another
    /// file may have been renamed over since.
    public static func readFileAndStat(_ path: BytePath, limit: Int) throws(ShadowError) -> ([UInt8], StatKey) {
        let src = try FileSource(path)
        return (try readWhole(src, limit: limit), try src.currentStat())
    }

    private static func readWhole(_ src: FileSource, limit: Int) throws(ShadowError) -> [UInt8] {
        guard src.length <= UInt64(limit) else {
            throw ShadowError(.invalidArgument, "\(src.path) is \(src.length) bytes, more than the \(limit) expected")
        }
        // Not zero-filled first: the read overwrites every byte it counts, and only those are kept.
        var failure: ShadowError?
        let out = [UInt8](unsafeUninitializedCapacity: Int(src.length)) { buffer, initialized in
            do throws(ShadowError) {
                initialized = try src.readFully(at: 0, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        guard out.count == Int(src.length) else { throw ShadowError(.sourceChanged, "\(src.path) changed while it was read") }
        return out
    }

    /// A path's own stat (a symlink reports itself); nil when it cannot be statted.
    public static func statKey(_ path: BytePath) -> StatKey? {
        var st = Glibc.stat()
        guard path.withCString({ lstat($0, &st) }) == 0 else { return nil }
        return StatKey(st)
    }

    /// Reads until end of file regardless of the size stat reports (procfs files report 0).
    public static func readUntilEnd(_ path: BytePath, limit: Int) throws(ShadowError) -> [UInt8] {
        let d = try Descriptor.open(path, flags: O_RDONLY | O_NOFOLLOW)
        return try readUntilEnd(fd: d.fd, name: path, limit: limit)
    }

    /// Standard input until end of file (a git hook's ref updates).
    public static func readStandardInput(limit: Int) throws(ShadowError) -> [UInt8] {
        try readUntilEnd(fd: 0, name: BytePath("standard input"), limit: limit)
    }

    private static func readUntilEnd(fd: Int32, name path: BytePath, limit: Int) throws(ShadowError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count <= limit {
            let n = try buffer.withMutableBytes { (b) throws(ShadowError) in
                try retryingEINTR("cannot read", path) { Glibc.read(fd, b.baseAddress!, b.count) }
            }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
        throw ShadowError(.invalidArgument, "\(path) is longer than the \(limit) bytes expected")
    }

    /// Permission bits of a path (lstat: a symlink reports itself).
    public static func permissions(of path: BytePath) throws(ShadowError) -> UInt32 {
        var st = Glibc.stat()
        try retryingEINTR("cannot stat", path) { path.withCString { lstat($0, &st) } }
        return UInt32(st.st_mode) & 0o7777
    }

    public static func exists(_ path: BytePath) -> Bool {
        var st = Glibc.stat()
        return path.withCString { lstat($0, &st) } == 0
    }

    public static func createDirectory(_ path: BytePath, mode: UInt32 = 0o700) throws(ShadowError) {
        let rc = path.withCString { mkdir($0, mode_t(mode)) }
        if rc != 0 && errno != EEXIST { throw systemError("cannot create directory", path) }
    }

    /// Creates a directory and any missing parents (mkdir -p); existing ones are left as they are.
    /// Deepest first: usually only the last component is missing, and a mkdir of every ancestor from
    /// the root cost a path walk each (ten per shadow object directory in an import).
    public static func createDirectories(_ path: BytePath, mode: UInt32 = 0o700) throws(ShadowError) {
        if path.withCString({ mkdir($0, mode_t(mode)) }) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw systemError("cannot create directory", path) }
        let parent = path.directory
        guard parent != path else { throw systemError("cannot create directory", path) }
        try createDirectories(parent, mode: mode)
        try createDirectory(path, mode: mode)
    }

    public static func syncDirectory(_ path: BytePath) throws(ShadowError) {
        let d = try Descriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
        try d.sync(path)
    }

    /// Names in a directory (without "." and ".."), as bytes.
    public static func list(_ path: BytePath) throws(ShadowError) -> [[UInt8]] {
        guard let dir = path.withCString({ opendir($0) }) else { throw systemError("cannot list", path) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name == [46] || name == [46, 46] { continue }
            names.append(name)
        }
        return names
    }
}

extension FileSystem {
    /// A new private directory under $TMPDIR (or /tmp).
    public static func makeTemporaryDirectory(prefix: String) throws(ShadowError) -> BytePath {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array(BytePath(base).appending(prefix + "XXXXXX").bytes.map { CChar(bitPattern: $0) }) + [0]
        guard let p = mkdtemp(&template) else { throw systemError("cannot create a temporary directory in", BytePath(base)) }
        return BytePath(bytes: Array(UnsafeBufferPointer(start: p, count: strlen(p)).map { UInt8(bitPattern: $0) }))
    }

    /// A new private directory beside `path` (same parent, so it can be renamed onto `path`), named
    /// `.<last component of path>.<tag>-XXXXXX`.
    public static func makeTemporaryDirectory(beside path: BytePath, tag: String) throws(ShadowError) -> BytePath {
        let name = [UInt8(ascii: ".")] + path.lastComponent + Array(".\(tag)-XXXXXX".utf8)
        var template = path.directory.appending(bytes: name).bytes.map { CChar(bitPattern: $0) } + [0]
        guard let p = mkdtemp(&template) else { throw systemError("cannot create a temporary directory beside", path) }
        return BytePath(bytes: Array(UnsafeBufferPointer(start: p, count: strlen(p)).map { UInt8(bitPattern: $0) }))
    }

    /// Renames a directory onto `destination`, which must be missing or an empty directory (rename(2)
    /// refuses a non-empty one), then makes the rename durable.
    public static func renameDirectory(_ source: BytePath, to destination: BytePath) throws(ShadowError) {
        try retryingEINTR("cannot rename into place", destination) {
            source.withCString { s in destination.withCString { d in rename(s, d) } }
        }
        try syncDirectory(destination.directory)
    }

    public static func setPermissions(_ path: BytePath, _ mode: UInt32) throws(ShadowError) {
        try retryingEINTR("cannot change the permissions of", path) { path.withCString { chmod($0, mode_t(mode)) } }
    }

    /// Removes a tree without following symlinks.
    /// rmdir: removes `path` only if it is an empty directory; false otherwise.
    @discardableResult
    public static func removeEmptyDirectory(_ path: BytePath) -> Bool {
        path.withCString { Glibc.rmdir($0) } == 0
    }

    public static func removeTree(_ path: BytePath) throws(ShadowError) {
        var st = Glibc.stat()
        guard path.withCString({ lstat($0, &st) }) == 0 else {
            if errno == ENOENT { return }
            throw systemError("cannot stat", path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path.appending(bytes: name)) }
            try retryingEINTR("cannot remove directory", path) { path.withCString { rmdir($0) } }
        } else {
            try retryingEINTR("cannot remove", path) { path.withCString { unlink($0) } }
        }
    }

    public static func createSymlink(_ path: BytePath, target: [UInt8]) throws(ShadowError) {
        let t = BytePath(bytes: target)
        try retryingEINTR("cannot create symlink", path) { t.withCString { tc in path.withCString { symlink(tc, $0) } } }
    }
}
