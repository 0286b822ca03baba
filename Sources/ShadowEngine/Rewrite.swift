public import ShadowCore
import ShadowCrypto
import ShadowSystem

/// What a `forget` would take out of history: every path at or below the ones asked for that any
/// commit holds, and the versions (distinct contents) of its files.
public struct ForgetPlan: Sendable {
    public var paths: [PlainPath] = []
    public var versions = 0
    /// Plaintext bytes of those versions, each counted once.
    public var bytes: UInt64 = 0
    /// Commits that hold one of them, and so are re-created.
    public var commits = 0
}

/// Which commits a retention policy keeps (restic's `forget --keep-within/--keep-last`): the newest
/// `keepLast` of the main line, those made within `keepWithinMillis` of now, the head, and every commit
/// that changes the device records (the admissions and revocations history must keep in order).
public struct RetentionPolicy: Sendable {
    public var keepLast: Int?
    public var keepWithinMillis: UInt64?

    public init(keepLast: Int? = nil, keepWithinMillis: UInt64? = nil) {
        self.keepLast = keepLast
        self.keepWithinMillis = keepWithinMillis
    }
}

/// What a rewrite did or would do.
public struct RewriteReport: Sendable {
    /// The head it replaced, and the signed head that replaced it (nil: nothing to rewrite).
    public var replaced: ObjectID?
    public var head: ObjectID?
    /// Commits re-created (new tree or parents, re-signed by this device).
    public var recreated = 0
    /// Commits of the main line squashed into the next kept one (retention).
    public var squashed = 0
    /// Commits kept (retention).
    public var kept = 0
    public var forget = ForgetPlan()
}

/// Signed history rewrites (FORMAT.md §5.4): `forget` takes paths out of every commit, retention squashes
/// old commits. Each commit that changes is re-created with its sealed metadata kept and a rewrite
/// record naming the original, signed by this device; the new head is pushed over the old one, and the
/// other machines move onto it (SyncEngine.integrate).
extension SyncEngine {
    /// The paths at or below `paths` in all of history, with their versions and sizes. Changes nothing.
    public func planForget(_ paths: [PlainPath]) throws(ShadowError) -> ForgetPlan {
        guard let head = try head else { return ForgetPlan() }
        return try forgetTargets(paths, head: head).plan
    }

    /// Rewrites history without `paths` (none of them may still be in the folder's synced tree) and
    /// pushes it over the server's head, which must be this machine's. Returns what changed.
    public func forget(_ paths: [PlainPath]) throws(ShadowError) -> RewriteReport {
        let head = try requireRewritable()
        for path in paths {
            if index.entries.keys.contains(where: { $0 == path || $0.bytes.starts(with: path.bytes + [UInt8(ascii: "/")]) }) {
                throw ShadowError(.invalidArgument, "\(path) is still in the folder: forget removes only what history keeps of files no longer there",
                                  advice: "delete or move it out of the folder, run 'shadowsync sync', then forget it")
            }
        }
        let (plan, objectPaths) = try forgetTargets(paths, head: head)
        var report = RewriteReport()
        report.forget = plan
        guard !objectPaths.isEmpty else { return report }
        var mapped: [ObjectID: ObjectID] = [:]
        for id in try store.commits(from: head, excluding: nil) {
            let info = try store.commit(id)
            let parents = info.parents.map { mapped[$0] ?? $0 }
            let tree = try store.tree(info.tree, removing: objectPaths)
            if tree == info.tree && parents == info.parents {
                mapped[id] = id
                continue
            }
            mapped[id] = try ShadowCommitter.recreate(info, tree: tree, parents: parents, keys: keys, store: store)
            report.recreated += 1
        }
        guard let rewritten = mapped[head], rewritten != head else { return report }
        try publishRewrite(rewritten, replacing: head)
        report.replaced = head
        report.head = rewritten
        return report
    }

    /// The commits `policy` keeps on the main line (oldest first) and those it squashes. Changes nothing.
    public func planRetention(_ policy: RetentionPolicy, nowMillis: UInt64) throws(ShadowError) -> (kept: [ObjectID], squashed: [ObjectID]) {
        guard let head = try head else { return ([], []) }
        var line: [ObjectID] = []
        var next: ObjectID? = head
        while let id = next {
            line.append(id)
            next = try store.commit(id).parents.first
        }
        var kept = Set<ObjectID>([head])
        if let keepLast = policy.keepLast { kept.formUnion(line.prefix(max(keepLast, 1))) }
        for id in line {
            let info = try store.commit(id)
            if let within = policy.keepWithinMillis {
                let meta = try CommitMessage.parse(info.message, commit: id, keys: keys)
                if meta.wallTimeMillis + within >= nowMillis { kept.insert(id) }
            }
            let devices = try devicesTree(info.tree)
            let parentDevices = try info.parents.first.map { (p) throws(ShadowError) in try devicesTree(try store.commit(p).tree) } ?? nil
            if info.parents.isEmpty || devices != parentDevices { kept.insert(id) }
        }
        let oldestFirst = Array(line.reversed())
        let squashed = oldestFirst.filter { !kept.contains($0) } + (try sideCommits(line))
        return (oldestFirst.filter { kept.contains($0) }, squashed)
    }

    /// Applies a retention policy: the kept commits of the main line, each with the previous kept one as
    /// its only parent, their trees as they were; everything else squashed away. Pushed over the server's head.
    public func applyRetention(_ policy: RetentionPolicy, nowMillis: UInt64) throws(ShadowError) -> RewriteReport {
        let head = try requireRewritable()
        let (kept, squashed) = try planRetention(policy, nowMillis: nowMillis)
        var report = RewriteReport()
        report.kept = kept.count
        report.squashed = squashed.count
        guard !squashed.isEmpty else { return report }
        var previous: (original: ObjectID, now: ObjectID)?
        for id in kept {
            let info = try store.commit(id)
            let parents = previous.map { [$0.now] } ?? []
            if previous.map({ [$0.original] == info.parents && $0.now == $0.original }) ?? info.parents.isEmpty {
                previous = (id, id)
                continue
            }
            previous = (id, try ShadowCommitter.recreate(info, tree: info.tree, parents: parents, keys: keys, store: store))
            report.recreated += 1
        }
        guard let rewritten = previous?.now, rewritten != head else { return report }
        try publishRewrite(rewritten, replacing: head)
        report.replaced = head
        report.head = rewritten
        return report
    }

    // MARK: Helpers

    /// The head a rewrite starts from: this machine's branch, in sync with the server's. A read-only
    /// device cannot rewrite.
    private func requireRewritable() throws(ShadowError) -> ObjectID {
        guard !readOnly else {
            throw ShadowError(.insufficientCapability, "this device is read-only: only a read-write device can rewrite history",
                              advice: "run the command on a read-write device of the vault")
        }
        try checkOwnHistory()
        guard let head = try head else {
            throw ShadowError(.notFound, "the folder has no history yet: there is nothing to rewrite", advice: "run 'shadowsync sync' first")
        }
        let remote = try fetchChecked()
        guard remote == head, state.lastVerified == head else {
            throw ShadowError(.nonFastForward, "this machine's branch (\(head.short)) is not the server's (\(remote?.short ?? "empty")): a rewrite starts from history both hold",
                              advice: "run 'shadowsync sync', then the command again")
        }
        return head
    }

    /// Checks the rewritten head as every other machine will, then moves the branch and pushes it over
    /// the server's head. A push that fails puts the branch back: the rewrite is then not made at all.
    private func publishRewrite(_ rewritten: ObjectID, replacing head: ObjectID) throws(ShadowError) {
        do throws(ShadowError) {
            _ = try verifier.verify(head: rewritten, lastVerified: head, knownSequences: state.peers)
        } catch {
            throw ShadowError(error.code, "the rewritten history does not verify (\(error.message)); nothing was changed or pushed",
                              advice: "this is a bug in ShadowSync; report it with 'shadowsync log' of the folder")
        }
        try store.setReference(ShadowRefs.main, to: rewritten, expecting: head)
        // Killed here, the next sync finds the branch a rewrite of the server's head and pushes it.
        CrashPoint.reached("rewrite-ref")
        do throws(ShadowError) {
            try store.remote().push(expecting: rewritten, replacing: head)
        } catch {
            try? store.setReference(ShadowRefs.main, to: head, expecting: rewritten)
            throw error
        }
        state.lastPushed[hexString(state.deviceID)] = Clock.nowMillis()
        state.lastVerified = rewritten
        try state.save(location.stateFile)
        try store.checkout(rewritten)
        index.head = rewritten
        try index.save(location.indexFile)
    }

    /// The plan of a forget and the object paths (name, content, segment directory) to take out of every tree.
    private func forgetTargets(_ paths: [PlainPath], head: ObjectID) throws(ShadowError) -> (plan: ForgetPlan, objectPaths: [String]) {
        func matches(_ p: PlainPath) -> Bool {
            paths.contains { $0 == p || p.bytes.starts(with: $0.bytes + [UInt8(ascii: "/")]) }
        }
        var opened: [ObjectID: NameRecord] = [:]
        var found: [Locator: PlainPath] = [:]
        var versions = Set<[UInt8]>()
        var plan = ForgetPlan()
        for id in try store.commits(from: head, excluding: nil) {
            var touched = false
            for entry in try store.entries(ofTree: try store.commit(id).tree) {
                guard let (locator, role) = Locator.parse(objectPath: String(decoding: entry.path, as: UTF8.self)), role == .name else { continue }
                let record: NameRecord
                if let known = opened[entry.id] {
                    record = known
                } else {
                    record = try names.open(try store.blob(entry.id, limit: HistoryVerifier.nameRecordLimitBytes), at: locator)
                    opened[entry.id] = record
                }
                guard matches(record.path) else { continue }
                touched = true
                found[locator] = record.path
                if case .file(let length, let siv, _) = record.kind, versions.insert(Array(locator.nameObjectPath.utf8) + siv).inserted {
                    plan.versions += 1
                    plan.bytes += length
                }
            }
            if touched { plan.commits += 1 }
        }
        plan.paths = Set(found.values).sorted()
        let objectPaths = found.keys.flatMap { [$0.nameObjectPath, $0.contentObjectPath, $0.segmentDirectoryPath] }.sorted()
        return (plan, objectPaths)
    }

    /// The id of the `devices` directory of a tree (nil: none).
    private func devicesTree(_ tree: ObjectID) throws(ShadowError) -> ObjectID? {
        try store.directoryBlobs(DevicePaths.directory, ofTree: tree, limit: DevicePaths.fileLimitBytes, maximumCount: DevicePaths.maximumFiles)?.tree
    }

    /// Commits reachable only through merges' other parents: squashed by a retention, whatever their age.
    private func sideCommits(_ line: [ObjectID]) throws(ShadowError) -> [ObjectID] {
        guard let head = line.first else { return [] }
        let main = Set(line)
        return try store.commits(from: head, excluding: nil).filter { !main.contains($0) }
    }
}
