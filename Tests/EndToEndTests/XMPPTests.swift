import Foundation
import Testing
import TestSupport
import ShadowCore
import ShadowCrypto
import ShadowXMPP

/// The private prosody of this test process (Tests/xmpp-server.sh), started on first use and stopped
/// when the process exits. `restart` stops and starts it on the same port with the same accounts.
enum XMPPServer {
    struct Info: Sendable {
        let base: String
        let port: Int
        var caFile: String { base + "/certs/localhost.crt" }
        var strangerCA: String { base + "/certs/stranger.crt" }
        var fingerprint: String {
            ((try? String(contentsOfFile: base + "/certs/localhost.sha256", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func passwordFile(_ account: String) -> String { base + "/accounts/" + account }
        func password(_ account: String) -> [UInt8] { Array(((try? String(contentsOfFile: passwordFile(account), encoding: .utf8)) ?? "").utf8) }
    }

    /// Skips only when prosody is not installed and this is not CI (under CI=true the tests must run).
    static var available: Bool {
        ContinuousIntegration.runs(needing: "/usr/bin/prosody")
    }

    static let shared: Result<Info, SSHServer.ShellError> = start()

    /// Runs the server script (it waits until prosody serves, or gives up).
    static func script(_ arguments: [String]) -> (status: Int32, output: String) {
        SSHServer.shell(["bash", script] + arguments)
    }
    static func info() throws -> Info { try shared.get() }
    static var script: String { SSHServer.testsDirectory.appendingPathComponent("xmpp-server.sh").path }

    private static func start() -> Result<Info, SSHServer.ShellError> {
        let base = NSTemporaryDirectory() + "shadowsync-e2e-prosody-\(getpid())"
        // Port 0: the script picks a free port (and retries if it is taken before prosody binds it).
        let (status, output) = script(["start", base, "0"])
        guard status == 0, let port = XMPPServer.port(base) else {
            return .failure(SSHServer.ShellError(description: "the test prosody did not start: \(output)"))
        }
        runningBase = base
        atexit {
            guard let base = XMPPServer.runningBase else { return }
            _ = XMPPServer.script(["stop", base])
            try? FileManager.default.removeItem(atPath: base)
        }
        return .success(Info(base: base, port: port))
    }

    nonisolated(unsafe) private static var runningBase: String?

    /// The port a server script started on, from BASE/port.
    static func port(_ base: String) -> Int? {
        (try? String(contentsOfFile: base + "/port", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func stop() throws {
        let r = script(["stop", try info().base])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
    }

    static func startAgain() throws {
        let i = try info()
        let r = script(["start", i.base, String(i.port)])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
    }
}

extension Agent {
    /// Configures the doorbell on `account` of the test prosody, trusting its certificate by CA file.
    func useDoorbell(_ server: XMPPServer.Info, account: String = "agents", extra: [String: String] = [:]) throws {
        var values = ["xmpp.jid": "\(account)@localhost", "xmpp.password-file": server.passwordFile(account),
                      "xmpp.server": "127.0.0.1:\(server.port)", "xmpp.ca-file": server.caFile]
        values.merge(extra) { _, n in n }
        for (k, v) in values.sorted(by: { $0.key < $1.key }) { try ok(["config", "set", k, v, "--folder", folder]) }
    }

    /// Timings under which only the doorbell can explain a change arriving within seconds.
    func setDoorbellTimings(poll: Int = 600) throws {
        try ok(["config", "set", "sync.quiet-ms", "300", "--folder", folder])
        try ok(["config", "set", "sync.max-delay-ms", "3000", "--folder", folder])
        try ok(["config", "set", "sync.poll-seconds", String(poll), "--folder", folder])
    }
}

extension RunningDaemon {
    func xmpp() throws -> [String: Any] { (try status())["xmpp"] as? [String: Any] ?? [:] }

    func waitForPeers(_ n: Int, timeout: Double = 20) throws {
        try eventually("\(agent.name) is connected and sees \(n) peer(s)", timeout: timeout) {
            let x = try xmpp()
            return x["connected"] as? Bool == true && x["peers_online"] as? Int == n
        }
    }

    /// Starts the daemons of two agents and waits until each sees the other online.
    static func pair(_ a: Agent, _ b: Agent, timeout: Double = 20) throws -> (RunningDaemon, RunningDaemon) {
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        try da.waitForPeers(1, timeout: timeout)
        try db.waitForPeers(1, timeout: timeout)
        return (da, db)
    }

    /// Waits until the daemon is idle: no pass running or queued for pending events.
    func waitIdle() throws {
        try eventually("\(agent.name) is idle") {
            let s = try status()
            return s["state"] as? String == "idle"
        }
    }
}

/// The XMPP doorbell through a real prosody on loopback (Tests/xmpp-server.sh): libstrophe, TLS with a
/// self-signed certificate, accounts made by prosodyctl. Poll intervals are ten minutes, so a change
/// that arrives within seconds arrived because of a doorbell.
@Suite(.serialized, .enabled(if: XMPPServer.available)) struct XMPPTests {
    func agents(_ name: String, count: Int, accounts: [String]? = nil, extra: [Int: [String: String]] = [:]) throws -> (Scratch, [Agent], XMPPServer.Info) {
        let server = try XMPPServer.info()
        let s = try Scratch(name)
        let list = (0..<count).map { s.agent(["a", "b", "c"][$0]) }
        try list[0].write("start.txt", "start\n")
        try list[0].initialize()
        let key = try list[0].exportKey()
        for agent in list.dropFirst() { try agent.join(keyFile: key) }
        // Each join commits its device record: everyone takes the last one first, so all start at one head.
        for agent in list { try agent.sync() }
        for (i, agent) in list.enumerated() {
            try agent.setDoorbellTimings()
            try agent.useDoorbell(server, account: accounts?[i] ?? "agents", extra: extra[i] ?? [:])
        }
        return (s, list, server)
    }

    @Test func aSaveReachesTwoOtherAgentsWithinSecondsThroughTheDoorbell() throws {
        let (_, list, _) = try agents("xmpp-three", count: 3)
        let daemons = try list.map { try RunningDaemon($0) }
        for d in daemons { try d.waitForPeers(2) }
        // c came online last: after its first fetch it said hello, and a and b answered with heads it
        // already has (so they cost it no fetch).
        try eventually("c heard the others' heads") { (try daemons[2].xmpp()["already_known"] as? Int ?? 0) >= 1 }
        for d in daemons { try d.waitIdle() }
        let fetchesBefore = try daemons.map { try $0.status()["passes"] as? Int ?? -1 }

        let started = Date()
        try list[0].write("notes/today.txt", "saved on a\n")
        try eventually("b and c decrypted a's save", timeout: 15) {
            list[1].read("notes/today.txt") == "saved on a\n" && list[2].read("notes/today.txt") == "saved on a\n"
        }
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 15, "propagation took \(seconds) s")
        // Each receiver ran a pass because of a doorbell it accepted (polls are 10 min away).
        for (i, d) in daemons.enumerated().dropFirst() {
            let x = try d.xmpp(), passes = try d.status()["passes"] as? Int ?? 0
            #expect((x["accepted"] as? Int ?? 0) >= 1, "\(list[i].name): \(x)")
            #expect(passes > fetchesBefore[i])
        }
        let sent = try daemons[0].xmpp()["doorbells_sent"] as? Int ?? 0
        #expect(sent >= 2)

        // And back: an edit on c reaches a and b.
        try list[2].write("notes/today.txt", "edited on c\n")
        try eventually("a and b have c's edit", timeout: 15) {
            list[0].read("notes/today.txt") == "edited on c\n" && list[1].read("notes/today.txt") == "edited on c\n"
        }
        for d in daemons { #expect(d.stop().status == 0) }
        #expect(list[0].snapshot() == list[1].snapshot() && list[1].snapshot() == list[2].snapshot())
    }

    /// An intruder on the agents' account (it knows the XMPP password, not the vault key) forges,
    /// replays and misaddresses doorbells: none of them makes the agent fetch. A fresh doorbell sealed
    /// with the real key does, which shows the negative checks are not vacuous.
    @Test func forgedReplayedAndForeignDoorbellsChangeNothing() throws {
        let (_, list, server) = try agents("xmpp-hostile", count: 2)
        let a = list[0], b = list[1]
        let (da, db) = try RunningDaemon.pair(a, b)

        let captured = Mutex<[(tag: String, payload: String)]>([])
        let intruder = XMPPNotifier(settings: XMPPSettings(
            account: "agents@localhost", password: XMPPSecret(server.password("agents")), host: "127.0.0.1",
            port: UInt16(server.port), trust: .caFile(server.caFile))) { event in
            if case .doorbell(_, let tag, let payload) = event { captured.withLock { $0.append((tag, payload)) } }
        }
        intruder.start()
        defer { intruder.stop() }
        try eventually("the intruder is online with both agents") { intruder.status.connected && intruder.status.peersOnline == 2 }
        try da.waitForPeers(2)
        try db.waitForPeers(2)

        // A genuine doorbell, captured on the way: a saves a file.
        try a.write("one.txt", "one\n")
        try eventually("b has one.txt") { b.read("one.txt") == "one\n" }
        // Only a's push, not a hello: an agent rings hello after its first pass once online, which under
        // load can come after the intruder joined; replayed to b, b's own hello counts as "own".
        let realKeys = try CapabilityText.decode(try a.ok(["key", "export", "--folder", a.folder]).trimmingCharacters(in: .whitespacesAndNewlines))
        let realSeal = DoorbellSeal(keys: realKeys.read!)
        func pushedDoorbell() -> (tag: String, payload: String)? {
            captured.withLock { list in list.first { (try? realSeal.open(folderTag: $0.tag, payload: $0.payload))?.kind == .pushed } }
        }
        try eventually("the intruder captured a's doorbell") { pushedDoorbell() != nil }
        // b's writes of one.txt come back to it through inotify as one more (empty) pass: wait until the
        // daemon has seen them and has no event left to act on.
        try eventually("b's own writes were seen and passed over") {
            let s = try db.status()
            return s["events"] as? Int ?? 0 > 0 && s["pending_events"] as? Int == 0 && s["state"] as? String == "idle"
        }
        let bJID = try db.xmpp()["jid"] as? String ?? ""
        let passes = try db.status()["passes"] as? Int ?? -1
        let acceptedBefore = try db.xmpp()["accepted"] as? Int ?? -1
        let otherSeal = DoorbellSeal(keys: VaultKeys.generate().read!)
        let unknownHead = (0..<20).map { _ in UInt8.random(in: 0...255) }
        let now = UInt64(Date().timeIntervalSince1970)
        let stranger = (0..<16).map { _ in UInt8.random(in: 0...255) }
        func message(_ head: [UInt8], sequence: UInt64, sentAt: UInt64 = now) -> DoorbellMessage {
            DoorbellMessage(kind: .pushed, device: stranger, sequence: sequence, sentAt: sentAt, head: head)
        }

        // 1. Forged: the right folder tag, sealed with another vault's key.
        intruder.ring(folderTag: realSeal.folderTag, payload: otherSeal.seal(message(unknownHead, sequence: 1)), to: bJID)
        // 2. Replayed: a's genuine doorbell, sent again.
        let genuine = try #require(pushedDoorbell())
        intruder.ring(folderTag: genuine.tag, payload: genuine.payload, to: bJID)
        // 3. Another folder: a valid doorbell of a vault b does not hold.
        intruder.ring(folderTag: otherSeal.folderTag, payload: otherSeal.seal(message(unknownHead, sequence: 2)), to: bJID)
        // 4. Stale: sealed with the real key, but sent an hour ago.
        intruder.ring(folderTag: realSeal.folderTag, payload: realSeal.seal(message(unknownHead, sequence: 3, sentAt: now - 3600)), to: bJID)
        // 5. Garbage in the payload.
        intruder.ring(folderTag: realSeal.folderTag, payload: "bm90IGEgZG9vcmJlbGw=", to: bJID)
        do {
            try eventually("b rejected all five") {
                guard let r = try db.xmpp()["rejected"] as? [String: Int] else { return false }
                return r["forged"] == 1 && r["replayed"] == 1 && r["other_folder"] == 1 && r["stale"] == 1 && r["malformed"] == 1
            }
        } catch {
            Issue.record("b's doorbell counters: \((try? db.xmpp()).map { "\($0)" } ?? "unavailable")")
            throw error
        }
        let xb = try db.xmpp()
        #expect(try db.status()["passes"] as? Int == passes, "a rejected doorbell made b run a pass")
        #expect(xb["accepted"] as? Int == acceptedBefore, "\(xb)")

        // Control: a fresh doorbell with the real key and b's own head is accepted but costs no fetch...
        let headHex = try b.currentHead() ?? ""
        let head = try #require(bytesFromHex(headHex))
        intruder.ring(folderTag: realSeal.folderTag, payload: realSeal.seal(message(head, sequence: 10)), to: bJID)
        try eventually("b accepted it as already known") { (try db.xmpp()["already_known"] as? Int ?? 0) >= 1 }
        #expect(try db.status()["passes"] as? Int == passes)
        // ...and one announcing a head b does not have makes it fetch: exactly one pass. Doorbells are
        // handled in the order they arrive, so a pass any earlier doorbell had asked for would have run
        // by now as a pass of its own.
        intruder.ring(folderTag: realSeal.folderTag, payload: realSeal.seal(message(unknownHead, sequence: 11)), to: bJID)
        try eventually("b ran a pass for the unknown head") { (try db.status()["passes"] as? Int ?? 0) > passes }
        try db.waitIdle()
        #expect(try db.status()["passes"] as? Int == passes + 1, "a rejected or already-known doorbell made b run a pass")
        #expect(b.read("one.txt") == "one\n" && a.snapshot() == b.snapshot())
        _ = da.stop(); _ = db.stop()
    }

    @Test func agentsReconnectAfterTheServerRestartsAndCatchUp() throws {
        let (_, list, _) = try agents("xmpp-restart", count: 2)
        let a = list[0], b = list[1]
        let (da, db) = try RunningDaemon.pair(a, b)
        let connects = try db.xmpp()["connects"] as? Int ?? 0

        try XMPPServer.stop()
        var restarted = false
        defer { if !restarted { try? XMPPServer.startAgain() } }
        try eventually("both noticed") { try da.xmpp()["connected"] as? Bool == false && db.xmpp()["connected"] as? Bool == false }
        let offlineError = try db.xmpp()["last_error"] as? String ?? ""
        #expect(offlineError.contains("XMPP"), "\(offlineError)")
        // Saved while the doorbell is down: a pushes, nobody hears of it.
        try a.write("while-down.txt", "saved while prosody was down\n")
        let bPasses = try db.status()["passes"] as? Int ?? -1
        try eventually("a pushed it") { (try? da.status())?["last_push"] != nil && a.read("while-down.txt") != nil && (try? da.status())?["state"] as? String == "idle" }
        // b polls every ten minutes and hears no doorbell: until it reconnects it runs no pass.
        #expect(try db.status()["passes"] as? Int == bPasses, "b ran a pass without a doorbell or a reconnect")
        #expect(b.read("while-down.txt") == nil, "b fetched without a doorbell or a reconnect")

        try XMPPServer.startAgain()
        restarted = true
        try db.waitForPeers(1, timeout: 90)
        let connectsAfter = try db.xmpp()["connects"] as? Int ?? 0
        #expect(connectsAfter > connects)
        try eventually("b caught up after reconnecting", timeout: 15) { b.read("while-down.txt") == "saved while prosody was down\n" }
        // The doorbell works again.
        try da.waitForPeers(1, timeout: 90)
        try b.write("after.txt", "after the restart\n")
        try eventually("a has b's save", timeout: 15) { a.read("after.txt") == "after the restart\n" }
        _ = da.stop(); _ = db.stop()
    }

    /// A wrong password and an untrusted certificate: the status says so plainly, doctor fails, and the
    /// agents keep syncing by polling.
    @Test func wrongPasswordAndUntrustedCertificateAreReportedAndPollingGoesOn() throws {
        let server = try XMPPServer.info()
        let s = try Scratch("xmpp-refused")
        let wrong = s.root.appendingPathComponent("wrong-password").path
        try "not the password\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        chmod(wrong, 0o600)
        let (_, list, _) = try agents("xmpp-refused-agents", count: 2, extra: [
            0: ["xmpp.password-file": wrong],
            1: ["xmpp.ca-file": server.strangerCA],
        ])
        let a = list[0], b = list[1]
        for agent in list { try agent.setDoorbellTimings(poll: 1) }
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        try eventually("both report why the doorbell is off") {
            let ea = try da.xmpp()["last_error"] as? String ?? "", eb = try db.xmpp()["last_error"] as? String ?? ""
            return ea.contains("refused the login") && eb.contains("certificate is not trusted")
        }
        let certError = try db.xmpp()["last_error"] as? String ?? ""
        let fp = server.fingerprint.lowercased()
        #expect(certError.contains(fp), "the refusal names the certificate's fingerprint: \(certError)")
        let (xa, xb) = (try da.xmpp(), try db.xmpp())
        #expect(xa["connected"] as? Bool == false && xb["connected"] as? Bool == false)
        try a.write("polled.txt", "arrives by polling\n")
        try eventually("b has it by polling", timeout: 20) { b.read("polled.txt") == "arrives by polling\n" }

        let doctorA = try a.run(["doctor", "--folder", a.folder])
        #expect(doctorA.status == 1 && doctorA.stdout.contains("FAIL xmpp login and TLS") && doctorA.stdout.contains("refused the login"))
        let doctorB = try b.run(["doctor", "--folder", b.folder])
        #expect(doctorB.status == 1 && doctorB.stdout.contains("certificate is not trusted"))
        // Pinning the right fingerprint instead fixes b.
        try b.ok(["config", "set", "xmpp.ca-file", "", "--folder", b.folder])
        try b.ok(["config", "set", "xmpp.fingerprint", server.fingerprint, "--folder", b.folder])
        let fixed = try b.run(["doctor", "--folder", b.folder])
        #expect(fixed.stdout.contains("ok   xmpp login and TLS"), "\(fixed.stdout)")
        _ = da.stop(); _ = db.stop()
    }

    /// Starts both agents' daemons, waits until each sees the other online, then a save on each must
    /// reach the other within seconds (polls are 10 minutes away), and each must have accepted a doorbell.
    func expectRingingBothWays(_ a: Agent, _ b: Agent) throws {
        let (da, db) = try RunningDaemon.pair(a, b, timeout: 30)
        try db.waitIdle()
        try a.write("from-\(a.name).txt", "\(a.name)\n")
        try eventually("\(b.name) has \(a.name)'s save", timeout: 15) { b.read("from-\(a.name).txt") == "\(a.name)\n" }
        try b.write("from-\(b.name).txt", "\(b.name)\n")
        try eventually("\(a.name) has \(b.name)'s save", timeout: 15) { a.read("from-\(b.name).txt") == "\(b.name)\n" }
        for d in [da, db] {
            let accepted = try d.xmpp()["accepted"] as? Int ?? 0
            #expect(accepted >= 1, "\(d.agent.name) accepted no doorbell")
        }
        _ = da.stop(); _ = db.stop()
    }

    /// Agents on separate accounts that list each other (xmpp.peers) subscribe to each other's presence
    /// and ring each other.
    @Test func peersOnSeparateAccountsRingEachOther() throws {
        let (_, list, _) = try agents("xmpp-peers", count: 2, accounts: ["laptop", "desktop"], extra: [
            0: ["xmpp.peers": "desktop@localhost"],
            1: ["xmpp.peers": "laptop@localhost"],
        ])
        try expectRingingBothWays(list[0], list[1])
    }

    /// A multi-user chat room instead of one account: each agent joins with its random resource.
    @Test func agentsInARoomRingEachOther() throws {
        let room = ["xmpp.room": "sync-\(Int.random(in: 0..<1_000_000))@conference.localhost"]
        let (_, list, _) = try agents("xmpp-room", count: 2, accounts: ["phone", "desktop"], extra: [0: room, 1: room])
        try expectRingingBothWays(list[0], list[1])
    }
}

extension Agent {
    /// The folder's current head commit id, from `shadowsync status --json` of the one-shot engine.
    func currentHead() throws -> String? {
        let out = try run(["log", "--json", "--folder", folder]).stdout
        let entries = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]] ?? []
        return entries.first?["commit"] as? String
    }
}

import Synchronization
