public import ShadowCore
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
        // After the pass, not before: the user's changes are pushed first. Usually two directory
        // listings; a consolidation, when due, rewrites every object once (Docs/BENCHMARKS.md).
        _ = Workspace.consolidateIfDue(config)
        _ = Unmanaged.passRetained(engine)
        return report
    }

    /// `shadowsync status` without a daemon: what is pending and what was verified.
    public func folderStatus(_ path: BytePath?) throws(ShadowError) -> (FolderConfig, FolderStatus) {
        let (config, engine) = try open(path)
        return (config, try engine.status())
    }

    /// `shadowsync conflicts`: the conflict copies in the folder and this machine's conflict log.
    public func conflicts(_ path: BytePath?) throws(ShadowError) -> (copies: [PlainPath], log: [String]) {
        let (_, engine) = try open(path)
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

    /// `shadowsync restore`: writes `item` as it was at `revision` beside the original, or to `destination`
    /// (relative to the current directory); returns what was written.
    public func restore(_ path: BytePath?, item: String, at revision: String, to destination: String?) throws(ShadowError) -> [String] {
        let (config, history) = try openHistory(path)
        let relative = try folderRelative(item, folder: config.folder)
        var target: BytePath?
        if let destination { target = destination.hasPrefix("/") ? BytePath(destination) : (try currentDirectory()).appending(destination) }
        return try history.restore(relative, at: revision, plainRoot: config.folder, to: target)
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
        let level: CapabilityLevel = verifyOnly ? .verifyOnly : readOnly ? .readOnly : keys.level
        return CapabilityText.encode(try keys.attenuated(to: level))
    }

    /// `shadowsync selfcheck`: the vault format end to end on this machine.
    public static func selfCheck() -> [SelfCheck.Result] { SelfCheck.run() }
}
