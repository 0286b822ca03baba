import Testing
import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// What `--at` names (History.resolveRevision): commit ids, first-parent steps through a merge, and
/// moments (`yesterday`, a date, `N days ago`) judged by the time each commit records.
@Suite struct RevisionTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "revision-test-") }

    func write(_ engine: SyncEngine, _ path: String, _ text: String) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: engine.location.plain.appending(path), mode: 0o644)
    }

    @Test func momentsStepsAndIdsNameTheRightCommit() throws {
        defer { try? FileSystem.removeTree(dir) }
        let keys = VaultKeys.generate()
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try makeEngine(in: dir, "a", keys: keys, remote: remote)
        try write(a, "doc.txt", "one\n")
        _ = try a.initialize()
        let b = try makeEngine(in: dir, "b", keys: keys, remote: remote)
        _ = try b.join()
        try write(a, "doc.txt", "two\n")
        let second = try #require(try a.sync().head)
        try write(b, "other.txt", "b's\n")
        let merged = try #require(try b.sync().head)  // b's commit, then a merge with a's
        let history = History(keys: keys, store: b.store, location: b.location)
        let info = try b.store.commit(merged)
        #expect(info.parents.count == 2)

        let now = Clock.nowMillis()
        let day = History.secondsPerDay * 1000
        #expect(try history.resolveRevision("HEAD", nowMillis: now) == merged)
        #expect(try history.resolveRevision("main~1", nowMillis: now) == info.parents[0])
        #expect(try history.resolveRevision("HEAD^", nowMillis: now) == info.parents[0])
        #expect(try history.resolveRevision(String(second.hex.prefix(10)), nowMillis: now) == second)
        // Seen from tomorrow, everything was synced "yesterday" and "1 days ago": the head.
        #expect(try history.resolveRevision("yesterday", nowMillis: now + day) == merged)
        #expect(try history.resolveRevision("1 days ago", nowMillis: now + day + 1000) == merged)
        #expect(try history.resolveRevision(String(isoTime(now + day).prefix(10)), nowMillis: now + day) == merged)
        // Before the first commit there is nothing to name, and the message says when history starts.
        let tooEarly = #expect(throws: ShadowError.self) { try history.resolveRevision("yesterday", nowMillis: now) }
        #expect(tooEarly?.code == .notFound && tooEarly?.message.contains("the oldest commit is from") == true)
        #expect(throws: ShadowError.self) { try history.resolveRevision("HEAD~9", nowMillis: now) }
        #expect(throws: ShadowError.self) { try history.resolveRevision("last tuesday", nowMillis: now) }
        // The version at a revision: a's first save, from the first commit.
        #expect(try history.version(of: try PlainPath("doc.txt"), at: try history.resolveRevision("HEAD~2", nowMillis: now)) == .file(Array("one\n".utf8)))
    }

    @Test func datesAreUTCAndADateAloneIsTheEndOfItsDay() {
        #expect(History.parseUTC("1970-01-01T00:00") == 0)
        #expect(History.parseUTC("1970-01-01") == 86_399_999)
        #expect(History.parseUTC("2026-11-01T14:30:05Z").map(isoTime) == "2026-11-01T14:30:05Z")
        #expect(History.parseUTC("2024-02-29").map(isoTime) == "2024-02-29T23:59:59Z")
        for bad in ["2026-13-01", "2026-11-01T25:00", "26-11-01", "2026-11-01T14", "tomorrow"] { #expect(History.parseUTC(bad) == nil, "\(bad)") }
        let noon: UInt64 = 1_764_763_200_000  // 2025-12-03T12:00:00Z
        #expect(History.moment("yesterday", nowMillis: noon).map(isoTime) == "2025-12-02T23:59:59Z")
        #expect(History.moment("2 hours ago", nowMillis: noon).map(isoTime) == "2025-12-03T10:00:00Z")
    }
}
