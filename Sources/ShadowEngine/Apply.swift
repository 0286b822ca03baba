import ShadowCore
import ShadowCrypto
import ShadowSystem

extension SyncEngine {
    /// Brings the plaintext folder from the index's tree to `kinds` (the tree of `target`, whose objects
    /// are in the shadow work tree). Per path, a compare-and-swap: a file is overwritten or deleted only
    /// if it still holds what was last synced; otherwise both versions are kept (DESIGN.md rule 5).
    /// Idempotent, so a run killed half way is finished by the next.
    ///
    /// `sides` names the side whose change put each incoming entry there (its conflict copy is named
    /// after it); by default the target's own metadata. Returns true when a local version was kept
    /// against an incoming one: the index then says "synced = incoming" for that path, so the caller
    /// commits the folder before it merges anything else.
    ///
    /// Ignored paths follow the tree without being written while they are absent here; an absent path
    /// that no rule covers any more is written like a new arrival.
    @discardableResult
    func applyToPlaintext(_ kinds: [PlainPath: SyncedEntry], target: ObjectID, report: inout SyncReport,
                          sides: [PlainPath: MergeSide] = [:], existing: ExistingFilePreference = .newer) throws(ShadowError) -> Bool {
        let ignore = IgnoreRules.load(folder: location.plain)
        func ignored(_ p: PlainPath) -> Bool { ignore.ignores(p, isDirectory: (kinds[p]?.kind ?? index.entries[p]?.kind) == .directory) }
        var changed: [PlainPath] = []
        for p in Set(index.entries.keys).union(kinds.keys) {
            guard let cur = index.entries[p] else { changed.append(p); continue }
            if cur.absent {
                if ignored(p) {
                    if cur.tree != kinds[p] {
                        index.entries[p] = try wanted(p, kinds[p]).map { IndexEntry($0.tree, fileID: $0.fileID, stat: nil, absent: true) }
                    }
                    continue
                }
                index.entries[p] = nil  // left out while ignored: it arrives like a new path
                if kinds[p] != nil { changed.append(p) }
            } else if cur.tree != kinds[p] {
                changed.append(p)
            }
        }
        var context = ApplyContext(taken: Set(kinds.keys), targetSide: try side(of: target), sides: sides, existing: existing)
        // Files and symlinks that go away first, then everything that arrives parents before children,
        // then directories that go away children first.
        let removals = changed.filter { kinds[$0] == nil && index.entries[$0]?.kind != .directory }.sorted()
        for p in changed { if let parent = p.parent { context.directories.insert(parent) } }
        // What was synced for the directories whose mode and time are settled last (a local chmod not
        // committed yet stays unless the incoming change changed the mode).
        var syncedDirectories: [PlainPath: IndexEntry] = [:]
        for d in context.directories.union(changed) { if let e = index.entries[d], e.kind == .directory { syncedDirectories[d] = e } }
        let arrivals = changed.filter { kinds[$0] != nil }.sorted()
        let directoryRemovals = changed.filter { kinds[$0] == nil && index.entries[$0]?.kind == .directory }.sorted(by: >)
        // A pass that fails part-way still puts back the modes of the directories it opened up.
        defer { for (d, mode) in context.lifted { _ = try? folder.setAttributes(d, permissions: mode) } }
        for (n, p) in (removals + arrivals + directoryRemovals).enumerated() {
            try openUpAncestors(of: p, context: &context)
            try reconcile(p, want: kinds[p], context: &context, report: &report)
            if n == 1 { CrashPoint.reached("apply-second") }
        }
        // Directories last, deepest first: writing their entries moved their times, which must not look
        // like a change here, and a directory opened up for the writes gets its own mode back first.
        for d in context.directories.union(context.lifted.keys).sorted(by: >) {
            if let mode = context.lifted.removeValue(forKey: d) { try restoreMode(d, mode) }
            guard context.directories.contains(d), kinds[d]?.kind == .directory, let applied = index.entries[d],
                  applied.kind == .directory, !applied.absent, let now = try folder.entry(d), now.kind == .directory else { continue }
            index.entries[d]?.stat = try settleMetadata(d, now: now, want: applied, synced: syncedDirectories[d], directoryTime: true)
        }
        index.head = target
        try index.save(location.indexFile)
        try JournalPhase.idle.save(location.journalFile)
        return context.keptBoth
    }

    /// Lets the apply write at `p` when a directory on the way shuts its owner out (a synced 0o555
    /// "read-only" directory, say): its parent gets owner read, write and search, the directories above
    /// it read and search, each remembered in `context.lifted` with the mode it had, to be put back.
    private func openUpAncestors(of p: PlainPath, context: inout ApplyContext) throws(ShadowError) {
        var chain: [PlainPath] = []
        var a = p.parent
        while let x = a { chain.append(x); a = x.parent }
        for x in chain.reversed() {
            guard context.lifted[x] == nil else { continue }
            guard let e = try folder.entry(x), e.kind == .directory else { return }  // created by the write, or in its way
            let needed = x == p.parent ? SyncEngine.ownerAccess : SyncEngine.ownerTraverse
            guard e.permissions & needed != needed else { continue }
            do throws(ShadowError) {
                try folder.setAttributes(x, permissions: e.permissions | needed, expected: e.stat)
            } catch where error.code == .sourceChanged || error.code == .notFound {
                return  // changing right now: the write finds out for itself
            }
            context.lifted[x] = e.permissions
        }
    }

    /// Puts back the mode a directory had before `openUpAncestors` opened it up, unless it is gone.
    private func restoreMode(_ d: PlainPath, _ mode: UInt32) throws(ShadowError) {
        guard let now = try folder.entry(d), now.kind == .directory else { return }
        do throws(ShadowError) {
            try folder.setAttributes(d, permissions: mode, expected: now.stat)
        } catch where error.code == .sourceChanged || error.code == .notFound {
            return
        }
    }

    private func wanted(_ path: PlainPath, _ entry: SyncedEntry?) throws(ShadowError) -> IndexEntry? {
        guard let entry else { return nil }
        if case .file = entry.kind { return IndexEntry(entry, fileID: try shadowFileID(path), stat: nil) }
        return IndexEntry(entry, fileID: .zero, stat: nil)
    }

    /// The mode an incoming version gets here: its own, unless the change did not touch the mode and this
    /// machine's mode differs (a local chmod not committed yet, or modes ignored here): that one stays.
    private func permissions(_ want: IndexEntry, synced cur: IndexEntry?, now: ScannedEntry?) -> UInt32 {
        if let now, now.kind.isFile || now.kind == .directory, now.kind.isFile == want.kind.isFile {
            if ignorePermissions { return now.permissions }
            if let cur, cur.kind.sameType(want.kind), cur.metadata.permissions == want.metadata.permissions { return now.permissions }
        }
        if ignorePermissions { return EntryMetadata.defaults(for: want.kind).permissions }
        return want.metadata.permissions
    }

    /// Gives the entry at `p` (which holds `want`'s content) `want`'s mode and time; a directory's only
    /// with `directoryTime` (after its entries are written). Returns the stat afterwards, or nil if the
    /// entry changed meanwhile (the local change stays and is committed by the next scan).
    private func settleMetadata(_ p: PlainPath, now: ScannedEntry, want: IndexEntry, synced cur: IndexEntry?,
                                directoryTime: Bool = false) throws(ShadowError) -> StatKey? {
        // A directory's mode could shut its own entries out: it comes with the time, after them.
        if want.kind == .directory && !directoryTime { return now.stat }
        var mode: UInt32?
        if case .symlink = want.kind {} else {
            let m = permissions(want, synced: cur, now: now)
            if m != now.permissions && !ignorePermissions { mode = m }
        }
        var time: FileTime?
        if now.modified != want.metadata.modified { time = want.metadata.modified }
        guard mode != nil || time != nil else { return now.stat }
        do throws(ShadowError) {
            return try folder.setAttributes(p, permissions: mode, modified: time, expected: want.kind == .directory ? nil : now.stat)
        } catch where error.code == .sourceChanged || error.code == .notFound {
            return nil
        }
    }

    private func reconcile(_ p: PlainPath, want entry: SyncedEntry?, context: inout ApplyContext,
                           report: inout SyncReport) throws(ShadowError) {
        let cur = index.entries[p]
        let want = try wanted(p, entry)
        let now = try folder.entry(p)
        if try plainMatches(now, want) {
            // Already there (a previous run got this far, the same edit was made here, or only the mode
            // or time changed).
            if let want, let now {
                index.entries[p] = IndexEntry(want.tree, fileID: want.fileID, stat: try settleMetadata(p, now: now, want: want, synced: cur))
                if want.kind == .directory { context.directories.insert(p) }
            } else {
                index.entries[p] = nil
            }
            return
        }
        guard try plainMatches(now, cur) else {
            if cur == nil, let now, let want, try replaceOlderLocalFile(p, now: now, want: want, context: &context, report: &report) { return }
            try keepBoth(p, want: want, context: &context, report: &report)
            return
        }
        do throws(ShadowError) {
            switch want?.kind {
            case nil:
                if cur?.kind == .directory {
                    if !(try folder.removeDirectoryIfEmpty(p)) {
                        report.conflicts.append(ConflictRecord(path: p, copy: nil, reason: "deleted on another device, but holds files not synced yet: kept"))
                    }
                } else if let now {
                    try folder.remove(p, expected: now.stat)
                }
                index.entries[p] = nil
                report.applied.append("- \(p)")
            case .directory?:
                // The synced file or symlink there is in the target as a conflict copy (a directory beats both).
                if let now { try folder.remove(p, expected: now.stat) }
                index.entries[p] = IndexEntry(want!.tree, fileID: .zero, stat: try write(want!, from: p, at: p, placement: .create, mode: permissions(want!, synced: cur, now: nil)))
                context.directories.insert(p)
                report.applied.append("+ \(p)/")
            case .file?, .symlink?:
                let placement = try clearForReplacement(p, now: now)
                let mode = permissions(want!, synced: cur, now: now)
                index.entries[p] = IndexEntry(want!.tree, fileID: want!.fileID, stat: try write(want!, from: p, at: p, placement: placement, mode: mode))
                report.applied.append("\(cur == nil ? "+" : "M") \(p)")
            }
        } catch where error.code == .alreadyExists || error.code == .sourceChanged {
            // The user changed the path (or made a parent of it something else) while we were writing:
            // keep theirs, the incoming one beside it.
            try keepBoth(p, want: want, context: &context, report: &report)
        }
    }

    /// Writes the incoming version of `source` (a file's content object in the shadow tree, or a symlink)
    /// at `path`; returns the stat of what landed.
    /// A file gets its final mode and time before it is placed; a directory its mode (its time comes
    /// once its entries are written).
    private func write(_ want: IndexEntry, from source: PlainPath, at path: PlainPath, placement: Placement,
                       mode: UInt32) throws(ShadowError) -> StatKey {
        switch want.kind {
        case .file(_, let siv, _):
            let reader = ShadowTreeContent(shadow: location.shadow, content: content)
            let locator = names.locator(for: source)
            return try folder.writeFile(path, mode: mode, modified: want.metadata.modified, placement: placement) { (sink) throws(ShadowError) in
                _ = try reader.decrypt(locator, expectedSIV: siv, to: sink)
            }.0
        case .symlink(let target):
            return try folder.writeSymlink(path, target: target, modified: want.metadata.modified, placement: placement)
        case .directory:
            // Owner-writable while its entries arrive; the final mode comes with its time, once they are written.
            return try folder.createDirectory(path, permissions: mode | SyncEngine.ownerAccess)
        }
    }

    /// Where a new version may go: over the synced file (compare-and-swap on its stat), or, when a
    /// directory of the old tree is in the way, only once that directory is empty.
    @discardableResult
    private func clearForReplacement(_ p: PlainPath, now: ScannedEntry?) throws(ShadowError) -> Placement {
        guard let now else { return .create }
        if now.kind == .directory {
            guard try folder.removeDirectoryIfEmpty(p) else {
                throw ShadowError(.alreadyExists, "\(p) is a directory that still holds files")
            }
            return .create
        }
        return .replace(expected: now.stat)
    }

    /// The plaintext at `p` is neither what was synced nor what arrives: keep it, and put the incoming
    /// version beside it under a conflict name (below a conflict copy of the nearest parent that is no
    /// longer a directory here, if there is one). Never returns without the incoming version on disk:
    /// a copy that cannot be written fails the pass (retryable), leaving the index as it was.
    private func keepBoth(_ p: PlainPath, want: IndexEntry?, context: inout ApplyContext,
                          report: inout SyncReport) throws(ShadowError) {
        guard let want else {
            index.entries[p] = nil  // modify beats delete: the local file is committed again as new
            report.conflicts.append(ConflictRecord(path: p, copy: nil, reason: "changed here while another device deleted it: kept"))
            return
        }
        // Named after the device and time of the version that moves aside (the head commit's, for a
        // record that names no device).
        let side = ConflictNames.side(of: want.metadata, else: context.side(p))
        let copy: PlainPath
        let reason: String
        if let blocked = try blockedAncestor(of: p) {
            // A parent became a file or symlink here: the incoming entry goes below that parent's copy.
            let root: PlainPath
            if let known = context.relocated[blocked] {
                root = known
            } else {
                root = try placeCopy(of: blocked, IndexEntry(kind: .directory, fileID: .zero, stat: nil), from: blocked,
                                     side: context.side(blocked), context: context)
                context.relocated[blocked] = root
            }
            let below = try PlainPath(bytes: root.bytes + p.bytes.dropFirst(blocked.bytes.count))
            copy = try placeCopy(of: below, want, from: p, side: side, context: context, exactFirst: true)
            reason = "\(blocked) is no longer a directory here while a new version arrived below it"
        } else if want.kind == .directory {
            // A file or symlink took a directory's place here: the directory's incoming entries go below its copy.
            if let known = context.relocated[p] {
                copy = known
            } else {
                copy = try placeCopy(of: p, want, from: p, side: side, context: context)
                context.relocated[p] = copy
            }
            reason = "a file or symlink here while a directory arrived"
        } else {
            copy = try placeCopy(of: p, want, from: p, side: side, context: context)
            reason = "changed here while a new version arrived"
        }
        if case .file = want.kind { copyLineage[copy] = want.fileID }
        if let parent = copy.parent { context.directories.insert(parent) }
        // The index now says "synced = incoming" with an unknown stat, so the local version is hashed,
        // found different and committed over it on the next scan; the incoming one lives on in the copy.
        // A directory is left out: whatever is at its path here is committed as new.
        index.entries[p] = want.kind == .directory ? nil : want
        context.keptBoth = true
        report.conflicts.append(ConflictRecord(path: p, copy: copy, reason: reason))
    }

    /// A file here that was never synced meets a different incoming file: if the local one is older (or
    /// the caller prefers the remote), it moves to a conflict copy named after this device and its own
    /// time, and the incoming one takes the path. False when the local file stays (then `keepBoth`).
    private func replaceOlderLocalFile(_ p: PlainPath, now: ScannedEntry, want: IndexEntry, context: inout ApplyContext,
                                       report: inout SyncReport) throws(ShadowError) -> Bool {
        guard now.kind.isFile, want.kind.isFile, context.existing != .local else { return false }
        let local = SyncedEntry(.file(length: now.stat.size, siv: [], executable: now.permissions & FilePermissions.userExecute != 0),
                                EntryMetadata(permissions: now.permissions, modified: now.modified, modifiedBy: state.deviceID))
        if context.existing == .newer && !want.tree.isNewer(than: local, tie: false) { return false }
        let side = MergeSide(deviceID: state.deviceID, wallTimeMillis: UInt64(max(0, now.modified.totalNanoseconds ?? 0) / 1_000_000),
                             commit: context.targetSide.commit)
        var attempt = 1
        var copy: PlainPath?
        while copy == nil && attempt <= SyncEngine.maximumCopyNames {
            defer { attempt += 1 }
            guard let name = ConflictNames.candidate(for: p, side: side, attempt: attempt),
                  !context.taken.contains(name), index.entries[name] == nil, try folder.entry(name) == nil else { continue }
            do throws(ShadowError) {
                let source = try FileSource(location.plain.appending(p))
                try folder.writeFile(name, mode: now.permissions, modified: now.modified, placement: .create) { (sink) throws(ShadowError) in
                    try copyBytes(source, to: sink)
                    guard try source.currentStat() == now.stat else { throw ShadowError(.sourceChanged, "\(p) changed while it was copied") }
                }
                copy = name
            } catch where error.code == .alreadyExists {
                continue
            } catch where error.code == .sourceChanged || error.code == .notFound {
                return false  // changing right now: it is the newer one after all
            }
        }
        guard let copy else { return false }
        do throws(ShadowError) {
            let stat = try write(want, from: p, at: p, placement: .replace(expected: now.stat), mode: permissions(want, synced: nil, now: nil))
            index.entries[p] = IndexEntry(want.tree, fileID: want.fileID, stat: stat)
        } catch where error.code == .sourceChanged || error.code == .alreadyExists {
            // Changed since the copy was taken: the copy stays (an earlier state of it) and the local file keeps the path.
            return false
        }
        if let parent = copy.parent { context.directories.insert(parent) }
        context.keptBoth = true
        report.conflicts.append(ConflictRecord(path: p, copy: copy, reason: "an older version was here: the newer one takes the path"))
        return true
    }

    /// Writes the incoming `want` (objects of `source`) under the first free conflict name of `path`
    /// (or at `path` itself first, with `exactFirst`). A name is free if neither the target tree nor the
    /// index holds it and nothing is there in the folder; one that already holds exactly this version (a
    /// run killed after writing it) is reused. Names taken while writing are skipped, never given up on.
    private func placeCopy(of path: PlainPath, _ want: IndexEntry, from source: PlainPath, side: MergeSide,
                           context: ApplyContext, exactFirst: Bool = false) throws(ShadowError) -> PlainPath {
        var attempt = exactFirst ? 0 : 1
        while attempt <= SyncEngine.maximumCopyNames {
            defer { attempt += 1 }
            guard let name = attempt == 0 ? path : ConflictNames.candidate(for: path, side: side, attempt: attempt) else { continue }
            if context.taken.contains(name) || index.entries[name] != nil { continue }
            if let there = try folder.entry(name) {
                if try plainMatches(there, want) { return name }
                continue
            }
            do throws(ShadowError) {
                _ = try write(want, from: source, at: name, placement: .create, mode: permissions(want, synced: nil, now: nil))
                return name
            } catch where error.code == .alreadyExists {
                continue  // appeared since the look just above
            }
        }
        throw ShadowError(.alreadyExists, "no free conflict name for \(path) after \(SyncEngine.maximumCopyNames) tries; nothing was changed",
                          advice: "remove old conflict copies beside it, then sync again")
    }

    /// The nearest ancestor of `p` that is not a directory in the folder (a local change the index does
    /// not know yet), or nil.
    private func blockedAncestor(of p: PlainPath) throws(ShadowError) -> PlainPath? {
        var chain: [PlainPath] = []
        var a = p.parent
        while let x = a { chain.append(x); a = x.parent }
        for x in chain.reversed() {
            guard let e = try folder.entry(x) else { return nil }  // missing: the write creates it
            if e.kind != .directory { return x }
        }
        return nil
    }

    /// Whether the plaintext entry `now` holds exactly what `expected` describes. Trusts an unchanged,
    /// non-racy stat; otherwise hashes the file with the expected lineage id and compares SIVs.
    func plainMatches(_ now: ScannedEntry?, _ expected: IndexEntry?) throws(ShadowError) -> Bool {
        guard let now, let expected else { return now == nil && expected == nil }
        switch (now.kind, expected.kind) {
        case (.directory, .directory):
            return true
        case (.symlink(let a), .symlink(let b)):
            return a == b
        case (.file(let x), .file(let length, let siv, let executable)):
            guard x == executable, now.stat.size == length else { return false }
            if expected.statVouches(for: now, recordedAtNs: index.recordedAtNs) { return true }
            do throws(ShadowError) {
                let source = try FileSource(location.plain.appending(now.path))
                if try content.siv(of: source, fileID: expected.fileID) == siv { return true }
                // Written under an earlier key epoch: the same bytes have that epoch's SIV, and a new
                // epoch re-encrypts only what changed (lazy rotation).
                for earlier in (keys.read?.reachedEpochs ?? []).dropFirst() where try FileContent(keys: earlier).siv(of: source, fileID: expected.fileID) == siv {
                    return true
                }
                return false
            } catch where error.code == .notFound || error.code == .sourceChanged {
                return false
            }
        default:
            return false
        }
    }
}

/// What one apply carries from path to path.
struct ApplyContext {
    /// The target tree's paths: never used for a conflict copy.
    let taken: Set<PlainPath>
    let targetSide: MergeSide
    /// The side whose change put an entry in the target, where it differs from `targetSide`.
    let sides: [PlainPath: MergeSide]
    /// Incoming directories kept under a conflict name (a file or symlink holds their path here): their
    /// entries go below the copy.
    var relocated: [PlainPath: PlainPath] = [:]
    let existing: ExistingFilePreference
    var keptBoth = false
    /// Directories whose entries (or themselves) the apply changed: their times are set last.
    var directories: Set<PlainPath> = []
    /// Existing directories the apply opened up to write into them, with the mode each had before.
    var lifted: [PlainPath: UInt32] = [:]

    func side(_ p: PlainPath) -> MergeSide { sides[p] ?? targetSide }
}

extension ScannedKind {
    var isFile: Bool { if case .file = self { return true } else { return false } }
}

extension EntryKind {
    var isFile: Bool { if case .file = self { return true } else { return false } }
}

/// Copies a whole source into a sink, a buffer at a time.
func copyBytes(_ source: ByteSource, to sink: ByteSink) throws(ShadowError) {
    var buffer = [UInt8](repeating: 0, count: SyncEngine.copyBufferBytes)
    var offset: UInt64 = 0
    while true {
        let n = try buffer.withMutableBytes { (b) throws(ShadowError) in try source.read(at: offset, into: b) }
        if n == 0 { return }
        try buffer.withBytes { (b) throws(ShadowError) in try sink.write(UnsafeRawBufferPointer(rebasing: b[0..<n])) }
        offset += UInt64(n)
    }
}
