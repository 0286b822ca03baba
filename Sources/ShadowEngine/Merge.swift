#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore
public import ShadowCrypto

/// Who made one side of a merge: the head commit's (encrypted) metadata. Both agents merging the same
/// two heads see the same two sides, so every decision below is the same on both (DESIGN.md rule 6).
public struct MergeSide: Equatable, Sendable {
    public let deviceID: [UInt8]
    public let wallTimeMillis: UInt64
    public let commit: ObjectID

    public init(deviceID: [UInt8], wallTimeMillis: UInt64, commit: ObjectID) {
        self.deviceID = deviceID
        self.wallTimeMillis = wallTimeMillis
        self.commit = commit
    }

    /// The later side wins a conflict; ties go to the larger device id, then commit id. A total order,
    /// independent of which side is "ours".
    func beats(_ other: MergeSide) -> Bool {
        if wallTimeMillis != other.wallTimeMillis { return wallTimeMillis > other.wallTimeMillis }
        if deviceID != other.deviceID { return other.deviceID.lexicographicallyPrecedes(deviceID) }
        return commit > other.commit
    }
}

public enum MergeOrigin: Equatable, Sendable { case ours, theirs }

/// One entry of a synced tree: what it is (a file's content pinned by its SIV) and its synced metadata.
public struct SyncedEntry: Equatable, Sendable {
    public let kind: EntryKind
    public let metadata: EntryMetadata

    /// Normalised as a name record is: a file's executable bit follows its permissions, a symlink has none.
    public init(_ kind: EntryKind, _ metadata: EntryMetadata? = nil) {
        (self.kind, self.metadata) = NameRecord.normalized(kind, metadata)
    }

    public init(_ record: NameRecord) {
        kind = record.kind
        metadata = record.metadata
    }

    /// Same content (file bytes under the same lineage, link target, or both directories), whatever the metadata.
    func sameContent(_ other: SyncedEntry) -> Bool {
        switch (kind, other.kind) {
        case (.file(let a, let s, _), .file(let b, let t, _)): return a == b && s == t
        default: return kind == other.kind
        }
    }

    /// Whether this version is newer than `other`: the later modification time, ties to the larger device
    /// id, then to `side` (the head commits' order). The same answer on every machine.
    func isNewer(than other: SyncedEntry, tie: Bool) -> Bool {
        if metadata.modified != other.metadata.modified { return metadata.modified > other.metadata.modified }
        if metadata.modifiedBy != other.metadata.modifiedBy { return other.metadata.modifiedBy.lexicographicallyPrecedes(metadata.modifiedBy) }
        return tie
    }
}

/// One entry of the merged tree: what it is, and where its objects come from (`sourcePath` in the origin's
/// tree; differs from the entry's own path for conflict copies).
public struct MergedEntry: Equatable, Sendable {
    public let entry: SyncedEntry
    public let origin: MergeOrigin
    public let sourcePath: PlainPath
    public var kind: EntryKind { entry.kind }
    public var metadata: EntryMetadata { entry.metadata }
}

/// A conflict the merge resolved; every side is kept, and this says where.
public struct ConflictRecord: Equatable, Sendable, CustomStringConvertible {
    public let path: PlainPath
    /// Where the losing version now lives (nil when nothing needed moving, e.g. modify beats delete).
    public let copy: PlainPath?
    public let reason: String

    public var description: String {
        copy.map { "\(path): \(reason); the other version is at \($0)" } ?? "\(path): \(reason)"
    }
}

/// Three-way merge of decrypted trees at the plaintext level (never inside files: no conflict markers).
/// The outcome for every pair of entry kinds is the table in DESIGN.md ("Conflicts"); in short: modify
/// beats delete, a directory beats a file or symlink (at its path or above another entry), the later
/// side wins the rest, and every version that loses its path is kept once in a conflict copy.
public enum ThreeWayMerge {
    /// Entries without metadata (every time and device equal): the head commits decide.
    public static func merge(base: [PlainPath: EntryKind], ours: [PlainPath: EntryKind], theirs: [PlainPath: EntryKind],
                             oursSide: MergeSide, theirsSide: MergeSide) -> (entries: [PlainPath: MergedEntry], conflicts: [ConflictRecord]) {
        merge(base: base.mapValues { SyncedEntry($0) }, ours: ours.mapValues { SyncedEntry($0) }, theirs: theirs.mapValues { SyncedEntry($0) },
              oursSide: oursSide, theirsSide: theirsSide)
    }

    public static func merge(base: [PlainPath: SyncedEntry], ours allOurs: [PlainPath: SyncedEntry], theirs allTheirs: [PlainPath: SyncedEntry],
                             oursSide: MergeSide, theirsSide: MergeSide) -> (entries: [PlainPath: MergedEntry], conflicts: [ConflictRecord]) {
        let (ours, theirs) = withoutDuplicateCopies(base: base, ours: allOurs, theirs: allTheirs)
        var merged: [PlainPath: MergedEntry] = [:]
        var conflicts: [ConflictRecord] = []
        let theirsWin = theirsSide.beats(oursSide)
        let paths = Set(ours.keys).union(theirs.keys).union(base.keys)
        // Versions that lost their path, placed once every path is decided (a copy may then reuse an
        // identical copy that either side already holds, so one version never ends up in two copies).
        var losers: [(path: PlainPath, entry: MergedEntry, reason: String)] = []

        func take(_ path: PlainPath, _ entry: SyncedEntry, _ origin: MergeOrigin) {
            merged[path] = MergedEntry(entry: entry, origin: origin, sourcePath: path)
        }
        func lose(_ path: PlainPath, _ entry: SyncedEntry, _ origin: MergeOrigin, reason: String, source: PlainPath? = nil) {
            losers.append((path, MergedEntry(entry: entry, origin: origin, sourcePath: source ?? path), reason))
        }
        let directory = SyncedEntry(.directory)

        for path in paths.sorted() {
            let b = base[path], o = ours[path], t = theirs[path]
            if o == t {
                if let o { take(path, o, .ours) }
            } else if o == b {
                if let t { take(path, t, .theirs) }
            } else if t == b {
                if let o { take(path, o, .ours) }
            } else {
                switch (o, t) {
                case (nil, let t?):
                    take(path, t, .theirs)
                    if t.kind != .directory { conflicts.append(ConflictRecord(path: path, copy: nil, reason: "deleted here, changed on another device: the change is kept")) }
                case (let o?, nil):
                    take(path, o, .ours)
                    if o.kind != .directory { conflicts.append(ConflictRecord(path: path, copy: nil, reason: "changed here, deleted on another device: the change is kept")) }
                case (let o?, let t?):
                    let theirsNewer = t.isNewer(than: o, tie: theirsWin)
                    if o.kind == .directory && t.kind != .directory {
                        take(path, o, .ours)
                        lose(path, t, .theirs, reason: "a directory here and a file or symlink on another device")
                    } else if t.kind == .directory && o.kind != .directory {
                        take(path, t, .theirs)
                        lose(path, o, .ours, reason: "a file or symlink here and a directory on another device")
                    } else if o.sameContent(t) {
                        // Only the metadata differs (mode, time): the later change wins, nothing to copy.
                        take(path, theirsNewer ? t : o, theirsNewer ? .theirs : .ours)
                    } else if let b, o.kind.sameType(t.kind), o.sameContent(b) || t.sameContent(b) {
                        // One side changed only the mode or time, the other the content: both changes stay.
                        let (content, other, origin) = o.sameContent(b) ? (t, o, MergeOrigin.theirs) : (o, t, MergeOrigin.ours)
                        var metadata = content.metadata
                        if metadata.permissions == b.metadata.permissions { metadata.permissions = other.metadata.permissions }
                        take(path, SyncedEntry(content.kind, metadata), origin)
                    } else {
                        // The older version becomes the copy.
                        let (winner, loser): ((SyncedEntry, MergeOrigin), (SyncedEntry, MergeOrigin)) = theirsNewer ? ((t, .theirs), (o, .ours)) : ((o, .ours), (t, .theirs))
                        take(path, winner.0, winner.1)
                        lose(path, loser.0, loser.1, reason: "changed on two devices")
                    }
                case (nil, nil):
                    break
                }
            }
        }

        // Every entry needs a directory above it: a parent deleted on one side while a child was added on
        // the other comes back; a file or symlink in a directory's place (a directory replaced by a
        // symlink on one side, a file added below it on the other) moves to a conflict copy.
        for path in merged.keys.sorted() {
            var ancestors: [PlainPath] = []
            var p = path.parent
            while let a = p { ancestors.append(a); p = a.parent }
            for a in ancestors.reversed() {
                func restored() -> MergedEntry {
                    if let o = ours[a], o.kind == .directory { return MergedEntry(entry: o, origin: .ours, sourcePath: a) }
                    if let t = theirs[a], t.kind == .directory { return MergedEntry(entry: t, origin: .theirs, sourcePath: a) }
                    return MergedEntry(entry: base[a].flatMap { $0.kind == .directory ? $0 : nil } ?? directory, origin: .theirs, sourcePath: a)
                }
                guard let existing = merged[a] else {
                    merged[a] = restored()
                    continue
                }
                if existing.kind != .directory {
                    merged[a] = restored()
                    lose(a, existing.entry, existing.origin, reason: "replaced by a directory on another device", source: existing.sourcePath)
                }
            }
        }

        // Copies are placed last, beside their path (whose parent is a directory by now). A name either side
        // already uses is skipped, unless it holds this very version.
        for loser in losers {
            let side = ConflictNames.side(of: loser.entry.metadata, else: loser.entry.origin == .ours ? oursSide : theirsSide)
            var attempt = 1
            while true {
                defer { attempt += 1 }
                guard let copy = ConflictNames.candidate(for: loser.path, side: side, attempt: attempt) else { continue }
                if let existing = merged[copy] {
                    guard existing.entry.sameContent(loser.entry.entry) else { continue }
                    conflicts.append(ConflictRecord(path: loser.path, copy: copy, reason: loser.reason))
                    break
                }
                if paths.contains(copy) || allOurs[copy] != nil || allTheirs[copy] != nil { continue }
                merged[copy] = loser.entry
                conflicts.append(ConflictRecord(path: loser.path, copy: copy, reason: loser.reason))
                break
            }
        }
        return (merged, conflicts)
    }

    /// The same version copied under two names, one on each side: each side placed the copy of one
    /// losing version itself (a merge here, an apply that kept a local edit there) and found a different
    /// name free. Only one copy stays: the one whose name the other side does not use, else the first
    /// name. The same file content under the same lineage has the same SIV, so equal records are the
    /// same version.
    static func withoutDuplicateCopies(base: [PlainPath: SyncedEntry], ours: [PlainPath: SyncedEntry],
                                       theirs: [PlainPath: SyncedEntry]) -> ([PlainPath: SyncedEntry], [PlainPath: SyncedEntry]) {
        func addedCopies(_ side: [PlainPath: SyncedEntry], _ other: [PlainPath: SyncedEntry]) -> [[UInt8]: PlainPath] {
            var out: [[UInt8]: PlainPath] = [:]
            for (p, entry) in side where base[p] == nil && other[p].map({ !$0.sameContent(entry) }) ?? true && ConflictNames.isConflictCopy(p) {
                guard case .file(let length, let siv, _) = entry.kind else { continue }
                let key = siv + withUnsafeBytes(of: length.bigEndian) { Array($0) }
                if out[key].map({ p < $0 }) ?? true { out[key] = p }
            }
            return out
        }
        let inOurs = addedCopies(ours, theirs), inTheirs = addedCopies(theirs, ours)
        guard !inOurs.isEmpty, !inTheirs.isEmpty else { return (ours, theirs) }
        var (o, t) = (ours, theirs)
        for (key, x) in inOurs {
            guard let y = inTheirs[key] else { continue }
            let xContested = theirs[x] != nil, yContested = ours[y] != nil
            if xContested != yContested ? xContested : y < x {
                o[x] = nil
            } else {
                t[y] = nil
            }
        }
        return (o, t)
    }
}

/// `name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, as Syncthing users know it. Date and device are
/// those of the side that lost, so both agents name the copy identically.
public enum ConflictNames {
    public static let marker = ".sync-conflict-"

    public static func copyPath(for path: PlainPath, side: MergeSide, taken: Set<PlainPath>) -> PlainPath {
        var attempt = 1
        while true {
            if let p = candidate(for: path, side: side, attempt: attempt), !taken.contains(p) { return p }
            attempt += 1
        }
    }

    /// The `attempt`-th conflict name for `path` (1: no counter, then `-2`, `-3`, …), cut to fit NAME_MAX;
    /// nil if that name is not a valid path.
    public static func candidate(for path: PlainPath, side: MergeSide, attempt: Int) -> PlainPath? {
        let (stem, ext) = splitExtension(path.lastComponent)
        let suffix = Array((marker + stamp(side.wallTimeMillis) + "-" + String(hexString(side.deviceID).prefix(8))).utf8)
        let counter = attempt <= 1 ? [] : Array("-\(attempt)".utf8)
        let room = maxNameBytes - suffix.count - counter.count - ext.count
        let cut = Array(stem.prefix(max(1, room)))
        let full = (path.parent.map { $0.bytes + [UInt8(ascii: "/")] } ?? []) + cut + suffix + counter + ext
        return try? PlainPath(bytes: full)
    }

    /// A name's stem and extension (with its dot). The extension starts at the last dot, unless that dot
    /// begins the name (".bashrc") or what follows is too long to be one.
    static func splitExtension(_ name: [UInt8]) -> (stem: [UInt8], ext: [UInt8]) {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0, name.count - dot <= 32 else { return (name, []) }
        return (Array(name[..<dot]), Array(name[dot...]))
    }

    /// Who a copy is named after: the device and time of the losing version, from its record; the head
    /// commit's for a record that names no device.
    public static func side(of metadata: EntryMetadata, else side: MergeSide) -> MergeSide {
        guard metadata.modifiedBy != EntryMetadata.unknownDevice, let ns = metadata.modified.totalNanoseconds, ns >= 0 else { return side }
        return MergeSide(deviceID: metadata.modifiedBy, wallTimeMillis: UInt64(ns / 1_000_000), commit: side.commit)
    }

    public static func isConflictCopy(_ path: PlainPath) -> Bool {
        let m = Array(marker.utf8)
        let name = path.lastComponent
        guard name.count >= m.count else { return false }
        for i in 0...(name.count - m.count) where Array(name[i..<i + m.count]) == m { return true }
        return false
    }

    /// UTC, so two machines in different time zones agree.
    static func stamp(_ millis: UInt64) -> String {
        var t = time_t(millis / 1000)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)\(two(tm.tm_mon + 1))\(two(tm.tm_mday))-\(two(tm.tm_hour))\(two(tm.tm_min))\(two(tm.tm_sec))"
    }
}

extension EntryKind {
    /// Both files, both directories or both symlinks, whatever the content.
    func sameType(_ other: EntryKind) -> Bool {
        switch (self, other) {
        case (.file, .file), (.directory, .directory), (.symlink, .symlink): return true
        default: return false
        }
    }
}
