import Dispatch
public import ShadowCore
public import ShadowEngine
import ShadowCrypto
import ShadowGit
import ShadowSystem
import Synchronization

/// What the web UI (`shadowsync ui`) shows and does, for every folder configured on this machine: state
/// from each folder's daemon over its control socket, conflict copies, history and ignore rules from the
/// folder's own files. Every change it makes to a folder is a compare-and-swap against what the page
/// showed (`FileSide.stamp`), so a file edited meanwhile is never overwritten or removed.
public final class FolderBrowser: Sendable {
    let workspace: Workspace
    /// Unlocked once per folder: Argon2id takes a second or more, and the daemon holds the same keys.
    private let keys = Mutex<[String: VaultKeys]>([:])
    /// The last look at each folder without a daemon: when, and what it found.
    private let stopped = Mutex<[String: (Double, Stopped)]>([:])
    static let scanReuseSeconds = 15.0
    /// How long a daemon may take to answer a status request before the page says so.
    static let statusTimeoutMs = 2000

    /// Larger files are not shown as text (the page diffs lines in the browser).
    public static let textLimitBytes = 1 << 20
    /// Bytes compared or copied at a time: a file of any size costs this much memory twice.
    static let chunkBytes = 1 << 16
    /// How many commits a file's history shows.
    public static let historyLimit = 50

    /// Never asks at the terminal: a passphrase-protected key file needs `passphrase-file`.
    public init() throws(ShadowError) {
        var workspace = try Workspace()
        workspace.asksPassphrase = false
        self.workspace = workspace
    }

    // MARK: Folders

    /// Every configured folder with its state; one that cannot be read is listed with the reason.
    public func folders() throws(ShadowError) -> [FolderSummary] {
        let configs = try workspace.registry.all()
        // Side by side: a daemon that is slow to answer delays only its own folder.
        let results = Mutex([FolderSummary?](repeating: nil, count: configs.count))
        DispatchQueue.concurrentPerform(iterations: configs.count) { i in
            let s = summary(configs[i])
            results.withLock { $0[i] = s }
        }
        return results.withLock { $0.compactMap { $0 } }
    }

    func config(_ name: String) throws(ShadowError) -> FolderConfig {
        guard let config = try workspace.registry.all().first(where: { $0.name == name }) else {
            throw ShadowError(.notFound, "no folder named \(name) on this machine", advice: "reload the page: the folder list changed")
        }
        return config
    }

    func summary(_ config: FolderConfig) -> FolderSummary {
        var s = FolderSummary(name: config.name, folder: config.folder.description, remote: Self.withoutPassword(config.remote))
        let answer = Result { () throws(ShadowError) in
            try ControlClient.request(Daemon.socketPath(config), ControlRequest.status.rawValue, timeoutMs: Self.statusTimeoutMs)
        }
        if case .failure(let error) = answer, error.code != .notFound {
            // Someone listens on the socket but did not answer: a daemon busy stopping, or stuck.
            s.running = true
            s.state = "not answering"
            s.problems.append(Problem(message: "the folder's daemon did not answer within \(Self.statusTimeoutMs / 1000) s (\(error.message))",
                                      advice: "it may be finishing a large step; if this stays, look at its log and restart it", at: nil))
            return s
        }
        if case .success(let reply) = answer, let d = DaemonStatusReply(reply: reply) {
            s.running = true
            s.state = d.state
            s.paused = d.paused
            s.head = d.head
            s.lastPush = d.lastPush
            s.lastFetch = d.lastFetch
            s.lastSync = [d.lastPush, d.lastFetch].compactMap { $0 }.max()
            s.conflicts = d.conflicts
            s.progress = d.progress
            s.pendingEvents = d.pendingEvents
            if let e = d.lastError {
                s.problems.append(Problem(message: e, advice: "the daemon tries again\(d.retryAt.map { " at \($0)" } ?? ""); 'shadowsync doctor --folder \(config.folder)' checks the set-up",
                                          at: d.lastErrorAt))
            }
            if d.degraded { s.problems.append(Problem(message: "watching is degraded: changes are found by polling", advice: d.degradedAdvice ?? "", at: nil)) }
            s.devices = d.devices
            for a in d.alerts { s.problems.append(Problem(message: a.message, advice: a.advice, at: a.since)) }
            if let x = d.xmpp, let e = x.lastError {
                s.problems.append(Problem(message: "doorbell: \(e)", advice: "other devices' changes still arrive by polling; check the xmpp.* settings", at: nil))
            }
        } else {
            s.state = "stopped"
            s.problems.append(Problem(message: "no daemon runs for this folder: nothing syncs until one does",
                                      advice: "start it with 'shadowsync run --folder \(config.folder)' (or its systemd unit)", at: nil))
            let stopped = stoppedStatus(config)
            if let r = stopped.report {
                s.head = r.head
                s.pending = r.pending
                s.conflicts = r.keyLocked ? stopped.copies : Self.presentCopies(r, folder: PlainFolder(root: config.folder))
                s.devices = r.devices
                if let problem = r.needsRepair { s.problems.append(Problem(message: problem, advice: r.needsRepairAdvice ?? "", at: nil)) }
                if let problem = r.unfinished { s.problems.append(Problem(message: problem, advice: "", at: nil)) }
                for a in r.alerts { s.problems.append(Problem(message: a.message, advice: a.advice, at: a.since)) }
            } else {
                s.conflicts = stopped.copies
            }
            if let error = stopped.error { s.problems.append(Problem(message: error.message, advice: error.advice, at: nil)) }
        }
        return s
    }

    /// What a folder without a daemon looks like: `shadowsync status`'s report (read without the lock,
    /// with the keys unlocked once), or, when its keys cannot be unlocked here, the conflict copies a scan
    /// finds. Reused for `scanReuseSeconds`: the page asks every two seconds, and a folder may hold
    /// 100,000 files.
    func stoppedStatus(_ config: FolderConfig) -> Stopped {
        let now = monotonicSeconds()
        if let (at, known) = stopped.withLock({ $0[config.name] }), now - at < Self.scanReuseSeconds { return known }
        var result = Stopped()
        do {
            let engine = try SyncEngine(location: config.location, keys: try keys(config), store: SSHSetup.store(config),
                                        ignorePermissions: config.ignorePermissions, observing: true)
            result.report = StatusReport(config: config, status: try engine.status(), daemon: nil)
        } catch {
            result.error = error
            // Without the keys, the folder's files still tell its head, devices and alerts (`key_locked`),
            // and a scan finds the conflict copies.
            if let files = try? SyncEngine.statusWithoutKey(location: config.location, store: SSHSetup.store(config)) {
                result.report = StatusReport(config: config, status: files, daemon: nil)
            }
            if let scan = try? Scanner.scan(config.folder, ignore: IgnoreRules.load(folder: config.folder)) {
                result.copies = scan.entries.map(\.path).filter { ConflictNames.isConflictCopy($0) }.sorted().map(\.description)
            }
        }
        stopped.withLock { $0[config.name] = (now, result) }
        return result
    }

    /// The report's copies are the synced ones: a copy removed since is not shown, a new one not yet
    /// synced is (from the pending changes).
    static func presentCopies(_ r: StatusReport, folder: PlainFolder) -> [String] {
        let added = r.pending.filter { $0.hasPrefix("+ ") }.map { String($0.dropFirst(2)) }
        return Set(r.conflictCopies + added).filter { text in
            guard let p = try? PlainPath(text), ConflictNames.isConflictCopy(p) else { return false }
            return (try? folder.entry(p)) != nil
        }.sorted()
    }

    struct Stopped: Sendable {
        var report: StatusReport?
        var copies: [String] = []
        var error: ShadowError?
    }

    /// Forgets a folder's last scan once the UI changed it.
    func changed(_ config: FolderConfig) { _ = stopped.withLock { $0.removeValue(forKey: config.name) } }

    /// A remote address as shown: a password in a URL's user part is never shown.
    static func withoutPassword(_ remote: String) -> String {
        guard let scheme = remote.firstRange(of: "://"), let at = remote[scheme.upperBound...].firstIndex(of: "@") else { return remote }
        let user = remote[scheme.upperBound..<at]
        guard let colon = user.firstIndex(of: ":") else { return remote }
        return String(remote[..<colon]) + ":***" + String(remote[at...])
    }

    /// Pause, resume or sync a folder now, through its daemon.
    public func control(_ name: String, _ request: ControlRequest) throws(ShadowError) -> String {
        let config = try config(name)
        do {
            // The daemon answers with a word or a ticket ({"pass": N}); the page says what happened.
            _ = try ControlClient.request(Daemon.socketPath(config), request.rawValue)
            switch request {
            case .pause: return "\(config.folder) is paused: changes wait until it resumes"
            case .resume: return "\(config.folder) syncs again"
            default: return "\(config.folder): a sync pass runs now"
            }
        } catch {
            throw ShadowError(.notFound, "no daemon runs for \(config.folder), so there is nothing to \(request.rawValue)",
                              advice: "start it with 'shadowsync run --folder \(config.folder)'")
        }
    }

    // MARK: Conflicts

    /// Both sides of a conflict copy: the copy and the file it was made beside.
    public func conflict(_ name: String, copy: String) throws(ShadowError) -> ConflictView {
        let config = try config(name)
        let copyPath = try Self.conflictCopy(copy)
        let folder = PlainFolder(root: config.folder)
        let original = ConflictNames.original(of: copyPath)
        return ConflictView(copy: try side(folder, copyPath), original: try original.map { (p) throws(ShadowError) in try side(folder, p) })
    }

    /// Resolves a conflict copy. `copyStamp` and `originalStamp` are what the page showed: if either file
    /// changed since, nothing happens.
    public func resolve(_ name: String, copy: String, choice: ConflictChoice, copyStamp: String, originalStamp: String?,
                        newName: String?) throws(ShadowError) -> String {
        let config = try config(name)
        let copyPath = try Self.conflictCopy(copy)
        let folder = PlainFolder(root: config.folder)
        let expected = try Self.stat(copyStamp)
        defer { changed(config) }
        switch choice {
        case .keepOriginal:
            guard let now = try folder.entry(copyPath), now.stat == expected else {
                throw ShadowError(.sourceChanged, "\(copyPath) changed since it was shown; it is kept", advice: "look at it again and choose once more")
            }
            try requireSynced(config, copyPath, expected, "removed")
            try folder.remove(copyPath, expected: expected)
            return "removed \(copyPath); the version stays in the history"
        case .keepCopy:
            guard let original = ConflictNames.original(of: copyPath) else {
                throw ShadowError(.invalidArgument, "cannot tell which file \(copyPath) is a copy of", advice: "rename it by hand")
            }
            let placement: Placement
            if let originalStamp {
                let replaced = try Self.stat(originalStamp)
                try requireSynced(config, original, replaced, "replaced")
                placement = .replace(expected: replaced)
            } else {
                placement = .create
            }
            try folder.move(copyPath, expected: expected, to: original, placement: placement)
            return "\(original) now holds the copy's version; the one it replaced stays in the history"
        case .keepBoth:
            guard let newName, !newName.isEmpty, !newName.contains("/"), newName != ".", newName != ".." else {
                throw ShadowError(.invalidArgument, "give the copy a new name (one file name, no '/')")
            }
            let target: PlainPath
            if let parent = copyPath.parent { target = try parent.appending(Array(newName.utf8)) } else { target = try PlainPath(newName) }
            guard !ConflictNames.isConflictCopy(target) else {
                throw ShadowError(.invalidArgument, "the new name still marks a conflict copy", advice: "choose a name without '\(ConflictNames.marker)'")
            }
            try folder.move(copyPath, expected: expected, to: target, placement: .create)
            return "renamed \(copyPath) to \(target)"
        }
    }

    /// Refuses unless `path` is still `expected` and holds what the head commit holds, so removing or
    /// replacing it loses no version: edits not synced yet exist nowhere else.
    func requireSynced(_ config: FolderConfig, _ path: PlainPath, _ expected: StatKey, _ action: String) throws(ShadowError) {
        let folder = PlainFolder(root: config.folder)
        guard let now = try folder.entry(path), now.stat == expected else {
            throw ShadowError(.sourceChanged, "\(path) changed since it was shown; nothing was \(action)", advice: "look at it again and choose once more")
        }
        let history = try history(config)
        // A file is compared with its synced version as both stream by; only the other kinds are read whole.
        func syncedVersion() throws(ShadowError) -> OldVersion? {
            do {
                return try history.head.map { (h) throws(ShadowError) in try history.version(of: path, at: h) }
            } catch where error.code == .notFound {
                return nil
            }
        }
        let same: Bool
        switch now.kind {
        case .file:
            same = try history.head.map { (h) throws(ShadowError) in
                try isSynced(config, path, at: h.hex, expected: expected)
            } ?? false
        case .symlink(let target): same = try syncedVersion().map { if case .symlink(let old) = $0 { Array(old.utf8) == target } else { false } } ?? false
        case .directory: same = try syncedVersion() == .directory
        case .special: same = false
        }
        guard same else {
            throw ShadowError(.sourceChanged, "\(path) has changes that are not synced yet; nothing was \(action)",
                              advice: "wait until the folder is synced, or choose keep-both so both versions stay")
        }
    }

    /// A path the client names as a conflict copy: only those may be resolved (removed or moved).
    static func conflictCopy(_ text: String) throws(ShadowError) -> PlainPath {
        let path = try PlainPath(text)
        guard ConflictNames.isConflictCopy(path) else {
            throw ShadowError(.invalidArgument, "\(path) is not a conflict copy", advice: "pick one from the folder's conflict list")
        }
        return path
    }

    func side(_ folder: PlainFolder, _ path: PlainPath) throws(ShadowError) -> FileSide {
        guard let entry = try folder.entry(path) else { return FileSide(path: path.description, kind: "missing") }
        var side = FileSide(path: path.description, kind: "file", size: Int(entry.stat.size), stamp: Self.stamp(entry.stat))
        switch entry.kind {
        case .file:
            guard entry.stat.size <= UInt64(Self.textLimitBytes) else { side.note = "too large to show"; return side }
            let (bytes, stat) = try FileSystem.readFileAndStat(folder.root.appending(path), limit: Self.textLimitBytes)
            guard stat == entry.stat else { throw ShadowError(.sourceChanged, "\(path) changed while it was read", advice: "reload") }
            Self.fill(&side, bytes)
        case .symlink(let target):
            side.kind = "symlink"
            side.text = "→ " + PlainPath.render(target)
        case .directory: side.kind = "directory"
        case .special: side.kind = "special"
        }
        return side
    }

    static func fill(_ side: inout FileSide, _ bytes: [UInt8]) {
        if !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) { side.text = text } else { side.note = "binary" }
    }

    /// A file's identity as the page echoes it back: size, times, inode, device.
    static func stamp(_ s: StatKey) -> String { "\(s.size):\(s.mtimeNs):\(s.ctimeNs):\(s.inode):\(s.device)" }

    static func stat(_ stamp: String) throws(ShadowError) -> StatKey {
        let parts = stamp.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, let size = UInt64(parts[0]), let m = Int64(parts[1]), let c = Int64(parts[2]),
              let inode = UInt64(parts[3]), let device = UInt64(parts[4]) else {
            throw ShadowError(.invalidArgument, "malformed file stamp '\(stamp)'", advice: "reload the page")
        }
        return StatKey(size: size, mtimeNs: m, ctimeNs: c, inode: inode, device: device)
    }

    /// A file of the folder as it is now.
    public func current(_ name: String, path: String) throws(ShadowError) -> FileSide {
        let config = try config(name)
        return try side(PlainFolder(root: config.folder), try PlainPath(path))
    }

    // MARK: History

    func keys(_ config: FolderConfig) throws(ShadowError) -> VaultKeys {
        if let cached = keys.withLock({ $0[config.name] }) { return cached }
        let unlocked = try workspace.keys(of: config)
        keys.withLock { $0[config.name] = unlocked }
        return unlocked
    }

    func history(_ config: FolderConfig) throws(ShadowError) -> History {
        History(keys: try keys(config), store: try SSHSetup.repository(config), location: config.location)
    }

    /// The commits that touched `path`, newest first.
    public func history(_ name: String, path: String) throws(ShadowError) -> [LogEntry] {
        let config = try config(name)
        let history = try history(config)
        guard let head = try history.head else { return [] }
        return try history.log(from: head, path: try PlainPath(path), limit: Self.historyLimit)
    }

    /// `path` as it was at `commit` (a missing file when that commit deleted it).
    public func version(_ name: String, path: String, at commit: String) throws(ShadowError) -> FileSide {
        let config = try config(name)
        let plain = try PlainPath(path)
        guard let (bytes, _) = try versionBytes(config, plain, commit, limit: Self.textLimitBytes) else {
            return FileSide(path: path, kind: "missing")
        }
        var side = FileSide(path: path, kind: "file", size: bytes.count)
        Self.fill(&side, bytes)
        return side
    }

    /// True when the file at `path` is still `expected` and holds the bytes it held at `commit`, compared
    /// a chunk at a time (a file of gigabytes costs two chunks of memory).
    func isSynced(_ config: FolderConfig, _ path: PlainPath, at commit: String, expected: StatKey) throws(ShadowError) -> Bool {
        let current = try FileSource(config.folder.appending(path))
        guard try current.currentStat() == expected else { return false }
        let same = try withVersionFile(config, path, commit) { (file, _) throws(ShadowError) -> Bool in
            guard let synced = try? FileSource(file) else { return false }  // not a file at that commit
            return try Self.sameBytes(current, synced)
        } ?? false
        let after = try current.currentStat()
        return same && after == expected
    }

    /// Runs `body` with the file as it was at `commit`, decrypted into a private directory in the
    /// folder's state directory (never /tmp) and removed afterwards; nil when the commit has no such path.
    func withVersionFile<T>(_ config: FolderConfig, _ path: PlainPath, _ commit: String,
                            _ body: (BytePath, UInt32) throws(ShadowError) -> T) throws(ShadowError) -> T? {
        let history = try history(config)
        let resolved = try SSHSetup.repository(config).resolve(commit)
        let scratch = try FileSystem.makeTemporaryDirectory(beside: config.state.appending("version"), tag: "ui")
        defer { try? FileSystem.removeTree(scratch) }
        let target = scratch.appending("v")
        do {
            _ = try history.restore(path, at: resolved.hex, plainRoot: config.folder, to: target)
        } catch where error.code == .notFound {
            return nil  // the commit exists (resolved above) and has no such path
        }
        guard FileSystem.statKey(target) != nil, let mode = try? FileSystem.permissions(of: target) else { return nil }
        return try body(target, mode)
    }

    /// Whether two sources hold the same bytes, read `chunkBytes` at a time.
    static func sameBytes(_ a: any ByteSource, _ b: any ByteSource) throws(ShadowError) -> Bool {
        guard a.length == b.length else { return false }
        var left = [UInt8](repeating: 0, count: chunkBytes), right = [UInt8](repeating: 0, count: chunkBytes)
        var offset: UInt64 = 0
        while true {
            let n = try read(a, at: offset, into: &left), m = try read(b, at: offset, into: &right)
            guard n == m else { return false }
            if n == 0 { return offset == a.length }
            guard left[0..<n] == right[0..<n] else { return false }
            offset += UInt64(n)
        }
    }

    /// Copies a source into a sink, `chunkBytes` at a time; `.sourceChanged` if its length moved.
    static func copy(_ source: any ByteSource, to sink: any ByteSink) throws(ShadowError) {
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var offset: UInt64 = 0
        while true {
            let n = try read(source, at: offset, into: &buffer)
            if n == 0 { break }
            try write(Array(buffer[0..<n]), to: sink)
            offset += UInt64(n)
        }
        guard offset == source.length else { throw ShadowError(.sourceChanged, "a file changed while it was copied", advice: "try again") }
    }

    /// Fills `buffer` from `offset` unless the end comes first; the count read.
    static func read(_ source: any ByteSource, at offset: UInt64, into buffer: inout [UInt8]) throws(ShadowError) -> Int {
        var result: Result<Int, ShadowError> = .success(0)
        buffer.withUnsafeMutableBytes { b in result = Result { () throws(ShadowError) -> Int in try source.readFully(at: offset, into: b) } }
        return try result.get()
    }

    /// The bytes and mode of a file at a commit, decrypted through a private directory in the folder's
    /// state directory (never /tmp); nil when the commit has no file there.
    func versionBytes(_ config: FolderConfig, _ path: PlainPath, _ commit: String, limit: Int) throws(ShadowError) -> (bytes: [UInt8], mode: UInt32)? {
        try withVersionFile(config, path, commit) { (file, mode) throws(ShadowError) in
            guard let stat = FileSystem.statKey(file), stat.size <= UInt64(limit) else {
                throw ShadowError(.invalidArgument, "\(path) at \(commit.prefix(12)) is too large for the page",
                                  advice: "use 'shadowsync restore \(path) --at \(commit.prefix(12))'")
            }
            return (try FileSystem.readFile(file, limit: limit), mode)
        }
    }

    /// Puts `path` back as it was at `commit`. The file there now must be what the page showed
    /// (`currentStamp`, nil: no file) and already synced, so the version it replaces stays in the history.
    public func restore(_ name: String, path: String, at commit: String, currentStamp: String?) throws(ShadowError) -> String {
        let config = try config(name)
        let plain = try PlainPath(path)
        let folder = PlainFolder(root: config.folder)
        let placement: Placement
        if let currentStamp {
            let expected = try Self.stat(currentStamp)
            guard let now = try folder.entry(plain), now.stat == expected, case .file = now.kind else {
                throw ShadowError(.sourceChanged, "\(plain) changed since it was shown; nothing was restored", advice: "reload and try again")
            }
            let synced = try history(config).head.map { (h) throws(ShadowError) in try isSynced(config, plain, at: h.hex, expected: expected) } ?? false
            guard synced else {
                throw ShadowError(.sourceChanged, "\(plain) has changes that are not synced yet; nothing was restored",
                                  advice: "wait until the folder is synced (or save a copy of the file), then restore")
            }
            placement = .replace(expected: expected)
        } else {
            placement = .create
        }
        // The old version streams from its decrypted copy into the folder.
        let written = try withVersionFile(config, plain, commit) { (file, mode) throws(ShadowError) in
            let old = try FileSource(file)
            try folder.writeFile(plain, mode: mode & FilePermissions.mask, placement: placement) { (sink) throws(ShadowError) in
                try Self.copy(old, to: sink)
            }
        }
        guard written != nil else {
            throw ShadowError(.notFound, "\(plain) did not exist at \(commit.prefix(12))", advice: "pick a version that has the file")
        }
        return "\(plain) is back as it was at \(commit.prefix(12))"
    }

    // MARK: Ignore rules

    /// The folder's ignore files: `.shadowsyncignore` (synced) and `.shadowsyncignore.local` (this machine).
    public func ignoreRules(_ name: String) throws(ShadowError) -> [FileSide] {
        let config = try config(name)
        let folder = PlainFolder(root: config.folder)
        return try [IgnoreRules.syncedFileName, IgnoreRules.localFileName].map { (n) throws(ShadowError) in try side(folder, try PlainPath(n)) }
    }

    /// Writes one of the ignore files, if it is still what the page showed (`stamp`; nil: missing).
    public func setIgnoreRules(_ name: String, file: String, text: String, stamp: String?) throws(ShadowError) -> String {
        let config = try config(name)
        guard file == IgnoreRules.syncedFileName || file == IgnoreRules.localFileName else {
            throw ShadowError(.invalidArgument, "\(file) is not an ignore file")
        }
        let placement: Placement = try stamp.map { (s) throws(ShadowError) in .replace(expected: try Self.stat(s)) } ?? .create
        let bytes = Array(text.utf8)
        try PlainFolder(root: config.folder).writeFile(try PlainPath(file), mode: 0o644, placement: placement) { (sink) throws(ShadowError) in
            try Self.write(bytes, to: sink)
        }
        return "saved \(file); the next pass uses it"
    }
}

extension FolderBrowser {
    static func write(_ bytes: [UInt8], to sink: any ByteSink) throws(ShadowError) {
        var result: Result<Void, ShadowError> = .success(())
        bytes.withUnsafeBytes { b in result = Result { () throws(ShadowError) in try sink.write(b) } }
        try result.get()
    }
}

public enum ConflictChoice: String, Sendable {
    /// Keep the file as it is and remove the copy.
    case keepOriginal = "keep-original"
    /// Move the copy over the file.
    case keepCopy = "keep-copy"
    /// Keep both: the copy gets a name of the user's choosing.
    case keepBoth = "keep-both"
}

/// One folder as the UI lists it (`GET /api/folders`).
public struct FolderSummary: Encodable, Sendable {
    public var name: String
    public var folder: String
    public var remote: String
    /// True when the folder's daemon answered.
    public var running = false
    public var state = ""
    public var paused = false
    public var head: String?
    public var lastPush: String?
    public var lastFetch: String?
    /// The newer of the last push and the last fetch.
    public var lastSync: String?
    public var pendingEvents: Int?
    /// Without a daemon: local changes not yet committed ("+ path", "M path", "- path").
    public var pending: [String]?
    public var conflicts: [String] = []
    public var problems: [Problem] = []
    public var progress: DaemonStatusReply.Progress?
    /// When each device last pushed, newest first, as far as this machine knows.
    public var devices: [DevicePush] = []

    init(name: String, folder: String, remote: String) {
        self.name = name
        self.folder = folder
        self.remote = remote
    }

    enum CodingKeys: String, CodingKey {
        case name, folder, remote, running, state, paused, head, pending, conflicts, problems, progress, devices
        case lastPush = "last_push", lastFetch = "last_fetch", lastSync = "last_sync", pendingEvents = "pending_events"
    }
}

/// Something that needs the user, with what to do about it.
public struct Problem: Encodable, Sendable {
    public var message: String
    public var advice: String
    public var at: String?
}

/// A conflict copy and the file it was made beside.
public struct ConflictView: Encodable, Sendable {
    public var copy: FileSide
    public var original: FileSide?
}

/// One file as the page shows it: its text when it is small UTF-8, and the stamp a change must echo.
public struct FileSide: Encodable, Sendable {
    public var path: String
    /// file, symlink, directory, special or missing.
    public var kind: String
    public var size: Int?
    public var stamp: String?
    public var text: String?
    /// Why no text is shown (binary, too large).
    public var note: String?
}

extension ConflictNames {
    /// The file a conflict copy was made beside: the name without its `.sync-conflict-DATE-TIME-DEVICE[-N]`
    /// part; nil when the name does not have that shape.
    public static func original(of copy: PlainPath) -> PlainPath? {
        let name = copy.lastComponent, m = Array(marker.utf8)
        guard name.count >= m.count else { return nil }
        guard let start = (0...(name.count - m.count)).last(where: { Array(name[$0..<$0 + m.count]) == m }) else { return nil }
        // YYYYMMDD-HHMMSS-<8 hex>
        let stampLength = 8 + 1 + 6 + 1 + 8
        var end = start + m.count + stampLength
        guard end <= name.count else { return nil }
        if end < name.count, name[end] == UInt8(ascii: "-") {
            var i = end + 1
            while i < name.count, name[i] >= UInt8(ascii: "0"), name[i] <= UInt8(ascii: "9") { i += 1 }
            if i > end + 1 { end = i }
        }
        let original = Array(name[..<start]) + Array(name[end...])
        return try? copy.parent.map { (p) throws(ShadowError) in try p.appending(original) } ?? PlainPath(bytes: original)
    }
}
