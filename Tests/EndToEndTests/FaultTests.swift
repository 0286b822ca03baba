import Foundation
import Testing
import TestSupport

/// kill -9 at every point of a sync where state changes (walked in order with SHADOWSYNC_CRASH_AT=#n),
/// and a full disk under the plaintext folder and under the shadow tree. Each time: no half-written
/// file under a real name, nothing lost, and the agents converge once the fault is gone.
@Suite(.serialized) struct FaultTests {
    /// A and B synced; A pushed edits and a new file B must apply; B has a new file, a new directory,
    /// a delete, a rename and an edit of its own to commit, merge and push.
    static func crashScenario(_ name: String) throws -> (Scratch, Agent, Agent) {
        let s = try Scratch(name)
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<6 { try a.write("shared/\(i).txt", "base \(i)\n") }
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        for i in 0..<4 { try a.write("shared/\(i).txt", "from a \(i)\n") }
        try a.write("a-new.txt", "a\n")
        try a.sync()
        try b.write("b-new.txt", "b\n")
        try b.write("b-dir/deep.txt", "deep\n")
        try b.remove("shared/3.txt")
        try b.move("shared/4.txt", "moved-4.txt")
        try b.write("shared/5.txt", "from b 5\n")
        return (s, a, b)
    }

    /// What both folders hold once everything has synced (shared/3.txt: edited on A, deleted on B, and
    /// modify beats delete).
    static let converged: [String: String] = [
        "shared": "dir", "shared/0.txt": "file:from a 0\n", "shared/1.txt": "file:from a 1\n", "shared/2.txt": "file:from a 2\n",
        "shared/3.txt": "file:from a 3\n", "shared/5.txt": "file:from b 5\n", "moved-4.txt": "file:base 4\n",
        "a-new.txt": "file:a\n", "b-new.txt": "file:b\n", "b-dir": "dir", "b-dir/deep.txt": "file:deep\n",
    ]

    /// Every value a file may have at any moment: old, new, or either side's, never anything torn.
    static let wholeValues: Set<String> = Set((0..<6).map { "file:base \($0)\n" } + (0..<4).map { "file:from a \($0)\n" }
        + ["file:a\n", "file:b\n", "file:deep\n", "file:from b 5\n"])

    @Test func killedAtEveryPointOfASyncResumesAndConverges() throws {
        let (s, a, b) = try Self.crashScenario("crash-walk")
        let template = s.root.path + ".template"
        try copyTree(s.root.path, template)
        defer { try? FileManager.default.removeItem(atPath: template) }

        // A clean run, traced: how many points a sync of this scenario passes.
        let trace = s.root.path + ".trace"
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let clean = try Binaries.run("shadowsync", ["sync", "--folder", b.folder], environment: b.environment.merging(["SHADOWSYNC_CRASH_TRACE": trace]) { $1 })
        #expect(clean.status == 0, "\(clean.stderr)")
        let points = (try String(contentsOfFile: trace, encoding: .utf8)).split(separator: "\n").map { String($0.split(separator: " ")[1]) }
        #expect(points.count >= 40, "only \(points.count) crash points: \(points)")
        for name in ["commit-objects", "commit-ref", "merge-commit", "apply-second", "pushed", "git-push", "plain-written", "file-renamed"] {
            #expect(points.contains(name), "the sync never passed \(name)")
        }

        var table: [String: Int] = [:]
        for (n, name) in points.enumerated().map({ ($0.offset + 1, $0.element) }) {
            try FileManager.default.removeItem(atPath: s.root.path)
            try copyTree(template, s.root.path)
            let crashed = try b.run(["sync", "--folder", b.folder], crashAt: "#\(n)")
            #expect(crashed.status == 128 + SIGKILL, "point #\(n) (\(name)) was not reached: exit \(crashed.status) \(crashed.stderr)")
            for (path, value) in b.snapshot() where value.hasPrefix("file") {
                #expect(Self.wholeValues.contains(value), "after a crash at #\(n) (\(name)), \(path) = \(value.debugDescription)")
            }
            try b.sync()
            try a.sync()
            try b.sync()
            #expect(b.snapshot() == Self.converged, "crash at #\(n) (\(name)): B = \(b.snapshot())")
            #expect(a.snapshot() == Self.converged, "crash at #\(n) (\(name)): A = \(a.snapshot())")
            #expect(!(try FileManager.default.subpathsOfDirectory(atPath: b.folder)).contains { $0.contains(".shadowsync-tmp-") }, "temporaries left after #\(n)")
            table[name, default: 0] += 1
        }
        print("kill -9 at \(points.count) points of one sync, each followed by recovery and convergence:\n"
              + table.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }.joined(separator: "\n"))
    }

    /// Both daemons (`shadowsync run`) killed with SIGKILL at random moments while A keeps writing
    /// and B keeps pulling; the seed is printed. Afterwards one sync each: everything A wrote is on B.
    @Test func daemonsKilledAtRandomMomentsLoseNothing() throws {
        let long = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1"
        let seed = ProcessInfo.processInfo.environment["SHADOWSYNC_SEED"].flatMap(UInt64.init) ?? 7
        var rng = SeededRandom(seed: seed)
        let (_, a, b) = try Scratch.daemonPair("daemon-kills")

        var expected: [String: String] = ["start.txt": "file:start\n"]
        var everWritten = Set(expected.values)
        let rounds = long ? 60 : 10
        for round in 0..<rounds {
            let da = try RunningDaemon(a), db = try RunningDaemon(b)
            for j in 0..<Int.random(in: 1...4, using: &rng) {
                let path = "r\(round % 4)/f\(j).txt", text = "round \(round) file \(j)\n"
                try a.write(path, text)
                expected[path] = "file:" + text
                everWritten.insert("file:" + text)
            }
            usleep(UInt32.random(in: 0...1_500_000, using: &rng))
            da.kill9()
            usleep(UInt32.random(in: 0...300_000, using: &rng))
            db.kill9()
            for (path, value) in b.snapshot() where value.hasPrefix("file") {
                #expect(everWritten.contains(value), "seed \(seed) round \(round): B's \(path) = \(value.debugDescription)")
            }
        }
        try a.sync()
        try b.sync()
        let dirs = Set(expected.keys.compactMap { $0.split(separator: "/").count > 1 ? String($0.split(separator: "/")[0]) : nil })
        for d in dirs { expected[d] = "dir" }
        #expect(a.snapshot() == expected, "seed \(seed): \(snapshotDifference(a.snapshot(), expected))")
        #expect(b.snapshot() == expected, "seed \(seed): \(snapshotDifference(b.snapshot(), expected))")
        print("daemons killed \(rounds) times each at random moments (seed \(seed)): \(expected.count) entries converged")
    }

    // MARK: disk full

    /// Mounting a small tmpfs needs root: skipped without it, unless CI is set (then it must run, and
    /// fails loudly if it cannot mount).
    @Test(.enabled(if: ContinuousIntegration.runsAsRoot))
    func plaintextDiskFullKeepsFilesWholeAndRecovers() throws {
        let (_, a, b, mount) = try Scratch.joinedOnASmallDisk("full-plain")
        defer { mount.unmount() }
        #expect(b.read("keep.txt") == "kept\n")

        // A adds more than B's disk holds, and edits a file B has.
        try writeNoise(a.folder + "/big.bin", megabytes: 6)
        try a.write("keep.txt", "edited on a\n")
        try a.sync()
        let full = try b.run(["sync", "--folder", b.folder])
        #expect(full.status == 3, "a full disk is retryable: exit \(full.status) \(full.stderr)")
        #expect(full.stderr.contains("no space left"), "\(full.stderr)")
        #expect(!FileManager.default.fileExists(atPath: b.folder + "/big.bin"), "a half-written big.bin is visible")
        #expect(["kept\n", "edited on a\n"].contains(b.read("keep.txt") ?? "missing"))
        #expect(!(try FileManager.default.subpathsOfDirectory(atPath: b.folder)).contains { $0.contains(".shadowsync-tmp-") })

        try mount.resize(megabytes: 32)
        try b.sync()
        #expect(b.snapshot() == a.snapshot())
        #expect(b.read("keep.txt") == "edited on a\n")
    }

    /// The same full disk under a running daemon: once space returns, its next pass finishes the
    /// interrupted apply from the journal (as a restarted process would) instead of finding nothing new
    /// to fetch and leaving the folder half-applied until a restart.
    @Test(.enabled(if: ContinuousIntegration.runsAsRoot))
    func aDaemonWhoseDiskFilledFinishesTheApplyOnceSpaceReturns() throws {
        let (_, a, b, mount) = try Scratch.joinedOnASmallDisk("full-daemon")
        defer { mount.unmount() }
        try b.setFastTimings()
        let daemon = try RunningDaemon(b)
        defer { _ = daemon.stop() }

        try writeNoise(a.folder + "/big.bin", megabytes: 6)
        try a.write("after.txt", "sorted after big.bin\n")
        try a.sync()
        try eventually("b's daemon reports the full disk") {
            (try daemon.status()["last_error"] as? String)?.contains("no space left") == true
        }
        try mount.resize(megabytes: 32)
        try eventually("b's folder holds everything", timeout: 40) { b.snapshot() == a.snapshot() }
        #expect(b.read("after.txt") == "sorted after big.bin\n")
    }

    @Test(.enabled(if: ContinuousIntegration.runsAsRoot))
    func shadowDiskFullKeepsThePlaintextAndRecovers() throws {
        let s = try Scratch("full-shadow")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("keep.txt", "kept\n")
        try a.initialize()
        let key = try a.exportKey()
        // B's shadow repository and work tree live under its XDG_DATA_HOME.
        try FileManager.default.createDirectory(atPath: b.home + "/data", withIntermediateDirectories: true)
        let mount = try SmallMount(at: b.home + "/data", megabytes: 4)
        defer { mount.unmount() }
        try b.join(keyFile: key)

        // B's own big file cannot be staged; A's edit cannot be fetched either.
        try writeNoise(b.folder + "/mine.bin", megabytes: 6)
        let before = b.snapshot()
        let full = try b.run(["sync", "--folder", b.folder])
        #expect(full.status == 3, "a full disk is retryable: exit \(full.status) \(full.stderr)")
        #expect(full.stderr.contains("no space") || full.stderr.contains("disk is full"), "\(full.stderr)")
        #expect(b.snapshot() == before, "the plaintext changed when the shadow disk was full")

        try a.write("keep.txt", "edited on a\n")
        try a.sync()
        let stillFull = try b.run(["sync", "--folder", b.folder])
        #expect(stillFull.status == 3, "exit \(stillFull.status) \(stillFull.stderr)")
        #expect(b.read("keep.txt") == "kept\n")

        try mount.resize(megabytes: 64)
        try b.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
        #expect(b.read("keep.txt") == "edited on a\n")
        #expect(a.snapshot()["mine.bin"] == before["mine.bin"])
        let fsck = try b.run(["fsck", "--folder", b.folder])
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
    }
}

/// A tmpfs of a given size mounted over a directory (root only); resizable in place.
extension Scratch {
    /// A's vault holding keep.txt, and B joined into a folder on a 4 MB tmpfs (the caller unmounts it).
    static func joinedOnASmallDisk(_ name: String) throws -> (Scratch, Agent, Agent, SmallMount) {
        let s = try Scratch(name)
        let a = s.agent("a"), b = s.agent("b")
        try a.write("keep.txt", "kept\n")
        try a.initialize()
        let key = try a.exportKey()
        let mount = try SmallMount(at: b.folder, megabytes: 4)
        do { try b.join(keyFile: key) } catch { mount.unmount(); throw error }
        return (s, a, b, mount)  // the agents hold the scratch area alive
    }
}

struct SmallMount {
    let path: String

    init(at path: String, megabytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try runChecked(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path])
    }

    func resize(megabytes: Int) throws { try runChecked(["mount", "-o", "remount,size=\(megabytes)m", path]) }

    func unmount() { try? runChecked(["umount", "-l", path]) }
}

/// Copies a directory tree with modes, times and links (cp -a).
func copyTree(_ from: String, _ to: String) throws { try runChecked(["cp", "-a", from, to]) }

/// Runs a command through SSHServer.shell (the suite's one process runner); throws with its output on failure.
private func runChecked(_ args: [String]) throws {
    let r = SSHServer.shell(args)
    guard r.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(args.joined(separator: " ")) failed: \(r.output)"]) }
}

/// Incompressible bytes (a counter through a mixing function), written in 1 MiB pieces.
func writeNoise(_ path: String, megabytes: Int) throws {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(megabytes)
    for _ in 0..<megabytes {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for i in stride(from: 0, to: chunk.count, by: 8) {
            x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9 &+ 1
            withUnsafeBytes(of: x) { chunk.replaceSubrange(i..<i + 8, with: $0) }
        }
        try handle.write(contentsOf: chunk)
    }
}
