import FoundationEssentials
public import ShadowCore
import ShadowSystem
public import ShadowEngine
import ShadowCrypto

/// What the one-shot commands do with a configured folder, so the command line only parses and prints.
/// `path` is any directory inside the folder (nil: the current directory).
extension Workspace {
    /// `shadowsync sync`: one full pass. The engine is never freed: the process exits next, and freeing a
    /// large folder's index takes longer than it has left to live (git leaves its index to exit the same way).
    public func syncOnce(_ path: BytePath?, options: SyncOptions) throws(ShadowError) -> SyncReport {
        let (config, engine) = try open(path)
        let report = try engine.sync(options: options)
        ServerAlertFile.prune(config) { engine.contains($0) }
        if report.followedRewrite != nil { _ = Workspace.reclaim(config, remoteToo: false) }
        // After the pass, not before: the user's changes are pushed first. Usually two directory
        // listings; a consolidation, when due, rewrites the recent objects once (Docs/BENCHMARKS.md).
        _ = Workspace.consolidateIfDue(config)
        _ = Unmanaged.passRetained(engine)
        return report
    }

    /// `shadowsync conflicts`: the conflict copies in the folder and this machine's conflict log, read
    /// without the folder's lock (beside a running daemon).
    public func conflicts(_ path: BytePath?) throws(ShadowError) -> (copies: [PlainPath], log: [String]) {
        let engine = try observe(try config(path))
        return (engine.conflictCopies(), engine.conflictLog())
    }

    /// `shadowsync log`: decrypted history, newest first, only commits touching `item` when given;
    /// nil when the folder has no history yet.
    public func log(_ path: BytePath?, touching item: String?, limit: Int) throws(ShadowError) -> [LogEntry]? {
        let (config, history) = try openHistory(path)
        guard let head = try history.head else { return nil }
        let filter = try item.map { (p) throws(ShadowError) in try folderRelative(p, folder: config.folder) }
        return try history.log(from: head, path: filter, limit: limit)
    }

    /// `shadowsync restore`: writes `item` as it was at `revision` (History.resolveRevision) into the
    /// restore directory, outside the folder so the copy does not sync (`restoreDirectory`), or beside
    /// the original when `here`, or to `destination` (relative to the current directory); returns what
    /// was written.
    public func restore(_ path: BytePath?, item: String, at revision: String, to destination: String?,
                        here: Bool = false) throws(ShadowError) -> [String] {
        let (config, history) = try openHistory(path)
        let relative = try folderRelative(item, folder: config.folder)
        let commit = try history.resolveRevision(revision, nowMillis: Self.nowMillis)
        var target: BytePath?
        if let destination {
            target = destination.hasPrefix("/") ? BytePath(destination) : (try currentDirectory()).appending(destination)
        } else if !here {
            let copy = restoreDirectory(config).appending(try History.besideName(relative, commit: commit).description)
            try FileSystem.createDirectories(copy.directory, mode: Self.restoreDirectoryMode)
            target = copy
        }
        return try history.restore(relative, at: commit.hex, plainRoot: config.folder, to: target)
    }

    /// Where `restore` writes by default: `$XDG_DATA_HOME/shadowsync/restored/<config name>/`, outside the
    /// synced folder, so a restored copy stays on this machine until it is moved into the folder.
    public func restoreDirectory(_ config: FolderConfig) -> BytePath {
        registry.directories.data.appending("restored").appending(config.name)
    }

    /// Restored plaintext is for this user only.
    static let restoreDirectoryMode: UInt32 = 0o700

    static var nowMillis: UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    /// `shadowsync show`: `item` as it was at `revision` (decrypted and authenticated).
    public func show(_ path: BytePath?, item: String, at revision: String) throws(ShadowError) -> OldVersion {
        let (config, history) = try openHistory(path)
        let relative = try folderRelative(item, folder: config.folder)
        return try history.version(of: relative, at: try history.resolveRevision(revision, nowMillis: Self.nowMillis))
    }

    /// `shadowsync diff`: a unified diff from `item` at `revision` (default: the last synced version) to
    /// the file in the folder now; empty when they are equal.
    public func diff(_ path: BytePath?, item: String, at revision: String?) throws(ShadowError) -> String {
        let (config, history) = try openHistory(path)
        let relative = try folderRelative(item, folder: config.folder)
        let commit = try history.resolveRevision(revision ?? "HEAD", nowMillis: Self.nowMillis)
        func bytes(_ v: OldVersion) throws(ShadowError) -> [UInt8] {
            switch v {
            case .file(let b): return b
            case .symlink(let target): return Array(("-> " + target + "\n").utf8)
            case .directory: throw ShadowError(.invalidArgument, "\(relative) is a directory", advice: "diff compares one file; see 'shadowsync log \(relative)'")
            }
        }
        var old: [UInt8] = [], oldName = "/dev/null"
        do throws(ShadowError) {
            old = try bytes(try history.version(of: relative, at: commit))
            oldName = "a/\(relative)@\(commit.short)"
        } catch where error.code == .notFound {}
        let file = config.folder.appending(relative.description)
        var now: [UInt8] = [], newName = "/dev/null"
        if let entry = try PlainFolder(root: config.folder).entry(relative) {
            switch entry.kind {
            case .file: now = try FileSystem.readFile(file, limit: Int.max)
            case .symlink(let target): now = Array("-> ".utf8) + target + [UInt8(ascii: "\n")]
            case .directory: throw ShadowError(.invalidArgument, "\(relative) is a directory", advice: "diff compares one file")
            case .special: throw ShadowError(.invalidArgument, "\(relative) is a fifo, socket or device", advice: "diff compares one file")
            }
            newName = "b/\(relative)"
        }
        if oldName == "/dev/null" && newName == "/dev/null" {
            throw ShadowError(.notFound, "\(relative) is neither in the folder nor at \(commit.short)", advice: "see 'shadowsync log \(relative)'")
        }
        return TextDiff.unified(old, now, oldName: oldName, newName: newName)
    }

    /// `shadowsync fsck`: every signature verified and every file of the head decrypted; nil when the
    /// folder has no history yet.
    public func fsck(_ path: BytePath?) throws(ShadowError) -> (head: ObjectID, report: FsckReport)? {
        let (_, history) = try openHistory(path)
        guard let head = try history.head else { return nil }
        return (head, try history.fsck(head: head))
    }

    /// `shadowsync key export`: the folder's capability string, attenuated when asked (a secret unless
    /// verify-only).
    public func exportCapability(_ path: BytePath?, readOnly: Bool, verifyOnly: Bool) throws(ShadowError) -> String {
        let keys = try folderKeys(path)
        if !readOnly && !verifyOnly && keys.level != .readWrite && keys.device != nil {
            throw ShadowError(.insufficientCapability, "this device holds no vault key (it joined by invite or with a read-only key), so it has no read-write key to export",
                              advice: "to add a machine, run 'shadowsync device invite' here (read-write devices) and join with the invite; --read-only and --verify-only still export")
        }
        let level: CapabilityLevel = verifyOnly ? .verifyOnly : readOnly ? .readOnly : keys.level
        // A read key of the newest key epoch this machine reaches: through the epoch chain it opens every earlier one.
        let reaching = level == .readOnly ? try openHistory(path).1.currentKeys : keys
        return CapabilityText.encode(try reaching.attenuated(to: level))
    }

    /// `shadowsync key export --recovery`: the vault key (the read-write capability), which only the
    /// machine that created the vault, or one that joined with that key, holds.
    public func exportRecoveryKey(_ path: BytePath?) throws(ShadowError) -> String {
        let keys = try folderKeys(path)
        guard keys.level == .readWrite else {
            throw ShadowError(.insufficientCapability, "this device holds no vault key (it joined by invite or with a read-only key), so it has no recovery key to export",
                              advice: "export it on the machine that ran 'shadowsync init' (or one that joined with its read-write key)")
        }
        return CapabilityText.encode(keys)
    }

    /// `shadowsync selfcheck`: the vault format end to end on this machine.
    public static func selfCheck() -> [SelfCheck.Result] { SelfCheck.run() }
}
