import Foundation
import Testing
import TestSupport

/// Ten agents on one repository, all pushing at the same moment: every push race has one winner, the
/// losers fetch, merge and retry after a random wait that grows with each lost race, so nobody
/// livelocks and every machine ends with every file. The times to converge are in Docs/BENCHMARKS.md.
@Suite(.serialized) struct ManyAgentsTests {
    static let long = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1"

    /// `count` agents on the scratch's local bare repository, every one holding the same head.
    static func agents(_ s: Scratch, count: Int) throws -> [Agent] {
        let agents = (0..<count).map { s.agent("m\($0)") }
        try agents[0].write("start.txt", "start\n")
        try agents[0].initialize()
        let key = try agents[0].exportKey()
        for agent in agents.dropFirst() { try agent.join(keyFile: key) }
        // Each join pushed its device record: the earlier machines take the later ones'.
        for agent in agents { try agent.sync() }
        return agents
    }

    /// Every agent's new file and its version of the shared file, as a snapshot shows them.
    static func expectedContents(_ agents: [Agent], round: Int) -> (files: [String: String], shared: Set<String>) {
        var files: [String: String] = [:], shared: Set<String> = []
        for agent in agents {
            files["own-\(agent.name)-\(round).txt"] = "file:\(agent.name) round \(round)\n"
            shared.insert("file:shared by \(agent.name) in round \(round)\n")
        }
        return (files, shared)
    }

    static func write(_ agents: [Agent], round: Int) throws {
        for agent in agents {
            try agent.write("own-\(agent.name)-\(round).txt", "\(agent.name) round \(round)\n")
            try agent.write("shared-\(round).txt", "shared by \(agent.name) in round \(round)\n")
        }
    }

    /// True when the agent holds every agent's file and every version of the shared file.
    static func holdsEverything(_ agent: Agent, _ expected: (files: [String: String], shared: Set<String>), round: Int) -> Bool {
        let tree = agent.snapshot()
        let shared = Set(tree.filter { $0.key.hasPrefix("shared-\(round)") }.values)
        return expected.files.allSatisfy { tree[$0.key] == $0.value } && shared == expected.shared
    }

    /// Ten one-shot `sync`s started together: every one exits 0 (no push loop gives up), and after one
    /// more sync each, all ten hold every file's contents and the same tree.
    @Test func tenOneShotSyncsAtOnceAllLandAndConverge() throws {
        let s = try Scratch("ten-oneshot")
        let agents = try Self.agents(s, count: 10)
        let rounds = Self.long ? 3 : 1
        for round in 0..<rounds {
            try Self.write(agents, round: round)
            let started = Date()
            let outcomes = try Binaries.runTogether(agents.map { (["sync", "--folder", $0.folder], $0.environment) })
            #expect(outcomes.map(\.status) == Array(repeating: 0, count: agents.count),
                    "round \(round): \(outcomes.enumerated().filter { $0.element.status != 0 }.map { "\($0.offset): \($0.element.stderr)" })")
            let allPushed = Date().timeIntervalSince(started)
            for agent in agents { try agent.sync() }
            let expected = Self.expectedContents(agents, round: round)
            for agent in agents { #expect(Self.holdsEverything(agent, expected, round: round), "\(agent.name): \(agent.snapshot())") }
            let first = agents[0].snapshot()
            for agent in agents.dropFirst() { #expect(agent.snapshot() == first, "\(agent.name): \(snapshotDifference(first, agent.snapshot()))") }
            print("ten one-shot syncs at once, round \(round): all pushed in \(String(format: "%.1f", allPushed)) s, converged in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }

    /// Daemons (`shadowsync run`, fetching every second) whose machines all save at the same moment:
    /// three in CI, ten with SHADOWSYNC_LONG=1. Every daemon ends with every file's contents.
    @Test func daemonsSavingAtOnceConverge() throws {
        let s = try Scratch("ten-daemons")
        let agents = try Self.agents(s, count: Self.long ? 10 : 3)
        for agent in agents { try agent.setFastTimings() }
        let daemons = try agents.map { try RunningDaemon($0) }
        defer { for d in daemons { _ = d.stop() } }
        try Self.write(agents, round: 0)
        let started = Date()
        let expected = Self.expectedContents(agents, round: 0)
        try eventually("every daemon holds every file", timeout: Self.long ? 300 : 90) {
            agents.allSatisfy { Self.holdsEverything($0, expected, round: 0) }
        }
        let converged = Date().timeIntervalSince(started)
        // Settled: the conflict copies each pass made reach everyone too.
        try eventually("every folder is the same", timeout: Self.long ? 300 : 90) {
            let first = agents[0].snapshot()
            return agents.dropFirst().allSatisfy { $0.snapshot() == first }
        }
        print("\(agents.count) daemons saving at once: every file everywhere in \(String(format: "%.1f", converged)) s, identical trees in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        for d in daemons {
            #expect(!d.log.contains("kept moving"), "\(d.agent.name) gave up a push loop: \(d.log)")
        }
    }
}
