import Foundation
import Testing
import TestSupport

/// Three live daemons (`shadowsync run`) over a real sshd and a real prosody on loopback, with seeded
/// random saves on all three at once, daemons SIGKILLed mid-pass and restarted, and both servers
/// restarted. At the end (daemons quiet, then one sync round) the trees must be identical, every
/// version not knowingly replaced must be present (at its path or in a conflict copy), no file may
/// hold bytes nobody wrote, and fsck must pass. The seed fixes the choice of operations; the daemons'
/// timing still varies between runs. `SHADOWSYNC_SEED=n` replays one seed, `SHADOWSYNC_LONG=1` runs
/// many seeds and rounds.
@Suite(.serialized, .enabled(if: SSHServer.available && XMPPServer.available)) struct LiveStressTests {
    static let plan = SeedPlan(fastSeeds: [1, 2, 3], fastRounds: 8, longSeedCount: 20, longRounds: 30)

    @Test func liveDaemonsUnderRandomSavesAndCrashesLoseNoVersion() throws {
        let servers = try StressServers()
        var table: [String] = []
        for seed in Self.plan.seeds {
            print("live stress: seed \(seed) (replay with SHADOWSYNC_SEED=\(seed))")
            let run = try LiveStressRun(seed: seed, rounds: Self.plan.rounds, servers: servers)
            do {
                try run.play()
                table.append(run.summary)
            } catch {
                Issue.record("\(error)")
                table.append("seed \(seed): FAILED")
            }
            run.stopDaemons()
        }
        print("Live stress (replay one with SHADOWSYNC_SEED=n):\n" + table.joined(separator: "\n"))
    }
}

/// A private sshd and prosody for the stress suite, which restarts them: the shared servers of this
/// process serve other suites running alongside.
final class StressServers {
    let base: String
    let ssh: SSHServer.Info
    let xmpp: XMPPServer.Info
    var sshBase: String { base + "/sshd" }
    var xmppBase: String { base + "/prosody" }

    init() throws {
        base = NSTemporaryDirectory() + "shadowsync-e2e-stress-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let sshPort = try Self.start(SSHServer.testsDirectory.appendingPathComponent("ssh-server.sh").path, base + "/sshd")
        let fingerprint = SSHServer.shell(["ssh-keygen", "-lf", base + "/sshd/ssh/host_ed25519.pub"]).output.split(separator: " ")[1]
        let user = (try? String(contentsOfFile: base + "/sshd/user", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "root"
        ssh = SSHServer.Info(base: base + "/sshd", port: sshPort, user: user, fingerprint: String(fingerprint), otherHostKeyLine: "")
        let xmppPort = try Self.start(XMPPServer.script, base + "/prosody")
        xmpp = XMPPServer.Info(base: base + "/prosody", port: xmppPort)
    }

    /// Starts a server script on port 0: the script picks a free port (retrying if another process takes
    /// it first) and writes the one its server bound to BASE/port.
    private static func start(_ script: String, _ base: String) throws -> Int {
        let r = SSHServer.shell(["bash", script, "start", base, "0"])
        guard r.status == 0, let port = XMPPServer.port(base) else {
            throw SSHServer.ShellError(description: "\(script) did not start: \(r.output)")
        }
        return port
    }

    /// Stops and starts sshd on the same port (the agents' URLs and known_hosts name it).
    func restartSSH() throws { try restart(SSHServer.testsDirectory.appendingPathComponent("ssh-server.sh").path, sshBase, ssh.port) }
    func restartXMPP() throws { try restart(XMPPServer.script, xmppBase, xmpp.port) }

    private func restart(_ script: String, _ base: String, _ port: Int) throws {
        _ = SSHServer.shell(["bash", script, "stop", base])
        let r = SSHServer.shell(["bash", script, "start", base, String(port)])
        guard r.status == 0 else { throw SSHServer.ShellError(description: "\(script) did not restart on port \(port): \(r.output)") }
    }

    deinit {
        _ = SSHServer.shell(["bash", SSHServer.testsDirectory.appendingPathComponent("ssh-server.sh").path, "stop", sshBase])
        _ = SSHServer.shell(["bash", XMPPServer.script, "stop", xmppBase])
        try? FileManager.default.removeItem(atPath: base)
    }
}

/// One seeded game against live daemons. The model (`VersionModel`, shared with the one-shot
/// convergence game) gets every write; a save replaces an existing file with rename(2)'s
/// RENAME_EXCHANGE and a delete moves the entry out of the folder, so what an operation replaced is
/// known exactly even when a daemon changed the file an instant before: only that is discarded. A
/// replaced version the agent had not seen (a daemon applied it between the agent's look and its
/// save) is counted as an unseen overwrite: a user's race, not a loss by the engine.
final class LiveStressRun {
    let seed: UInt64
    let rounds: Int
    let servers: StressServers
    var rng: SeededRandom
    let scratch: Scratch
    let agents: [Agent]
    var daemons: [RunningDaemon?] = [nil, nil, nil]
    /// Logs of daemons already stopped or killed, per agent.
    var pastLogs = ["", "", ""]
    var model = VersionModel()
    var log: [String] = []
    var nextToken = 0, nextTemp = 0
    let started = Date()
    var operations = 0, kills = 0, sshRestarts = 0, xmppRestarts = 0, unseenOverwrites = 0, racedWrites = 0, conflicts = 0

    static let dirs = ["", "x/", "y/", "x/z/"]
    static let names = ["a.txt", "b.txt", "c.md", "d"]
    /// How long the daemons get to agree once the saves stop (SIGKILLed passes, server restarts and
    /// backoff included) before the run counts as not converging: they agree within about ten seconds
    /// when all is well; the long run allows for more backoff after more server restarts.
    static var convergenceSeconds: Double { ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" ? 150 : 60 }
    /// `SHADOWSYNC_STRESS_NO_SWAPS=1` leaves out directory/symlink swaps, to look past a failure they cause.
    static let swaps = ProcessInfo.processInfo.environment["SHADOWSYNC_STRESS_NO_SWAPS"] != "1"
    /// How long trees, heads and states must stay unchanged to count as quiet: over a fetch poll.
    static let quietSeconds = 3.0
    static let pollSeconds = 2
    /// How long a kill waits for the daemon to start a pass, so that most kills land mid-pass.
    static let midPassWaitSeconds = 3.0

    init(seed: UInt64, rounds: Int, servers: StressServers) throws {
        self.seed = seed
        self.rounds = rounds
        self.servers = servers
        rng = SeededRandom(seed: seed)
        let s = try Scratch("stress-\(seed)")
        scratch = s
        agents = ["a", "b", "c"].map { s.agent($0) }
        try FileManager.default.createDirectory(atPath: s.root.path + "/tmp", withIntermediateDirectories: true)
    }

    var summary: String {
        "seed \(seed): \(rounds) rounds, \(operations) operations, \(kills) daemon kills, \(sshRestarts) sshd and \(xmppRestarts) prosody restarts, "
            + "\(unseenOverwrites) unseen overwrites, \(racedWrites) writes raced by a replace, \(conflicts) conflict copies, "
            + "\(model.mustSurvive.count) versions checked, \(Int(Date().timeIntervalSince(started))) s"
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    func note(_ line: String) { log.append(String(format: "%7.3f ", Date().timeIntervalSince(started)) + line) }

    /// The failure, with the seed, the operations that touched what was lost and the daemons' log lines about it.
    func fail(_ what: String, lost: Set<String> = []) -> Failure {
        var text = "seed \(seed): \(what)\n(replay: SHADOWSYNC_SEED=\(seed))\n"
        if lost.isEmpty {
            text += log.suffix(60).joined(separator: "\n")
        } else {
            let lines = log.filter { line in lost.contains { line.contains($0 + ",") || line.contains($0 + " ") || line.hasSuffix($0) } }
            text += "operations on the lost versions:\n" + lines.joined(separator: "\n") + "\n"
            text += "the whole game (last 300 steps):\n" + log.suffix(300).joined(separator: "\n") + "\n"
            let names = Set(lines.flatMap { $0.split(separator: " ").filter { $0.contains(".txt") || $0.contains(".md") || $0.hasSuffix("/d") || $0 == "d" } }
                .map { String($0.split(separator: "/").last ?? "") })
            for (i, agent) in agents.enumerated() {
                let daemonLog = pastLogs[i] + (daemons[i]?.log ?? "")
                let relevant = daemonLog.split(separator: "\n").filter { l in names.contains { l.contains($0) } || l.contains("conflict") || l.contains("failed") }
                text += "daemon log of \(agent.name) (lines naming those files, conflicts, failures):\n" + relevant.suffix(40).joined(separator: "\n") + "\n"
            }
        }
        return Failure(description: text)
    }

    func token() -> String {
        nextToken += 1
        return "s\(seed)-\(nextToken)"
    }

    func path(_ i: Int, _ rel: String) -> String { agents[i].folder + "/" + rel }

    // MARK: the game

    func play() throws {
        let a = agents[0]
        for (i, rel) in ["x/base.txt", "y/base.txt", "top.txt"].enumerated() {
            let text = token() + "\n"
            try a.write(rel, text)
            model.wroteFile(text)
            note("a write \(rel) = \(text.dropLast()) (seed file \(i))")
        }
        let repo = try scratch.serverRepository()
        let url = servers.ssh.url(repo)
        try a.ok(["init", a.folder, "--remote", url, "--no-passphrase", "--ssh-key", servers.ssh.key("client_ed25519"),
                  "--known-hosts", servers.ssh.knownHosts])
        let key = try a.exportKey()
        for other in agents.dropFirst() {
            try other.ok(["join", url, other.folder, "--key-file", key, "--no-passphrase", "--ssh-key", servers.ssh.key("client_ecdsa"),
                          "--accept-host-key", servers.ssh.fingerprint])
        }
        for agent in agents {
            try agent.setDoorbellTimings(poll: Self.pollSeconds)
            try agent.useDoorbell(servers.xmpp)
        }
        for i in agents.indices { try startDaemon(i) }
        for d in daemons { try d?.waitForPeers(2, timeout: 30) }

        var restartAt: [Int: Int] = [:]
        for round in 0..<rounds {
            for (i, r) in restartAt where r <= round {
                try startDaemon(i)
                restartAt[i] = nil
            }
            // A burst: a few operations on random agents, back to back.
            for _ in 0..<Int.random(in: 2...7, using: &rng) { try operate(Int.random(in: 0..<3, using: &rng)) }
            // The same file saved on all three within milliseconds.
            if Int.random(in: 0..<2, using: &rng) == 0 { try saveEverywhere() }
            switch Int.random(in: 0..<8, using: &rng) {
            case 0, 1:
                let i = Int.random(in: 0..<3, using: &rng)
                if daemons[i] != nil {
                    try killMidPass(i)
                    restartAt[i] = round + Int.random(in: 1...2, using: &rng)
                }
            case 2:
                note("sshd restarts")
                try servers.restartSSH()
                sshRestarts += 1
            case 3:
                note("prosody restarts")
                try servers.restartXMPP()
                xmppRestarts += 1
            default: break
            }
            // Pacing only: the next burst lands at a random point of the daemons' passes.
            usleep(UInt32.random(in: 50_000...900_000, using: &rng))
        }
        for i in agents.indices where daemons[i] == nil { try startDaemon(i) }
        note("saves stop; waiting for the daemons to agree")
        try waitForQuiet()
        stopDaemons()
        // A final round of one-shot syncs, as a user would run before comparing.
        for _ in 0..<2 { for agent in agents { try agent.ok(["sync", "--folder", agent.folder]) } }
        try check()
    }

    func startDaemon(_ i: Int) throws {
        daemons[i] = try RunningDaemon(agents[i])
        note("\(agents[i].name) daemon started (pid \(daemons[i]!.process.pid))")
    }

    /// Waits (bounded) for the daemon to start a pass, then SIGKILLs it.
    func killMidPass(_ i: Int) throws {
        guard let d = daemons[i] else { return }
        let deadline = Date().addingTimeInterval(Self.midPassWaitSeconds)
        var state = "?"
        while Date() < deadline {
            state = ((try? d.status())?["state"] as? String) ?? "?"
            if state != "idle" { break }
            usleep(20_000)
        }
        d.kill9()
        pastLogs[i] += d.log + "[SIGKILL]\n"
        daemons[i] = nil
        kills += 1
        note("\(agents[i].name) daemon SIGKILLed (state \(state))")
    }

    func stopDaemons() {
        for (i, d) in daemons.enumerated() {
            guard let d else { continue }
            let (status, log) = d.stop()
            pastLogs[i] += log
            if status != 0 { note("\(agents[i].name) daemon exited \(status) on SIGTERM") }
            daemons[i] = nil
        }
    }

    /// Until the three trees are equal and every daemon is at one head with no pending events and no
    /// error, and each daemon has since completed a pass (a poll) that changed none of that. Phases
    /// are not waited on: with a poll every two seconds on each of three daemons, all three are rarely
    /// idle at the same instant.
    func waitForQuiet() throws {
        let deadline = Date().addingTimeInterval(Self.convergenceSeconds)
        var agreedAt: (fingerprint: String, passes: [Int])?
        while Date() < deadline {
            let statuses = daemons.map { (try? $0?.status()) ?? [:] }
            let trees = agents.map { $0.snapshot() }
            let calm = statuses.allSatisfy { $0["pending_events"] as? Int == 0 && $0["last_error"] == nil && $0["head"] is String }
            let heads = Set(statuses.map { $0["head"] as? String ?? "none" })
            let passes = statuses.map { $0["passes"] as? Int ?? 0 }
            let fingerprint = "\(heads.sorted()) \(trees[0].sorted { $0.key < $1.key })"
            if calm && heads.count == 1 && trees[1] == trees[0] && trees[2] == trees[0] {
                if let agreed = agreedAt, agreed.fingerprint == fingerprint {
                    // A pass that started after agreement was reached and ended without changing it.
                    if zip(passes, agreed.passes).allSatisfy({ $0 >= $1 + 2 }) {
                        note("the daemons agree")
                        return
                    }
                } else {
                    agreedAt = (fingerprint, passes)
                }
            } else {
                agreedAt = nil
            }
            usleep(200_000)
        }
        let statuses = daemons.map { (try? $0?.status()) ?? [:] }
        let trees = agents.map { $0.snapshot() }
        var text = "the daemons did not agree within \(Int(Self.convergenceSeconds)) s\n"
        for (i, status) in statuses.enumerated() {
            let brief = ["state", "head", "pending_events", "passes", "last_error", "retry_at"].map { "\($0)=\(status[$0] ?? "nil")" }
            text += "\(agents[i].name): \(brief.joined(separator: " "))\n"
        }
        text += "a/b: \(snapshotDifference(trees[0], trees[1]))\na/c: \(snapshotDifference(trees[0], trees[2]))\n"
        for (i, agent) in agents.enumerated() {
            let lines = (pastLogs[i] + (daemons[i]?.log ?? "")).split(separator: "\n")
            text += "daemon log of \(agent.name) (last lines):\n" + lines.suffix(25).joined(separator: "\n") + "\n"
        }
        throw fail(text)
    }

    // MARK: operations

    func operate(_ i: Int) throws {
        let tree = agents[i].snapshot()
        let files = tree.filter { $0.value.hasPrefix("file") && !$0.key.contains(".sync-conflict-") }.map(\.key).sorted()
        let entries = tree.filter { $0.value != "dir" }.map(\.key).sorted()
        let dirs = tree.filter { $0.value == "dir" }.map(\.key).sorted()
        let links = tree.filter { $0.value.hasPrefix("link:") }.map(\.key).sorted()
        operations += 1
        switch Int.random(in: 0..<14, using: &rng) {
        case 0, 1, 2: // editor save: a new file, or a new version over an existing one
            let rel = randomPath()
            guard tree[rel] != "dir" else { return }
            try save(i, rel, token() + "\n", seen: tree[rel])
        case 3: // rewrite in place (truncate, write)
            guard let rel = files.randomElement(using: &rng) else { return }
            try writeInPlace(i, rel, token() + "\n", append: false)
        case 4: // append in place
            guard let rel = files.randomElement(using: &rng) else { return }
            try writeInPlace(i, rel, token() + "\n", append: true)
        case 5: // delete a file or link
            guard let rel = entries.randomElement(using: &rng) else { return }
            try moveOut(i, rel, why: "rm")
        case 6: // rename a file or link, never over an existing name
            guard let rel = entries.randomElement(using: &rng) else { return }
            let target = randomPath()
            guard makeParents(i, target) else { return }
            let rc = AtomicRename.noReplace(path(i, rel), path(i, target))
            note("\(agents[i].name) mv \(rel) \(target) -> \(rc == 0 ? "ok" : String(cString: strerror(rc)))")
        case 7: // rename a directory
            guard let dir = dirs.randomElement(using: &rng) else { return }
            let target = ["x", "y", "w"].randomElement(using: &rng)! + String(Int.random(in: 0..<2, using: &rng))
            let rc = AtomicRename.noReplace(path(i, dir), path(i, target))
            note("\(agents[i].name) mv \(dir)/ \(target)/ -> \(rc == 0 ? "ok" : String(cString: strerror(rc)))")
        case 8: // a small directory becomes a symlink
            guard Self.swaps, let dir = dirs.randomElement(using: &rng), tree.keys.filter({ $0.hasPrefix(dir + "/") }).count <= 3 else { return }
            try moveOut(i, dir, why: "rm -r")
            let t = token()
            if symlink(t, path(i, dir)) == 0 {
                model.wroteLink(t)
                note("\(agents[i].name) ln -s \(t) \(dir) (was a directory)")
            }
        case 9: // a symlink becomes a directory with a file
            guard Self.swaps, let link = links.randomElement(using: &rng) else { return }
            try moveOut(i, link, why: "rm")
            guard mkdir(path(i, link), 0o755) == 0 else { return }
            try save(i, link + "/a.txt", token() + "\n", seen: nil)
        case 10: // a new symlink
            let rel = Self.dirs.randomElement(using: &rng)! + "link" + String(Int.random(in: 0..<2, using: &rng))
            guard tree[rel] == nil, makeParents(i, rel) else { return }
            let t = token()
            if symlink(t, path(i, rel)) == 0 {
                model.wroteLink(t)
                note("\(agents[i].name) ln -s \(t) \(rel)")
            }
        case 11, 12: // chmod: the exec bit, or the group and other bits
            guard let rel = files.randomElement(using: &rng) else { return }
            var st = stat()
            guard lstat(path(i, rel), &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
            let old = st.st_mode & 0o7777
            let mode = Bool.random(using: &rng) ? old ^ 0o111 : ([0o600, 0o640, 0o644, 0o664] as [mode_t]).randomElement(using: &rng)! | (old & 0o111)
            chmod(path(i, rel), mode)
            note("\(agents[i].name) chmod \(String(mode, radix: 8)) \(rel)")
        default: // touch -d: an mtime in the past
            guard let rel = files.randomElement(using: &rng) else { return }
            let seconds = Int.random(in: 1_000_000_000...1_700_000_000, using: &rng)
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            utimensat(AT_FDCWD, path(i, rel), &times, AT_SYMLINK_NOFOLLOW)
            note("\(agents[i].name) touch -d @\(seconds) \(rel)")
        }
    }

    func randomPath() -> String { Self.dirs.randomElement(using: &rng)! + Self.names.randomElement(using: &rng)! }

    /// The same file saved on every agent, one right after the other.
    func saveEverywhere() throws {
        let rel = randomPath()
        note("same file on all three: \(rel)")
        for i in [0, 1, 2].shuffled(using: &rng) {
            let seen = agents[i].snapshot()[rel]
            guard seen != "dir" else { continue }
            if seen?.hasPrefix("file") == true && Bool.random(using: &rng) {
                try writeInPlace(i, rel, token() + "\n", append: false)
            } else {
                try save(i, rel, token() + "\n", seen: seen)
            }
        }
    }

    /// Creates the parent directories of `rel`; false when a parent is a file or link.
    func makeParents(_ i: Int, _ rel: String) -> Bool {
        var dir = agents[i].folder
        for part in rel.split(separator: "/").dropLast() {
            dir += "/" + part
            var st = stat()
            if lstat(dir, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else { return false }
            } else if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                return false
            }
        }
        return true
    }

    /// An editor's save: the new version written to a temporary file, then renamed over the name. The
    /// rename exchanges the two, so what it replaced is in hand afterwards, exactly.
    func save(_ i: Int, _ rel: String, _ text: String, seen: String?) throws {
        guard makeParents(i, rel) else { return }
        nextTemp += 1
        let temp = scratch.root.path + "/tmp/save-\(nextTemp)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temp))
        let target = path(i, rel)
        for _ in 0..<3 {
            var rc = AtomicRename.exchange(temp, target)
            if rc == 0 {
                let replaced = values(at: temp)
                for v in replaced { model.discard(v) }
                if replaced.flatMap(VersionModel.tokens) != (seen.map(VersionModel.tokens) ?? []) {
                    unseenOverwrites += 1
                    note("\(agents[i].name) save over \(rel) replaced \(replaced), not what it saw (\(seen ?? "nothing"))")
                }
                try? FileManager.default.removeItem(atPath: temp)
                model.wroteFile(text)
                note("\(agents[i].name) save \(rel) = \(text.dropLast())")
                return
            }
            guard rc == ENOENT else { break }
            rc = AtomicRename.noReplace(temp, target)
            if rc == 0 {
                if seen != nil { note("\(agents[i].name) save \(rel): it was gone, created it") }
                model.wroteFile(text)
                note("\(agents[i].name) save \(rel) = \(text.dropLast()) (new)")
                return
            }
            guard rc == EEXIST else { break }
        }
        try? FileManager.default.removeItem(atPath: temp)
        note("\(agents[i].name) save \(rel): skipped")
    }

    /// Rewrites (or appends to) the file through one descriptor. What it held is read through the same
    /// descriptor, so it is exactly what is replaced; if a daemon renamed another file over the name
    /// meanwhile, the write went to a file no longer in the folder and is not counted.
    func writeInPlace(_ i: Int, _ rel: String, _ text: String, append: Bool) throws {
        let p = path(i, rel)
        let fd = open(p, O_RDWR | O_NOFOLLOW)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        var old: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(old.count)) }
            if n <= 0 { break }
            old += buffer[0..<n]
        }
        let oldText = String(decoding: old, as: UTF8.self)
        let bytes = Array(text.utf8)
        if append {
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(old.count)) }
        } else {
            // A daemon may read the file between the truncate and the write: empty is a version too.
            model.allowContent("")
            ftruncate(fd, 0)
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        let new = append ? oldText + text : text
        var now = stat(), named = stat()
        guard fstat(fd, &now) == 0, now.st_nlink > 0, lstat(p, &named) == 0, named.st_ino == now.st_ino else {
            racedWrites += 1
            model.allowContent(new)
            note("\(agents[i].name) \(append ? "append" : "rewrite") \(rel) = \(text.dropLast()): the name was replaced meanwhile; not counted")
            return
        }
        if !append { model.discard("file:" + oldText) }
        model.wroteFile(new)
        note("\(agents[i].name) \(append ? "append" : "rewrite") \(rel) = \(new.split(separator: "\n").joined(separator: ","))")
    }

    /// Deletes by moving the entry out of the folder (one atomic step), then discards exactly what moved.
    func moveOut(_ i: Int, _ rel: String, why: String) throws {
        nextTemp += 1
        let trash = scratch.root.path + "/tmp/trash-\(nextTemp)"
        guard rename(path(i, rel), trash) == 0 else { return }
        let gone = values(at: trash)
        for v in gone { model.discard(v) }
        try? FileManager.default.removeItem(atPath: trash)
        note("\(agents[i].name) \(why) \(rel) (held \(gone.flatMap(VersionModel.tokens)))")
    }

    /// The `Snapshot` values of the entry at `full`: itself if a file or link, everything under it if a directory.
    func values(at full: String) -> [String] {
        var st = stat()
        guard lstat(full, &st) == 0 else { return [] }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return Array(Snapshot.take(full).values).filter { $0 != "dir" }
        case S_IFLNK: return ["link:" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "")]
        default: return ["file:" + String(decoding: readRaw(Array(full.utf8)), as: UTF8.self)]
        }
    }

    // MARK: the final check

    func check() throws {
        let trees = agents.map { $0.snapshot() }
        conflicts = trees[0].keys.filter { $0.contains(".sync-conflict-") }.count
        if let problem = model.problems(zip(agents.map(\.name), trees).map { ($0, $1) }) {
            throw fail(problem, lost: model.lost(in: trees[0]))
        }
        for agent in agents {
            let r = try agent.run(["fsck", "--folder", agent.folder])
            guard r.status == 0 else { throw fail("fsck of \(agent.name) exited \(r.status): \(r.stdout)\(r.stderr)") }
        }
        let metadata = agents.map { Self.metadata($0.folder) }
        for (agent, m) in zip(agents, metadata).dropFirst() where m != metadata[0] {
            throw fail("modes or mtimes of \(agent.name) differ from a's: \(snapshotDifference(metadata[0], m))")
        }
    }

    /// Path → permission bits and mtime (whole seconds) of every regular file under `root`.
    static func metadata(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        for rel in FileManager.default.enumerator(atPath: root)?.compactMap({ $0 as? String }) ?? [] {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            out[rel] = "\(String(st.st_mode & 0o7777, radix: 8)) \(st.st_mtim.tv_sec)"
        }
        return out
    }
}
