import ShadowCore
import ShadowCrypto
import ShadowFS

extension SyncEngine {
    /// Brings the plaintext folder from the index's tree to `kinds` (the tree of `target`, whose objects
    /// are in the shadow work tree). Per path, a compare-and-swap: a file is overwritten or deleted only
    /// if it still holds what was last synced; otherwise both versions are kept (DESIGN.md rule 6).
    /// Idempotent, so a run killed half way is finished by the next.
    ///
    /// Ignored paths follow the tree without being written while they are absent here; an absent path
    /// that no rule covers any more is written like a new arrival.
    func applyToPlaintext(_ kinds: [PlainPath: EntryKind], target: ObjectID, report: inout SyncReport) throws(ShadowError) {
        let ignore = IgnoreRules.load(folder: location.plain)
        func ignored(_ p: PlainPath) -> Bool { ignore.ignores(p, isDirectory: (kinds[p] ?? index.entries[p]?.kind) == .directory) }
        var changed: [PlainPath] = []
        for p in Set(index.entries.keys).union(kinds.keys) {
            guard let cur = index.entries[p] else { changed.append(p); continue }
            if cur.absent {
                if ignored(p) {
                    if cur.kind != kinds[p] {
                        index.entries[p] = try wanted(p, kinds[p]).map { IndexEntry(kind: $0.kind, fileID: $0.fileID, stat: nil, absent: true) }
                    }
                    continue
                }
                index.entries[p] = nil  // left out while ignored: it arrives like a new path
                if kinds[p] != nil { changed.append(p) }
            } else if cur.kind != kinds[p] {
                changed.append(p)
            }
        }
        let side = try side(of: target)
        // Files and symlinks that go away first, then everything that arrives parents before children,
        // then directories that go away children first.
        let removals = changed.filter { kinds[$0] == nil && index.entries[$0]?.kind != .directory }.sorted()
        let arrivals = changed.filter { kinds[$0] != nil }.sorted()
        let directoryRemovals = changed.filter { kinds[$0] == nil && index.entries[$0]?.kind == .directory }.sorted(by: >)
        let taken = Set(kinds.keys)
        for (n, p) in (removals + arrivals + directoryRemovals).enumerated() {
            try reconcile(p, want: kinds[p], side: side, taken: taken, report: &report)
            if n == 1 { CrashPoint.reached("apply-second") }
        }
        index.head = target
        try index.save(location.indexFile)
        try JournalPhase.idle.save(location.journalFile)
    }

    private func wanted(_ path: PlainPath, _ kind: EntryKind?) throws(ShadowError) -> IndexEntry? {
        guard let kind else { return nil }
        if case .file = kind { return IndexEntry(kind: kind, fileID: try shadowFileID(path), stat: nil) }
        return IndexEntry(kind: kind, fileID: .zero, stat: nil)
    }

    private func reconcile(_ p: PlainPath, want kind: EntryKind?, side: MergeSide, taken: Set<PlainPath>,
                           report: inout SyncReport) throws(ShadowError) {
        let cur = index.entries[p]
        let want = try wanted(p, kind)
        let now = try folder.entry(p)
        if try plainMatches(now, want) {
            // Already there (a previous run got this far, or the same edit was made here).
            index.entries[p] = want.map { IndexEntry(kind: $0.kind, fileID: $0.fileID, stat: now?.stat) }
            return
        }
        guard try plainMatches(now, cur) else {
            try keepBoth(p, want: want, side: side, taken: taken, report: &report)
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
                try clearForReplacement(p, now: now)
                index.entries[p] = IndexEntry(kind: .directory, fileID: .zero, stat: try folder.createDirectory(p))
                report.applied.append("+ \(p)/")
            case .file(_, let siv, let executable)?:
                let placement = try clearForReplacement(p, now: now)
                let source = try FileSource(location.shadow.appending(names.locator(for: p).contentObjectPath))
                let (stat, header) = try folder.writeFile(p, mode: executable ? 0o755 : 0o644, placement: placement) { (sink) throws(ShadowError) in
                    try content.decrypt(source, expectedSIV: siv, to: sink)
                }
                index.entries[p] = IndexEntry(kind: want!.kind, fileID: header.fileID, stat: stat)
                report.applied.append("\(cur == nil ? "+" : "M") \(p)")
            case .symlink(let target)?:
                let placement = try clearForReplacement(p, now: now)
                index.entries[p] = IndexEntry(kind: want!.kind, fileID: .zero, stat: try folder.writeSymlink(p, target: target, placement: placement))
                report.applied.append("\(cur == nil ? "+" : "M") \(p)")
            }
        } catch where error.code == .alreadyExists || error.code == .sourceChanged {
            // The user changed the path while we were writing: keep theirs, the incoming one beside it.
            try keepBoth(p, want: want, side: side, taken: taken, report: &report)
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
    /// version beside it under a conflict name. The next local commit takes both.
    private func keepBoth(_ p: PlainPath, want: IndexEntry?, side: MergeSide, taken: Set<PlainPath>,
                          report: inout SyncReport) throws(ShadowError) {
        guard let want else {
            index.entries[p] = nil  // modify beats delete: the local file is committed again as new
            report.conflicts.append(ConflictRecord(path: p, copy: nil, reason: "changed here while another device deleted it: kept"))
            return
        }
        var copy: PlainPath?
        switch want.kind {
        case .file(_, let siv, let executable):
            let name = ConflictNames.copyPath(for: p, side: side, taken: taken.union(index.entries.keys))
            let source = try FileSource(location.shadow.appending(names.locator(for: p).contentObjectPath))
            do throws(ShadowError) {
                try folder.writeFile(name, mode: executable ? 0o755 : 0o644, placement: .create) { (sink) throws(ShadowError) in
                    try content.decrypt(source, expectedSIV: siv, to: sink)
                }
                copy = name
            } catch where error.code == .alreadyExists {
                copy = nil
            }
        case .symlink(let target):
            let name = ConflictNames.copyPath(for: p, side: side, taken: taken.union(index.entries.keys))
            if (try? folder.writeSymlink(name, target: target, placement: .create)) != nil { copy = name }
        case .directory:
            break
        }
        // The index now says "synced = incoming" with an unknown stat, so the local version is hashed,
        // found different and committed over it on the next scan; the incoming one lives on in the copy.
        index.entries[p] = want.kind == .directory ? nil : want
        report.conflicts.append(ConflictRecord(path: p, copy: copy, reason: "changed here while a new version arrived"))
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
                return try content.siv(of: try FileSource(location.plain.appending(now.path)), fileID: expected.fileID) == siv
            } catch where error.code == .notFound || error.code == .sourceChanged {
                return false
            }
        default:
            return false
        }
    }
}
