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

/// One entry of the merged tree: its kind, and where its objects come from (`sourcePath` in the origin's
/// tree; differs from the entry's own path for conflict copies).
public struct MergedEntry: Equatable, Sendable {
    public let kind: EntryKind
    public let origin: MergeOrigin
    public let sourcePath: PlainPath
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
    public static func merge(base: [PlainPath: EntryKind], ours allOurs: [PlainPath: EntryKind], theirs allTheirs: [PlainPath: EntryKind],
                             oursSide: MergeSide, theirsSide: MergeSide) -> (entries: [PlainPath: MergedEntry], conflicts: [ConflictRecord]) {
        let (ours, theirs) = withoutDuplicateCopies(base: base, ours: allOurs, theirs: allTheirs)
        var merged: [PlainPath: MergedEntry] = [:]
        var conflicts: [ConflictRecord] = []
        let theirsWin = theirsSide.beats(oursSide)
        let paths = Set(ours.keys).union(theirs.keys).union(base.keys)
        // Versions that lost their path, placed once every path is decided (a copy may then reuse an
        // identical copy that either side already holds, so one version never ends up in two copies).
        var losers: [(path: PlainPath, entry: MergedEntry, reason: String)] = []

        func take(_ path: PlainPath, _ kind: EntryKind, _ origin: MergeOrigin) {
            merged[path] = MergedEntry(kind: kind, origin: origin, sourcePath: path)
        }
        func lose(_ path: PlainPath, _ kind: EntryKind, _ origin: MergeOrigin, reason: String, source: PlainPath? = nil) {
            losers.append((path, MergedEntry(kind: kind, origin: origin, sourcePath: source ?? path), reason))
        }

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
                    if t != .directory { conflicts.append(ConflictRecord(path: path, copy: nil, reason: "deleted here, changed on another device: the change is kept")) }
                case (let o?, nil):
                    take(path, o, .ours)
                    if o != .directory { conflicts.append(ConflictRecord(path: path, copy: nil, reason: "changed here, deleted on another device: the change is kept")) }
                case (let o?, let t?):
                    if o == .directory {
                        take(path, o, .ours)
                        lose(path, t, .theirs, reason: "a directory here and a file or symlink on another device")
                    } else if t == .directory {
                        take(path, t, .theirs)
                        lose(path, o, .ours, reason: "a file or symlink here and a directory on another device")
                    } else if case .file(_, let so, _) = o, case .file(_, let st, _) = t, so == st {
                        // Same bytes, only the executable bit differs: nothing to copy.
                        take(path, theirsWin ? t : o, theirsWin ? .theirs : .ours)
                        conflicts.append(ConflictRecord(path: path, copy: nil, reason: "executable bit changed on both sides; the later change wins"))
                    } else {
                        let (winner, loser): ((EntryKind, MergeOrigin), (EntryKind, MergeOrigin)) = theirsWin ? ((t, .theirs), (o, .ours)) : ((o, .ours), (t, .theirs))
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
                guard let existing = merged[a] else {
                    merged[a] = MergedEntry(kind: .directory, origin: ours[a] == .directory ? .ours : .theirs, sourcePath: a)
                    continue
                }
                if existing.kind != .directory {
                    merged[a] = MergedEntry(kind: .directory, origin: ours[a] == .directory ? .ours : .theirs, sourcePath: a)
                    lose(a, existing.kind, existing.origin, reason: "replaced by a directory on another device", source: existing.sourcePath)
                }
            }
        }

        // Copies are placed last, beside their path (whose parent is a directory by now). A name either side
        // already uses is skipped, unless it holds this very version.
        for loser in losers {
            let side = loser.entry.origin == .ours ? oursSide : theirsSide
            var attempt = 1
            while true {
                defer { attempt += 1 }
                guard let copy = ConflictNames.candidate(for: loser.path, side: side, attempt: attempt) else { continue }
                if let existing = merged[copy] {
                    guard existing.kind == loser.entry.kind else { continue }
                    conflicts.append(ConflictRecord(path: loser.path, copy: copy, reason: loser.reason))
                    break
                }
                if paths.contains(copy) { continue }
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
    static func withoutDuplicateCopies(base: [PlainPath: EntryKind], ours: [PlainPath: EntryKind],
                                       theirs: [PlainPath: EntryKind]) -> ([PlainPath: EntryKind], [PlainPath: EntryKind]) {
        func addedCopies(_ side: [PlainPath: EntryKind], _ other: [PlainPath: EntryKind]) -> [[UInt8]: PlainPath] {
            var out: [[UInt8]: PlainPath] = [:]
            for (p, kind) in side where base[p] == nil && other[p] != kind && ConflictNames.isConflictCopy(p) {
                guard case .file(let length, let siv, _) = kind else { continue }
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
