import Foundation
import Testing
import TestSupport

/// A running daemon's passes scan only what its watcher saw change. Saves keep coming while those
/// passes run (a short quiet period makes passes start mid-burst), so some land during a pass: after
/// an event read while a pass runs, the next pass must take that path. A save missed there would
/// stay uncommitted until the hourly full rescan, so `status` (which scans everything) would list it.
@Suite(.serialized) struct IncrementalPassTests {
    @Test func savesDuringIncrementalPassesAreNeverMissed() throws {
        let (_, a, b) = try Scratch.daemonPair("incremental-saves")
        try a.ok(["config", "set", "sync.quiet-ms", "20", "--folder", a.folder])
        try a.ok(["config", "set", "sync.max-delay-ms", "200", "--folder", a.folder])
        for d in 0..<4 { for f in 0..<4 { try a.write("w/d\(d)/f\(f).txt", "start\n") } }
        try a.write("gone/inner/x.txt", "to be deleted\n")
        let da = try RunningDaemon(a)
        try eventually("a's first pass committed the start files", timeout: 30) {
            (try? da.status())?["state"] as? String == "idle" && ((try? a.commitCount()) ?? 0) >= 3
        }
        let before = try a.commitCount()

        let saves = 300
        let started = Date()
        for i in 0..<saves {
            let path = "w/d\(i % 4)/f\((i / 4) % 4).txt"
            if i % 3 == 0 {
                // An editor's save: a new file renamed over the old one.
                try a.write("w/.tmp-save", "save \(i)\n")
                #expect(rename(a.folder + "/w/.tmp-save", a.folder + "/" + path) == 0)
            } else {
                try a.write(path, "save \(i)\n")
            }
            if i == saves / 3 { try a.remove("gone") }
            if i == saves / 2 {
                try a.move("w/d3", "moved-d3")
                try a.write("w/d3/f0.txt", "recreated\n")
            }
            usleep(5_000)
        }
        let burst = Date().timeIntervalSince(started)

        do {
            try eventually("a has committed every save", timeout: 60) {
                guard let s = try? da.status(), s["state"] as? String == "idle" else { return false }
                return (s["pending"] as? [Any])?.isEmpty == true
            }
        } catch {
            Issue.record("a: \((try? da.status()) ?? [:])\nlog:\n\(da.log)")
            throw error
        }
        // Passes ran while the saves were being made: more than one commit for the burst.
        let commits = try a.commitCount() - before
        #expect(commits >= 3, "the \(burst) s burst made \(commits) commits; log:\n\(da.log)")
        try b.sync()
        let diff = snapshotDifference(a.snapshot(), b.snapshot())
        #expect(diff.isEmpty, "\(diff)")
        #expect(b.read("moved-d3/f0.txt") != nil && b.read("w/d3/f0.txt") != nil && b.read("gone/inner/x.txt") == nil)
        let (status, log) = da.stop()
        #expect(status == 0, "\(log)")
    }
}
