import Testing
import ShadowCore
import ShadowCrypto
@testable import ShadowEngine

/// Every pair of entry kinds through the three-way merge: the table in DESIGN.md ("Conflicts"), one
/// test row per line. Each row is merged both ways round (ours/theirs swapped, so the later side is
/// once local and once remote) and checked for the same tree, no entry below a non-directory, and
/// every changed version present exactly once.
struct MergeTableTests {
    typealias Tree = [PlainPath: EntryKind]
    static func p(_ s: String) -> PlainPath { try! PlainPath(s) }
    static func f(_ n: UInt8, exec: Bool = false) -> EntryKind { .file(length: UInt64(n), siv: [UInt8](repeating: n, count: 32), executable: exec) }
    static func l(_ target: String) -> EntryKind { .symlink(target: Array(target.utf8)) }
    static let d = EntryKind.directory
    static let early = MergeSide(deviceID: [UInt8](repeating: 1, count: 16), wallTimeMillis: 1_000, commit: ObjectID(hex: String(repeating: "a", count: 40))!)
    static let late = MergeSide(deviceID: [UInt8](repeating: 2, count: 16), wallTimeMillis: 2_000, commit: ObjectID(hex: String(repeating: "b", count: 40))!)

    struct Row: CustomTestStringConvertible {
        let name: String
        let base: Tree, early: Tree, late: Tree
        /// The merged tree without its conflict copies.
        let result: Tree
        /// The versions in conflict copies.
        let copies: [EntryKind]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "file created on both", base: [:], early: [p("a"): f(1)], late: [p("a"): f(2)], result: [p("a"): f(2)], copies: [f(1)]),
        Row(name: "file edited on both", base: [p("a"): f(0)], early: [p("a"): f(1)], late: [p("a"): f(2)], result: [p("a"): f(2)], copies: [f(1)]),
        Row(name: "file edited and deleted", base: [p("a"): f(0)], early: [p("a"): f(1)], late: [:], result: [p("a"): f(1)], copies: []),
        Row(name: "file deleted and edited", base: [p("a"): f(0)], early: [:], late: [p("a"): f(2)], result: [p("a"): f(2)], copies: []),
        Row(name: "file deleted on both", base: [p("a"): f(0)], early: [:], late: [:], result: [:], copies: []),
        Row(name: "same file created on both", base: [:], early: [p("a"): f(1)], late: [p("a"): f(1)], result: [p("a"): f(1)], copies: []),
        Row(name: "executable bit on both", base: [p("a"): f(0)], early: [p("a"): f(1)], late: [p("a"): f(1, exec: true)], result: [p("a"): f(1, exec: true)], copies: []),
        Row(name: "file renamed and edited", base: [p("a"): f(0)], early: [p("b"): f(0)], late: [p("a"): f(2)], result: [p("a"): f(2), p("b"): f(0)], copies: []),
        Row(name: "file renamed two ways", base: [p("a"): f(0)], early: [p("b"): f(0)], late: [p("c"): f(0)], result: [p("b"): f(0), p("c"): f(0)], copies: []),
        Row(name: "symlink created on both", base: [:], early: [p("a"): l("x")], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [l("x")]),
        Row(name: "symlink retargeted on both", base: [p("a"): l("o")], early: [p("a"): l("x")], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [l("x")]),
        Row(name: "symlink retargeted and deleted", base: [p("a"): l("o")], early: [p("a"): l("x")], late: [:], result: [p("a"): l("x")], copies: []),
        Row(name: "file and symlink created", base: [:], early: [p("a"): f(1)], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [f(1)]),
        Row(name: "symlink and file created", base: [:], early: [p("a"): l("x")], late: [p("a"): f(2)], result: [p("a"): f(2)], copies: [l("x")]),
        Row(name: "file edited, replaced by a symlink", base: [p("a"): f(0)], early: [p("a"): f(1)], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [f(1)]),
        Row(name: "symlink replaced by a file, retargeted", base: [p("a"): l("o")], early: [p("a"): f(1)], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [f(1)]),
        Row(name: "file and directory created", base: [:], early: [p("a"): d, p("a/c"): f(3)], late: [p("a"): f(2)], result: [p("a"): d, p("a/c"): f(3)], copies: [f(2)]),
        Row(name: "directory and file created", base: [:], early: [p("a"): f(1)], late: [p("a"): d, p("a/c"): f(3)], result: [p("a"): d, p("a/c"): f(3)], copies: [f(1)]),
        Row(name: "symlink and directory created", base: [:], early: [p("a"): l("x")], late: [p("a"): d], result: [p("a"): d], copies: [l("x")]),
        Row(name: "file edited, replaced by a directory", base: [p("a"): f(0)], early: [p("a"): f(1)], late: [p("a"): d, p("a/c"): f(3)], result: [p("a"): d, p("a/c"): f(3)], copies: [f(1)]),
        Row(name: "file deleted, replaced by a directory", base: [p("a"): f(0)], early: [:], late: [p("a"): d], result: [p("a"): d], copies: []),
        Row(name: "directory replaced by a file, untouched", base: [p("a"): d, p("a/c"): f(0)], early: [p("a"): f(1)], late: [p("a"): d, p("a/c"): f(0)], result: [p("a"): f(1)], copies: []),
        Row(name: "directory replaced by a file, child edited", base: [p("a"): d, p("a/c"): f(0)], early: [p("a"): f(1)], late: [p("a"): d, p("a/c"): f(3)], result: [p("a"): d, p("a/c"): f(3)], copies: [f(1)]),
        Row(name: "directory replaced by a file, child added", base: [p("a"): d, p("a/c"): f(0)], early: [p("a"): d, p("a/c"): f(0), p("a/new"): f(4)], late: [p("a"): f(2)], result: [p("a"): d, p("a/new"): f(4)], copies: [f(2)]),
        Row(name: "directory replaced by a symlink, child added", base: [p("docs"): d, p("docs/old"): f(0)], early: [p("docs"): d, p("docs/old"): f(0), p("docs/new"): f(4)], late: [p("docs"): l("elsewhere")], result: [p("docs"): d, p("docs/new"): f(4)], copies: [l("elsewhere")]),
        Row(name: "directory replaced by a symlink, deleted", base: [p("docs"): d, p("docs/old"): f(0)], early: [:], late: [p("docs"): l("elsewhere")], result: [p("docs"): l("elsewhere")], copies: []),
        Row(name: "directory replaced by a symlink and by a file", base: [p("a"): d], early: [p("a"): f(1)], late: [p("a"): l("y")], result: [p("a"): l("y")], copies: [f(1)]),
        Row(name: "directory deleted, child added", base: [p("a"): d, p("a/old"): f(0)], early: [p("a"): d, p("a/old"): f(0), p("a/new"): f(4)], late: [:], result: [p("a"): d, p("a/new"): f(4)], copies: []),
        Row(name: "directory deleted, child edited", base: [p("a"): d, p("a/old"): f(0)], early: [:], late: [p("a"): d, p("a/old"): f(2)], result: [p("a"): d, p("a/old"): f(2)], copies: []),
        Row(name: "directory renamed, child edited", base: [p("a"): d, p("a/c"): f(0)], early: [p("b"): d, p("b/c"): f(0)], late: [p("a"): d, p("a/c"): f(2)], result: [p("a"): d, p("a/c"): f(2), p("b"): d, p("b/c"): f(0)], copies: []),
        Row(name: "directory renamed, child added", base: [p("a"): d], early: [p("b"): d], late: [p("a"): d, p("a/n"): f(4)], result: [p("a"): d, p("a/n"): f(4), p("b"): d], copies: []),
        Row(name: "file below a path that became a file", base: [p("a"): d], early: [p("a"): d, p("a/b"): d, p("a/b/c"): f(3)], late: [p("a"): d, p("a/b"): f(2)], result: [p("a"): d, p("a/b"): d, p("a/b/c"): f(3)], copies: [f(2)]),
        Row(name: "file below a path that became a symlink", base: [p("a"): d, p("a/b"): d], early: [p("a"): d, p("a/b"): d, p("a/b/c"): f(3)], late: [p("a"): d, p("a/b"): l("y")], result: [p("a"): d, p("a/b"): d, p("a/b/c"): f(3)], copies: [l("y")]),
    ]

    /// Merges both ways round and checks the invariants; returns the tree.
    static func merged(_ row: Row) -> (tree: Tree, conflicts: [ConflictRecord]) {
        let one = ThreeWayMerge.merge(base: row.base, ours: row.early, theirs: row.late, oursSide: early, theirsSide: late)
        let two = ThreeWayMerge.merge(base: row.base, ours: row.late, theirs: row.early, oursSide: late, theirsSide: early)
        let tree = one.entries.mapValues(\.kind)
        #expect(tree == two.entries.mapValues(\.kind), "\(row.name): the merge depends on which side is ours")
        for path in tree.keys {
            var a = path.parent
            while let x = a {
                #expect(tree[x] == .directory, "\(row.name): \(path) is below \(x), which is \(String(describing: tree[x]))")
                a = x.parent
            }
        }
        return (tree, one.conflicts)
    }

    @Test(arguments: rows) func row(_ row: Row) {
        let (tree, conflicts) = Self.merged(row)
        let copies = tree.filter { ConflictNames.isConflictCopy($0.key) }
        #expect(tree.filter { !ConflictNames.isConflictCopy($0.key) } == row.result, "\(row.name)")
        #expect(copies.values.map { "\($0)" }.sorted() == row.copies.map { "\($0)" }.sorted(), "\(row.name): copies \(copies)")
        // A copy sits beside the path it lost, named after the side that lost.
        for (copy, kind) in copies {
            let record = conflicts.first { $0.copy == copy }
            #expect(record != nil, "\(row.name): \(copy) has no conflict record")
            let loser = row.early.values.contains(kind) && !row.late.values.contains(kind) ? Self.early : Self.late
            #expect(copy.description.contains("-" + String(hexString(loser.deviceID).prefix(8))), "\(row.name): \(copy)")
        }
        // Every version either side made (a file or symlink that differs from the base) is kept.
        for side in [row.early, row.late] {
            for (path, kind) in side where kind != .directory && row.base[path] != kind {
                let kept = tree.values.contains(kind) || (kind.isFile && tree[path].map { Self.sameBytes($0, kind) } == true)
                #expect(kept, "\(row.name): \(path) = \(kind) was lost")
            }
        }
    }

    static func sameBytes(_ a: EntryKind, _ b: EntryKind) -> Bool {
        if case .file(let x, let s, _) = a, case .file(let y, let t, _) = b { return x == y && s == t }
        return false
    }

    @Test func aTakenCopyNameGetsTheNextFreeOne() {
        let first = ConflictNames.candidate(for: Self.p("d/a.txt"), side: Self.early, attempt: 1)!
        // Someone already has a file at the first copy name (another conflict, or a user's file).
        let base: Tree = [Self.p("d"): Self.d, Self.p("d/a.txt"): Self.f(0)]
        var early = base, late = base
        early[Self.p("d/a.txt")] = Self.f(1)
        late[Self.p("d/a.txt")] = Self.f(2)
        late[first] = Self.f(9)
        let (tree, _) = Self.merged(Row(name: "taken", base: base, early: early, late: late, result: [:], copies: []))
        #expect(tree[first] == Self.f(9))
        #expect(tree[Self.p("d/a.txt")] == Self.f(2))
        #expect(tree[ConflictNames.candidate(for: Self.p("d/a.txt"), side: Self.early, attempt: 2)!] == Self.f(1))
        #expect(first.description == "d/a.sync-conflict-19700101-000001-01010101.txt")
    }

    @Test func aCopyAlreadyHoldingTheVersionIsReused() {
        // Three devices: early's version already lost once on another machine and sits in its copy on the
        // late side; merging early's own tree again must not copy it a second time.
        let name = ConflictNames.candidate(for: Self.p("a"), side: Self.early, attempt: 1)!
        let base: Tree = [Self.p("a"): Self.f(0)]
        let (tree, _) = Self.merged(Row(name: "reuse", base: base, early: [Self.p("a"): Self.f(1)],
                                        late: [Self.p("a"): Self.f(2), name: Self.f(1)], result: [:], copies: []))
        #expect(tree == [Self.p("a"): Self.f(2), name: Self.f(1)])
    }

    static func at(_ kind: EntryKind, _ seconds: Int64, by device: UInt8, mode: UInt32? = nil) -> SyncedEntry {
        SyncedEntry(kind, EntryMetadata(permissions: mode ?? EntryMetadata.defaults(for: kind).permissions,
                                      modified: FileTime(seconds: seconds, nanoseconds: 0), modifiedBy: [UInt8](repeating: device, count: 16)))
    }

    @Test func theOlderVersionBecomesTheCopyWhicheverCommitIsLater() {
        // The later commit (late) carries the older file: its version loses, and the copy is named after
        // the device and time of that version, not of the commit.
        let base = [Self.p("a"): Self.at(Self.f(0), 100, by: 9)]
        let older = Self.at(Self.f(1), 1_600_000_000, by: 7), newer = Self.at(Self.f(2), 1_700_000_000, by: 8)
        for (x, y) in [(newer, older), (older, newer)] {
            let one = ThreeWayMerge.merge(base: base, ours: [Self.p("a"): x], theirs: [Self.p("a"): y], oursSide: Self.early, theirsSide: Self.late)
            let two = ThreeWayMerge.merge(base: base, ours: [Self.p("a"): y], theirs: [Self.p("a"): x], oursSide: Self.late, theirsSide: Self.early)
            #expect(one.entries.mapValues { $0.entry } == two.entries.mapValues { $0.entry })
            #expect(one.entries[Self.p("a")]?.entry == newer)
            let copy = one.entries.first { ConflictNames.isConflictCopy($0.key) }
            #expect(copy?.value.entry == older)
            #expect(copy?.key.description == "a.sync-conflict-20200913-122640-07070707", "\(String(describing: copy?.key))")
        }
        // Equal times: the larger device id wins, on both machines.
        let tied = Self.at(Self.f(3), 1_600_000_000, by: 8)
        let m = ThreeWayMerge.merge(base: base, ours: [Self.p("a"): older], theirs: [Self.p("a"): tied], oursSide: Self.late, theirsSide: Self.early)
        #expect(m.entries[Self.p("a")]?.entry == tied)
    }

    @Test func aMetadataOnlyDifferenceIsNeverACopy() {
        let base = [Self.p("a"): Self.at(Self.f(0), 100, by: 9), Self.p("d"): Self.at(Self.d, 100, by: 9)]
        let chmod = [Self.p("a"): Self.at(Self.f(0), 200, by: 7, mode: 0o600), Self.p("d"): Self.at(Self.d, 300, by: 7)]
        let touch = [Self.p("a"): Self.at(Self.f(0), 300, by: 8), Self.p("d"): Self.at(Self.d, 200, by: 8, mode: 0o700)]
        let m = ThreeWayMerge.merge(base: base, ours: chmod, theirs: touch, oursSide: Self.late, theirsSide: Self.early)
        #expect(m.entries.count == 2 && m.conflicts.allSatisfy { $0.copy == nil })
        #expect(m.entries[Self.p("a")]?.entry == touch[Self.p("a")] && m.entries[Self.p("d")]?.entry == chmod[Self.p("d")])
    }

    @Test func aModeChangeAndAnEditElsewhereAreBothKept() {
        let base = [Self.p("a"): Self.at(Self.f(0), 100, by: 9)]
        let chmod = [Self.p("a"): Self.at(Self.f(0), 100, by: 7, mode: 0o600)]
        let edit = [Self.p("a"): Self.at(Self.f(2), 200, by: 8)]
        for (x, y, xs, ys) in [(chmod, edit, Self.early, Self.late), (edit, chmod, Self.late, Self.early)] {
            let m = ThreeWayMerge.merge(base: base, ours: x, theirs: y, oursSide: xs, theirsSide: ys)
            #expect(m.entries.count == 1 && m.conflicts.isEmpty, "\(m.entries)")
            #expect(m.entries[Self.p("a")]?.entry == Self.at(Self.f(2), 200, by: 8, mode: 0o600))
        }
    }

    @Test func oneVersionCopiedUnderTwoNamesStaysOnce() {
        // Each side copied the same losing version itself and found a different name free: the copy whose
        // name the other side also uses goes; a user's file there stays.
        let first = ConflictNames.candidate(for: Self.p("a"), side: Self.early, attempt: 1)!
        let second = ConflictNames.candidate(for: Self.p("a"), side: Self.early, attempt: 2)!
        let base: Tree = [Self.p("a"): Self.f(0)]
        let (tree, _) = Self.merged(Row(name: "twice", base: base, early: [Self.p("a"): Self.f(3), first: Self.f(7), second: Self.f(1)],
                                        late: [Self.p("a"): Self.f(3), first: Self.f(1)], result: [:], copies: []))
        #expect(tree == [Self.p("a"): Self.f(3), first: Self.f(7), second: Self.f(1)], "\(tree)")
    }
}
