import Foundation
import Testing
import TestSupport

/// A daemon keeps its shadow repository and the local bare remote packed between passes (thresholds
/// lowered through the environment), while another agent syncs from the same remote.
@Suite(.serialized) struct ConsolidationEndToEndTests {
    static let limits = ["SHADOWSYNC_PACK_LIMIT": "3", "SHADOWSYNC_LOOSE_OBJECT_LIMIT": "20"]
    static let edits = 8

    func packs(_ gitDir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: gitDir + "/objects/pack")) ?? []).filter { $0.hasSuffix(".idx") }.count
    }

    @Test func aDaemonConsolidatesBetweenPassesWhileAnotherAgentSyncs() throws {
        let (s, a, b) = try Scratch.daemonPair("consolidate")
        let daemon = try RunningDaemon(a, environment: Self.limits)
        var expectedCommits = try a.commitCount()
        for i in 0..<Self.edits {
            try a.write("notes/n\(i % 3).txt", "edit \(i)\n")
            expectedCommits += 1
            try eventually("edit \(i) committed") { try a.commitCount() == expectedCommits }
            try b.sync()  // fetches while the daemon may be consolidating the remote
        }
        try eventually("both repositories consolidated") {
            daemon.log.contains("consolidated the remote") && daemon.log.contains("consolidated the shadow repository")
        }
        let (status, log) = daemon.stop()
        #expect(status == 0, "\(log)")
        #expect(!log.contains("cannot consolidate"), "\(log)")
        let shadow = try a.ok(["config", "get", "shadow", "--folder", a.folder]).trimmingCharacters(in: .whitespacesAndNewlines) + "/.git"
        #expect(packs(s.remote) <= 3, "\(packs(s.remote)) packs after \(Self.edits) pushes")
        for repo in [s.remote, shadow] {
            let fsck = try TestProcess.run("/usr/bin/git", ["--git-dir=\(repo)", "fsck", "--full", "--strict"], stderr: .toStdout)
            #expect(fsck.status == 0 && !fsck.stdout.contains("missing"), "\(repo): \(fsck.stdout)")
        }
        try b.sync()
        #expect(b.snapshot() == a.snapshot())
        #expect(try b.commitCount() == expectedCommits)
        // A fresh join reads the whole consolidated history.
        let c = s.agent("c")
        try c.join(keyFile: try a.exportKey())
        #expect(c.snapshot() == a.snapshot())
        // The join adds one commit of its own: c's device record.
        #expect(try c.commitCount() == expectedCommits + 1)
    }
}
