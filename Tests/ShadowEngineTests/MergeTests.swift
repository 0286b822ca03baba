import Testing
import ShadowCore
import ShadowCrypto
@testable import ShadowEngine

/// The three-way merge alone: symmetric, every side kept, parents restored.
struct MergeTests {
    func p(_ s: String) -> PlainPath { try! PlainPath(s) }
    func file(_ n: UInt8, exec: Bool = false) -> EntryKind { .file(length: UInt64(n), siv: [UInt8](repeating: n, count: 32), executable: exec) }
    let early = MergeSide(deviceID: [UInt8](repeating: 1, count: 16), wallTimeMillis: 1_000, commit: ObjectID(hex: String(repeating: "a", count: 40))!)
    let late = MergeSide(deviceID: [UInt8](repeating: 2, count: 16), wallTimeMillis: 2_000, commit: ObjectID(hex: String(repeating: "b", count: 40))!)

    func both(_ base: [PlainPath: EntryKind], _ x: [PlainPath: EntryKind], _ y: [PlainPath: EntryKind]) -> [PlainPath: EntryKind] {
        let one = ThreeWayMerge.merge(base: base, ours: x, theirs: y, oursSide: early, theirsSide: late).entries.mapValues(\.kind)
        let two = ThreeWayMerge.merge(base: base, ours: y, theirs: x, oursSide: late, theirsSide: early).entries.mapValues(\.kind)
        #expect(one == two, "the merge depends on which side is ours")
        return one
    }

    @Test func editEditKeepsBothAndTheLaterWins() {
        let base: [PlainPath: EntryKind] = [p("d"): .directory, p("d/a.txt"): file(1)]
        let m = both(base, [p("d"): .directory, p("d/a.txt"): file(2)], [p("d"): .directory, p("d/a.txt"): file(3)])
        #expect(m[p("d/a.txt")] == file(3))
        let copies = m.filter { ConflictNames.isConflictCopy($0.key) }
        #expect(copies.count == 1 && copies.first?.value == file(2))
        #expect(copies.first?.key.description == "d/a.sync-conflict-19700101-000001-01010101.txt")
    }

    @Test func modifyBeatsDeleteAndBothCreatesAreKept() {
        let base: [PlainPath: EntryKind] = [p("x"): file(1)]
        let m = both(base, [p("x"): file(2), p("new"): file(5)], [p("new"): file(6)])
        #expect(m[p("x")] == file(2))
        #expect(m.values.map { "\($0)" }.sorted() == [file(2), file(5), file(6)].map { "\($0)" }.sorted())
    }

    @Test func deletedDirectoryComesBackForAChildAddedElsewhere() {
        let base: [PlainPath: EntryKind] = [p("d"): .directory, p("d/old"): file(1)]
        let m = both(base, [p("d"): .directory, p("d/old"): file(1), p("d/new"): file(2)], [:])
        #expect(m == [p("d"): .directory, p("d/new"): file(2)])
    }

    @Test func fileAgainstDirectoryKeepsTheDirectory() {
        let m = both([:], [p("n"): file(1)], [p("n"): .directory, p("n/child"): file(2)])
        #expect(m[p("n")] == .directory && m[p("n/child")] == file(2))
        #expect(m.contains { ConflictNames.isConflictCopy($0.key) && $0.value == file(1) })
    }

    @Test func executableBitOnlyConflictMakesNoCopy() {
        let base: [PlainPath: EntryKind] = [p("s"): file(1)]
        let m = both(base, [p("s"): file(2)], [p("s"): file(2, exec: true)])
        #expect(m == [p("s"): file(2, exec: true)])
    }

    @Test func conflictNamesKeepExtensionsAndFitNAME_MAX() throws {
        let side = late
        #expect(ConflictNames.copyPath(for: p(".bashrc"), side: side, taken: []).description.hasPrefix(".bashrc.sync-conflict-"))
        #expect(ConflictNames.copyPath(for: p("a.tar.gz"), side: side, taken: []).description.hasSuffix("-02020202.gz"))
        let long = try PlainPath(bytes: [UInt8](repeating: 0x61, count: 251) + Array(".txt".utf8))
        let copy = ConflictNames.copyPath(for: long, side: side, taken: [])
        #expect(copy.lastComponent.count <= 255 && copy.description.hasSuffix(".txt"))
        let first = ConflictNames.copyPath(for: p("f"), side: side, taken: [])
        #expect(ConflictNames.copyPath(for: p("f"), side: side, taken: [first]) != first)
    }
}
