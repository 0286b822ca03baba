import Foundation
import Testing
import TestSupport

/// Three agents, random operations, random syncs and partitions, then a check against a model of what
/// must have survived. Seeds are fixed and printed; `SHADOWSYNC_SEED=n` replays one, and
/// `SHADOWSYNC_LONG=1` runs many more seeds and rounds (the long part, outside `.ci/run`).
@Suite(.serialized) struct ConvergenceTests {
    /// Fast part: a few seeds, enough rounds for creates, renames and conflicts to interleave.
    static let plan = SeedPlan(fastSeeds: [1, 2, 3], fastRounds: 12, longSeedCount: 40, longRounds: 30)

    @Test func randomOperationsConvergeWithNothingLost() throws {
        var table: [String] = []
        for seed in Self.plan.seeds {
            // A failing seed is recorded and the others still run: the long run reports them all.
            let run = try ConvergenceRun(seed: seed, rounds: Self.plan.rounds)
            do {
                try run.play()
                table.append(run.summary)
            } catch {
                Issue.record("\(error)")
                table.append("seed \(seed): FAILED")
            }
        }
        print("Convergence (replay one with SHADOWSYNC_SEED=n):\n" + table.joined(separator: "\n"))
    }
}

/// One seeded game. Every write puts a fresh token on its own line (files) or as the target (links).
/// A token may legitimately vanish only when an agent that had it in its folder overwrote, deleted or
/// truncated it; every other token must be somewhere in the final tree, at its path or in a conflict
/// copy or wherever a rename took it. Every final file must hold exactly bytes some agent wrote.
final class ConvergenceRun {
    let seed: UInt64
    let rounds: Int
    var rng: SeededRandom
    let scratch: Scratch
    let agents: [Agent]
    var nextToken = 0
    var model = VersionModel()
    var log: [String] = []
    var syncs = 0, offlineSyncs = 0, conflicts = 0

    /// Names come from small pools so agents collide on them (both-create, edit/edit, rename onto).
    static let fileNames = ["a.txt", "b.txt", "c.md", "d", "e.txt"]
    static let dirNames = ["x", "y", "z"]

    init(seed: UInt64, rounds: Int) throws {
        self.seed = seed
        self.rounds = rounds
        rng = SeededRandom(seed: seed)
        let s = try Scratch("converge-\(seed)")
        scratch = s
        agents = ["a", "b", "c"].map { s.agent($0) }
    }

    var summary: String { "seed \(seed): \(rounds) rounds, \(log.count) log lines, \(syncs) syncs (\(offlineSyncs) while partitioned), \(conflicts) conflict copies, \(model.mustSurvive.count) tokens checked" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The failure with the seed to replay and the last operations that led to it.
    func fail(_ what: String) -> Failure {
        Failure(description: "seed \(seed): \(what)\n(replay: SHADOWSYNC_SEED=\(seed))\n" + log.suffix(60).joined(separator: "\n"))
    }

    func token() -> String {
        nextToken += 1
        return "t\(seed)-\(nextToken)"
    }

    func play() throws {
        let first = agents[0]
        for i in 0..<4 { try writeFile(first, "\(Self.dirNames[i % 3])/base\(i).txt", token() + "\n") }
        try writeFile(first, "top.txt", token() + "\n")
        try first.initialize()
        let key = try first.exportKey()
        for other in agents.dropFirst() { try other.join(keyFile: key) }

        var partitioned: (agent: Int, until: Int)? = nil
        for round in 0..<rounds {
            if partitioned.map({ $0.until <= round }) ?? false { partitioned = nil }
            if partitioned == nil, Int.random(in: 0..<4, using: &rng) == 0 {
                partitioned = (Int.random(in: 0..<3, using: &rng), round + Int.random(in: 1...3, using: &rng))
                log.append("round \(round): \(agents[partitioned!.agent].name) cut off until round \(partitioned!.until)")
            }
            for (i, agent) in agents.enumerated() {
                for _ in 0..<Int.random(in: 0...3, using: &rng) { try operate(agent) }
                guard Int.random(in: 0..<3, using: &rng) != 0 else { continue }
                if partitioned?.agent == i { try syncOffline(agent) } else { try sync(agent) }
            }
        }
        // Heal: sync round-robin until two passes change nothing.
        var stable = 0
        for _ in 0..<6 where stable < 2 {
            let before = agents.map { $0.snapshot() }
            for agent in agents { try sync(agent) }
            let after = agents.map { $0.snapshot() }
            stable = (before == after && Set(after.map { $0.description }).count == 1) ? stable + 1 : 0
        }
        try check()
    }

    // MARK: operations

    func operate(_ agent: Agent) throws {
        let tree = agent.snapshot()
        let files = tree.filter { $0.value.hasPrefix("file") }.map(\.key).sorted()
        let entries = tree.filter { $0.value != "dir" }.map(\.key).sorted()
        let dirs = tree.filter { $0.value == "dir" }.map(\.key).sorted()
        func anyDir() -> String {
            let choice = Int.random(in: 0...dirs.count, using: &rng)
            return choice == dirs.count ? "" : dirs[choice] + "/"
        }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1: // create (or overwrite, when the name is taken)
            let dir = Int.random(in: 0..<3, using: &rng) == 0 ? Self.dirNames.randomElement(using: &rng)! + "/" : anyDir()
            let path = dir + Self.fileNames.randomElement(using: &rng)!
            guard tree[path] != "dir", !isUnderFile(path, tree) else { return }
            discard(agent, path, tree)
            try writeFile(agent, path, token() + "\n")
        case 2: // edit: replace the whole file
            guard let path = files.randomElement(using: &rng) else { return }
            discard(agent, path, tree)
            try writeFile(agent, path, token() + "\n")
        case 3: // append: earlier lines stay
            guard let path = files.randomElement(using: &rng) else { return }
            let old = agent.read(path) ?? ""
            try writeFile(agent, path, old + token() + "\n")
        case 4: // delete a file or link
            guard let path = entries.randomElement(using: &rng) else { return }
            discard(agent, path, tree)
            try agent.remove(path)
            log.append("\(agent.name) rm \(path)")
        case 5: // rename a file or link, within or across directories
            guard let path = entries.randomElement(using: &rng) else { return }
            let target = anyDir() + Self.fileNames.randomElement(using: &rng)!
            guard tree[target] == nil, !isUnderFile(target, tree) else { return }
            try agent.move(path, target)
            log.append("\(agent.name) mv \(path) \(target)")
        case 6: // rename a directory
            guard let dir = dirs.randomElement(using: &rng) else { return }
            let target = Self.dirNames.randomElement(using: &rng)! + String(Int.random(in: 0..<3, using: &rng))
            guard tree[target] == nil else { return }
            try agent.move(dir, target)
            log.append("\(agent.name) mv \(dir)/ \(target)/")
        case 7: // delete a small directory (a big one would trip the mass-delete guard, by design)
            guard let dir = dirs.randomElement(using: &rng) else { return }
            let inside = tree.keys.filter { $0.hasPrefix(dir + "/") }
            guard inside.count <= 3 else { return }
            for path in inside { discard(agent, path, tree) }
            try FileManager.default.removeItem(atPath: agent.folder + "/" + dir)
            log.append("\(agent.name) rm -r \(dir)")
        case 8: // symlink: the target is the token
            let path = anyDir() + "link" + String(Int.random(in: 0..<2, using: &rng))
            guard tree[path] == nil, !isUnderFile(path, tree) else { return }
            let t = token()
            try FileManager.default.createSymbolicLink(atPath: agent.folder + "/" + path, withDestinationPath: t)
            model.wroteLink(t)
            log.append("\(agent.name) ln -s \(t) \(path)")
        default: // chmod: flip the exec bit
            guard let path = files.randomElement(using: &rng) else { return }
            let full = agent.folder + "/" + path
            let mode = (try FileManager.default.attributesOfItem(atPath: full)[.posixPermissions] as? Int) ?? 0o644
            try FileManager.default.setAttributes([.posixPermissions: mode ^ 0o111], ofItemAtPath: full)
            log.append("\(agent.name) chmod \(path) \(String(mode ^ 0o111, radix: 8))")
        }
    }

    func isUnderFile(_ path: String, _ tree: [String: String]) -> Bool {
        var parts = path.split(separator: "/").dropLast()
        while !parts.isEmpty {
            if let kind = tree[parts.joined(separator: "/")], kind != "dir" { return true }
            parts = parts.dropLast()
        }
        return false
    }

    func writeFile(_ agent: Agent, _ path: String, _ text: String) throws {
        model.wroteFile(text)
        try agent.write(path, text)
        log.append("\(agent.name) write \(path) = \(text.split(separator: "\n").joined(separator: ","))")
    }

    /// The agent knowingly replaces what it sees at `path`: those tokens may go.
    func discard(_ agent: Agent, _ path: String, _ tree: [String: String]) {
        guard let value = tree[path] else { return }
        model.discard(value)
    }

    // MARK: syncs

    func sync(_ agent: Agent) throws {
        syncs += 1
        let r = try agent.run(["sync", "--folder", agent.folder])
        log.append("\(agent.name) sync -> \(r.status)")
        guard r.status == 0 else { throw fail("\(agent.name) sync exited \(r.status): \(r.stderr)") }
    }

    /// A partitioned agent syncs with its server unreachable: local changes are committed, the rest
    /// waits (exit 3, retryable), and nothing in the folder changes.
    func syncOffline(_ agent: Agent) throws {
        offlineSyncs += 1
        let away = scratch.remote + ".away"
        try FileManager.default.moveItem(atPath: scratch.remote, toPath: away)
        defer { try? FileManager.default.moveItem(atPath: away, toPath: scratch.remote) }
        let before = agent.snapshot()
        let r = try agent.run(["sync", "--folder", agent.folder])
        log.append("\(agent.name) sync (cut off) -> \(r.status)")
        guard r.status == 3 else { throw fail("\(agent.name) cut off: expected exit 3, got \(r.status): \(r.stderr)") }
        guard agent.snapshot() == before else { throw fail("\(agent.name)'s folder changed during a sync that could not reach the server") }
    }

    // MARK: the final check

    func check() throws {
        let trees = agents.map { $0.snapshot() }
        conflicts = trees[0].keys.filter { $0.contains(".sync-conflict-") }.count
        if let problem = model.problems(zip(agents.map(\.name), trees).map { ($0, $1) }) { throw fail(problem) }
        #expect(!trees[0].isEmpty)
    }
}

/// What must survive a game of random saves. Every write puts a fresh token on its own line (files) or
/// as the target (links). A token may legitimately vanish only when an agent that had it in its folder
/// overwrote, deleted or truncated it (`discard`); every other token must be somewhere in the final
/// tree, at its path or in a conflict copy or wherever a rename took it. Every final file must hold
/// exactly bytes some agent wrote.
struct VersionModel {
    /// Tokens written and not knowingly discarded by an agent that saw them.
    var mustSurvive: Set<String> = []
    /// Every file content any agent wrote: the final tree may hold only these.
    var contentsWritten: Set<String> = []

    mutating func wroteFile(_ text: String) {
        for line in text.split(separator: "\n") { mustSurvive.insert(String(line)) }
        contentsWritten.insert(text)
    }

    mutating func wroteLink(_ token: String) { mustSurvive.insert(token) }

    /// A file content that existed for a moment (a file truncated before its rewrite) and may be synced.
    mutating func allowContent(_ text: String) { contentsWritten.insert(text) }

    /// An agent knowingly replaced or deleted `value` (a `Snapshot` entry): its tokens may go.
    mutating func discard(_ value: String) {
        for t in Self.tokens(value) { mustSurvive.remove(t) }
    }

    static func tokens(_ value: String) -> [String] {
        if value.hasPrefix("link:") { return [String(value.dropFirst(5))] }
        guard let colon = value.firstIndex(of: ":") else { return [] }
        return value[value.index(after: colon)...].split(separator: "\n").map(String.init)
    }

    /// The final trees (agent name, `Snapshot`) against the model: nil when they are identical, hold
    /// only written bytes and lose nothing; else what is wrong.
    func problems(_ trees: [(name: String, tree: [String: String])]) -> String? {
        guard let (firstName, final) = trees.first else { return "no trees" }
        for (name, tree) in trees.dropFirst() where tree != final {
            let diff = Set(tree.map { "\($0.key)=\($0.value)" }).symmetricDifference(final.map { "\($0.key)=\($0.value)" })
            return "\(name) differs from \(firstName): \(diff.sorted())"
        }
        var present: Set<String> = []
        for (path, value) in final where value != "dir" {
            present.formUnion(Self.tokens(value))
            if value.hasPrefix("file") {
                let content = String(value[value.index(after: value.firstIndex(of: ":")!)...])
                guard contentsWritten.contains(content) else { return "\(path) holds bytes no agent wrote: \(content.debugDescription)" }
            }
        }
        let lost = mustSurvive.subtracting(present)
        guard lost.isEmpty else { return "writes lost: \(lost.sorted()); final tree: \(final.sorted { $0.key < $1.key })" }
        return nil
    }

    /// The tokens of `mustSurvive` missing from `tree`.
    func lost(in tree: [String: String]) -> Set<String> {
        mustSurvive.subtracting(tree.values.flatMap { $0 == "dir" ? [] : Self.tokens($0) })
    }
}
