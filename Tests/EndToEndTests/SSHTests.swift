import Foundation
import Testing
import TestSupport

extension Scratch {
    /// An empty bare repository the test sshd serves (what `git init --bare` on a VPS makes).
    func serverRepository(_ name: String = "server.git") throws -> String {
        let path = root.appendingPathComponent(name).path
        let r = SSHServer.shell(["git", "init", "-q", "--bare", "-b", "main", path])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
        return path
    }
}

extension Agent {
    /// Files of the agent's setup that must stay as they were after a refused operation.
    var registeredFolders: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home + "/config/shadowsync/folders")) ?? []
    }
}

/// Real libgit2 over a real OpenSSH server on loopback: everything a laptop does against a VPS.
@Suite(.serialized, .enabled(if: SSHServer.available)) struct SSHTests {
    @Test func initJoinEditsBothWaysAndAConflictOverSSH() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-basic")
        let repo = try s.serverRepository()
        let a = s.agent("a"), b = s.agent("b")
        try a.write("notes/plan.txt", "v1\n")
        // A trusts the server through a known_hosts file; B through the fingerprint, which it records.
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                  "--known-hosts", server.knownHosts])
        let key = try a.exportKey()
        try b.ok(["join", server.url(repo), b.folder, "--key-file", key, "--no-passphrase", "--ssh-key", server.key("client_ecdsa"),
                  "--accept-host-key", server.fingerprint])
        #expect(b.read("notes/plan.txt") == "v1\n")
        let recorded = try String(contentsOfFile: b.home + "/.ssh/known_hosts", encoding: .utf8)
        let serverKey = try String(contentsOfFile: server.base + "/ssh/host_ed25519.pub", encoding: .utf8).split(separator: " ")[1]
        #expect(recorded == "[127.0.0.1]:\(server.port) ssh-ed25519 \(serverKey)\n")

        // The server holds ciphertext only: no plaintext name or content in any object.
        let objects = SSHServer.shell(["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch"]).output
        #expect(!objects.contains("plan.txt") && !objects.contains("notes"))

        try b.write("notes/plan.txt", "v2 from b\n")
        try b.write("b-only.txt", "b\n")
        try b.sync()
        try a.sync()
        #expect(a.read("notes/plan.txt") == "v2 from b\n")
        #expect(a.read("b-only.txt") == "b\n")
        try a.remove("b-only.txt")
        try a.sync()
        try b.sync()
        #expect(b.read("b-only.txt") == nil)

        // Both edit the same file: every version survives, on both machines.
        try a.write("notes/plan.txt", "a's edit\n")
        try b.write("notes/plan.txt", "b's edit\n")
        try a.sync()
        try b.sync()
        try a.sync()
        #expect(a.snapshot() == b.snapshot())
        let versions = Set(a.snapshot().filter { $0.key.hasPrefix("notes/plan") }.values)
        #expect(versions == ["file:a's edit\n", "file:b's edit\n"])
        #expect(try a.names("notes").count == 2)
    }

    @Test func twoAgentsPushingAtOnceBothLand() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-race")
        let repo = try s.serverRepository()
        let a = s.agent("a"), b = s.agent("b")
        let ssh = ["--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase"] + ssh)
        // B logs in with a passphrase-protected key whose passphrase is read from a file.
        try b.ok(["join", server.url(repo), b.folder, "--key-file", try a.exportKey(), "--no-passphrase", "--known-hosts", server.knownHosts,
                  "--ssh-key", server.key("protected_ed25519"), "--ssh-key-passphrase-file", server.key("protected_ed25519.pass")])
        for round in 0..<3 {
            try a.write("a-\(round).txt", "from a \(round)\n")
            try b.write("b-\(round).txt", "from b \(round)\n")
            let outcomes = try Binaries.runTogether([a, b].map { (["sync", "--folder", $0.folder], $0.environment) })
            // The loser of the race fetched, merged and pushed again within the same sync.
            #expect(outcomes.map(\.status) == [0, 0], "round \(round): \(outcomes.map(\.stderr))")
        }
        try a.sync()
        try b.sync()
        #expect(a.snapshot() == b.snapshot())
        #expect(Set(try a.names()) == Set((0..<3).flatMap { ["a-\($0).txt", "b-\($0).txt"] }))
    }

    @Test func untrustedServersAndRefusedLoginsChangeNothing() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-refusals")
        let repo = try s.serverRepository()
        let a = s.agent("a")
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                  "--known-hosts", server.knownHosts])
        try a.write("doc.txt", "shared\n")
        try a.sync()
        let key = try a.exportKey()
        let c = s.agent("c")
        try c.write("mine.txt", "c's own file\n")
        let before = c.snapshot()

        func join(_ extra: [String], sshKey: String = "client_ed25519", url: String? = nil) throws -> Binaries.Outcome {
            try c.run(["join", url ?? server.url(repo), c.folder, "--key-file", key, "--no-passphrase", "--ssh-key", server.key(sshKey)] + extra)
        }
        func expectNothingChanged(_ r: Binaries.Outcome, status: Int32, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == status, "\(r.stdout)\n\(r.stderr)", sourceLocation: sourceLocation)
            for w in words { #expect(r.stderr.contains(w), "missing '\(w)' in: \(r.stderr)", sourceLocation: sourceLocation) }
            #expect(c.snapshot() == before, sourceLocation: sourceLocation)
            #expect(c.registeredFolders.isEmpty, sourceLocation: sourceLocation)
        }

        // Unknown host: the fingerprint and the two ways to trust it, never a silent accept.
        expectNothingChanged(try join([]), status: 2, ["not a known host", server.fingerprint, "trust-host 127.0.0.1:\(server.port)", "--accept-host-key"])
        #expect(!FileManager.default.fileExists(atPath: c.home + "/.ssh/known_hosts"))
        // A fingerprint that is not the server's.
        expectNothingChanged(try join(["--accept-host-key", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]), status: 2, [server.fingerprint, "not the SHA256:AAAA"])
        // Changed host key: an error even with --accept-host-key.
        let changed = s.root.appendingPathComponent("changed_known_hosts").path
        try (server.otherHostKeyLine + "\n").write(toFile: changed, atomically: true, encoding: .utf8)
        expectNothingChanged(try join(["--known-hosts", changed, "--accept-host-key", server.fingerprint]), status: 2, ["trusts a different ssh-ed25519 key", "ssh-keygen -R"])
        #expect(try String(contentsOfFile: changed, encoding: .utf8) == server.otherHostKeyLine + "\n")
        // A key the server does not know, and an RSA key (SHA-1 signatures, refused by OpenSSH 9).
        expectNothingChanged(try join(["--known-hosts", server.knownHosts], sshKey: "stranger_ed25519"), status: 2, ["refused authentication", "stranger_ed25519"])
        expectNothingChanged(try join(["--known-hosts", server.knownHosts], sshKey: "client_rsa"), status: 2, ["refused authentication", "RSA key", "ed25519"])
        expectNothingChanged(try join(["--known-hosts", server.knownHosts], sshKey: "protected_ed25519"), status: 2, ["refused authentication", "ssh.key-passphrase-file"])
        // Nothing listening: transient (exit 3), after retrying.
        let closedPort = "ssh://\(server.user)@127.0.0.1:\(server.port == 65535 ? 1 : server.port + 1)\(repo)"
        expectNothingChanged(try join(["--known-hosts", server.knownHosts], url: closedPort), status: 3, ["cannot reach", "Connection refused"])
        // No repository at that path.
        expectNothingChanged(try join(["--known-hosts", server.knownHosts], url: server.url(repo + "-missing")), status: 2, ["no git repository at", "git init --bare"])

        // An agent already set up meets a changed server key: sync refuses and applies nothing.
        let b = s.agent("b")
        try b.ok(["join", server.url(repo), b.folder, "--key-file", key, "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                  "--known-hosts", server.knownHosts])
        try a.write("doc.txt", "changed on a\n")
        try a.sync()
        try b.ok(["config", "set", "ssh.known_hosts", changed, "--folder", b.folder])
        let r = try b.run(["sync", "--folder", b.folder])
        #expect(r.status == 2 && r.stderr.contains("trusts a different"), "\(r.stderr)")
        #expect(b.read("doc.txt") == "shared\n")
        try b.ok(["config", "set", "ssh.known_hosts", server.knownHosts, "--folder", b.folder])
        try b.sync()
        #expect(b.read("doc.txt") == "changed on a\n")
    }

    @Test func trustHostDoctorAndConfig() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-trust")
        let repo = try s.serverRepository()
        let a = s.agent("a")
        let known = a.home + "/.ssh/known_hosts"
        let target = "127.0.0.1:\(server.port)"

        // No terminal and no fingerprint: it shows the fingerprint and trusts nothing.
        var r = try a.run(["trust-host", target])
        #expect(r.status == 2 && r.stderr.contains(server.fingerprint), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: known))
        r = try a.run(["trust-host", target, "--fingerprint", "SHA256:wrong"])
        #expect(r.status == 2 && !FileManager.default.fileExists(atPath: known))
        #expect(try a.ok(["trust-host", target, "--fingerprint", server.fingerprint]).contains("trusted: \(target) ssh-ed25519 \(server.fingerprint)"))
        #expect(try a.ok(["trust-host", target, "--fingerprint", server.fingerprint]).contains("already trusted"))
        let lines = try String(contentsOfFile: known, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("[127.0.0.1]:\(server.port) ssh-ed25519 AAAA"))
        #expect(try FileManager.default.attributesOfItem(atPath: known)[.posixPermissions] as? Int == 0o600)

        // With the host trusted through ~/.ssh/known_hosts, init needs no SSH flag but the key.
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase", "--ssh-key", server.key("client_ed25519")])
        let doctor = try a.ok(["doctor", "--folder", a.folder])
        for step in ["ok   key file", "ok   reachable", "ok   host key: [127.0.0.1]:\(server.port) ssh-ed25519 \(server.fingerprint) is trusted", "ok   login and repository"] {
            #expect(doctor.contains(step), "missing '\(step)' in:\n\(doctor)")
        }
        #expect(!doctor.contains("FAIL"))

        // config: get, set with checks, and doctor pointing at what broke.
        #expect(try a.ok(["config", "get", "ssh.key", "--folder", a.folder]).trimmingCharacters(in: .whitespacesAndNewlines) == server.key("client_ed25519"))
        #expect(try a.run(["config", "set", "ssh.agent", "maybe", "--folder", a.folder]).status == 2)
        #expect(try a.run(["config", "set", "ssh.key", "/no/such/key", "--folder", a.folder]).status != 0)
        #expect(try a.run(["config", "set", "folder", "/tmp", "--folder", a.folder]).status == 2)
        #expect(try a.run(["config", "get", "no.such.key", "--folder", a.folder]).status == 2)
        try a.ok(["config", "set", "ssh.key", server.key("stranger_ed25519"), "--folder", a.folder])
        r = try a.run(["doctor", "--folder", a.folder])
        #expect(r.status == 1 && r.stdout.contains("FAIL login and repository") && r.stdout.contains("refused authentication"), "\(r.stdout)")
        try a.ok(["config", "set", "ssh.key", server.key("client_ed25519"), "--folder", a.folder])
        let config = try String(contentsOfFile: a.home + "/config/shadowsync/folders/" + a.registeredFolders[0], encoding: .utf8)
        #expect(config.contains("ssh.key = \(server.key("client_ed25519"))\n"))
        try a.sync()

        // HOME unset (a cron job, a bare systemd unit): settings come from the config, sync still works.
        try a.ok(["config", "set", "ssh.known_hosts", known, "--folder", a.folder])
        try a.write("cron.txt", "from cron\n")
        r = try a.run(["sync", "--folder", a.folder], unset: ["HOME"])
        #expect(r.status == 0 && r.stdout.contains("pushed"), "\(r.stdout)\n\(r.stderr)")
    }

    @Test func restrictedGitOnlyAccountWorks() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-restricted")
        let repo = try s.serverRepository()
        let a = s.agent("a"), b = s.agent("b")
        // rsync.net-style: the account runs git-upload-pack and git-receive-pack and nothing else.
        let shell = SSHServer.shell(["ssh", "-i", server.key("restricted_ed25519"), "-o", "UserKnownHostsFile=\(server.knownHosts)",
                                     "-o", "BatchMode=yes", "-p", String(server.port), "\(server.user)@127.0.0.1", "id"])
        #expect(shell.status != 0 && shell.output.contains("only git-upload-pack and git-receive-pack"))
        let ssh = ["--ssh-key", server.key("restricted_ed25519"), "--known-hosts", server.knownHosts]
        try a.write("a.txt", "one\n")
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase"] + ssh)
        try b.ok(["join", server.url(repo), b.folder, "--key-file", try a.exportKey(), "--no-passphrase"] + ssh)
        try b.write("a.txt", "two\n")
        try b.sync()
        try a.sync()
        #expect(a.read("a.txt") == "two\n")
        let doctor = try a.ok(["doctor", "--folder", a.folder])
        #expect(doctor.contains("ok   login and repository") && !doctor.contains("FAIL"))
    }

    /// The server's disk (a 4 MiB tmpfs only sshd's processes see, Tests/ssh-server.sh) fills up: the push
    /// fails as transient with a message that says so, nothing is lost, and once there is room it lands.
    @Test(.enabled(if: ContinuousIntegration.runsAsRoot))
    func fullServerDiskIsTransientAndLosesNothing() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-full")
        let repo = server.base + "/small/\(UUID().uuidString.prefix(8)).git"
        func onServer(_ command: String) -> (status: Int32, output: String) {
            SSHServer.shell(["ssh", "-i", server.key("client_ed25519"), "-o", "UserKnownHostsFile=\(server.knownHosts)", "-o", "BatchMode=yes",
                             "-p", String(server.port), "\(server.user)@127.0.0.1", command])
        }
        #expect(onServer("git init -q --bare -b main \(repo)").status == 0)
        defer { _ = onServer("rm -rf \(repo); mount -o remount,size=4m \(server.base)/small") }
        let a = s.agent("a")
        try a.write("small.txt", "fits\n")
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase", "--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts])
        let big = [UInt8](FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: 6_000_000))
        try a.write(Array("big.bin".utf8), big)
        let r = try a.run(["sync", "--folder", a.folder])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("the server's disk is full") && r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(readRaw(Array((a.folder + "/big.bin").utf8)) == big)

        #expect(onServer("mount -o remount,size=32m \(server.base)/small").status == 0)
        #expect(try a.ok(["sync", "--folder", a.folder]).contains("pushed"))
        let b = s.agent("b")
        try b.ok(["join", server.url(repo), b.folder, "--key-file", try a.exportKey(), "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                  "--known-hosts", server.knownHosts])
        #expect(readRaw(Array((b.folder + "/big.bin").utf8)) == big)
    }

    @Test func preReceiveHookRefusesUnsignedAndAcceptsSignedPushes() throws {
        let server = try SSHServer.info()
        let s = try Scratch("ssh-hook")
        let repo = try s.serverRepository()
        let a = s.agent("a")
        let ssh = ["--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        try a.write("a.txt", "one\n")
        try a.ok(["init", a.folder, "--remote", server.url(repo), "--no-passphrase"] + ssh)

        // Installed as Hooks/pre-receive says: the hook, the verify-only string, the binary's path.
        let verify = try a.ok(["key", "export", "--verify-only", "--folder", a.folder])
        #expect(verify.hasPrefix("shdw1-vk-"))
        try verify.write(toFile: repo + "/shadowsync-verify", atomically: true, encoding: .utf8)
        let hook = repo + "/hooks/pre-receive"
        try FileManager.default.copyItem(atPath: SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Hooks/pre-receive").path, toPath: hook)
        let binary = Binaries.productsDirectory.appendingPathComponent("shadowsync").path
        #expect(SSHServer.shell(["git", "-C", repo, "config", "shadowsync.binary", binary]).status == 0)

        // A signed push passes the hook.
        try a.write("b.txt", "two\n")
        #expect(try a.ok(["sync", "--folder", a.folder]).contains("pushed"))
        let signedHead = SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output

        // A plain git commit pushed over the same SSH account is refused, and main stays.
        let clone = s.root.appendingPathComponent("intruder").path
        #expect(SSHServer.shell(["git", "clone", "-q", "-b", "main", repo, clone]).status == 0)
        try "x".write(toFile: clone + "/evil", atomically: true, encoding: .utf8)
        #expect(SSHServer.shell(["git", "add", "evil"], in: clone).status == 0)
        #expect(SSHServer.shell(["git", "-c", "user.name=m", "-c", "user.email=m@x", "commit", "-qm", "evil"], in: clone).status == 0)
        let sshCommand = "ssh -i \(server.key("client_ed25519")) -o UserKnownHostsFile=\(server.knownHosts) -o BatchMode=yes -p \(server.port)"
        let push = SSHServer.shell(["git", "push", server.url(repo), "main"], environment: ["GIT_SSH_COMMAND": sshCommand], in: clone)
        #expect(push.status != 0)
        #expect(push.output.contains("push refused") && push.output.contains("is not signed") && push.output.contains("pre-receive hook declined"), "\(push.output)")
        #expect(SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output == signedHead)
        // A forced rewind to the first commit is refused too.
        let first = SSHServer.shell(["git", "-C", repo, "rev-list", "--max-parents=0", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let rewind = SSHServer.shell(["git", "push", "-f", server.url(repo), "\(first):refs/heads/main"], environment: ["GIT_SSH_COMMAND": sshCommand], in: clone)
        #expect(rewind.status != 0 && rewind.output.contains("rewriting history is refused"), "\(rewind.output)")

        // And the agent goes on syncing through the hook.
        try a.write("c.txt", "three\n")
        #expect(try a.ok(["sync", "--folder", a.folder]).contains("pushed"))
    }

    /// Two daemons through the SSH server, the connection running through a relay this test can cut: a
    /// save crosses over, an outage is waited out with backoff (the daemon stays up), and what was saved
    /// during the outage arrives once the network is back.
    @Test func daemonsOverSSHRideOutANetworkOutage() throws {
        let v = try RelayedVault("ssh-daemons")
        let a = v.a, b = v.b
        try v.joinB()
        try a.setFastTimings()
        try b.setFastTimings()
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        try a.write("notes/online.txt", "sent over ssh\n")
        try eventually("b has a's save") { b.read("notes/online.txt") == "sent over ssh\n" }

        v.cut()
        try a.write("notes/offline.txt", "saved during the outage\n")
        var seen: [String: Any] = [:]
        do {
            try eventually("a reports the outage and waits to retry") {
                seen = try da.status()
                return seen["state"] as? String == "waiting to retry" && (seen["last_error"] as? String ?? "").contains("127.0.0.1")
            }
        } catch {
            // Seen once under full-suite load: a stayed in "fetching" for 20 s with no new
            // error although the relay was gone. Record where its threads wait, then its log.
            Issue.record("last status of a: \(seen)\na's threads (name: syscall args...): \(threadSyscalls(da.process.processIdentifier))")
            da.kill9()
            let log = da.process.stderrSoFar
            Issue.record("a's log:\n\(log)")
            throw error
        }
        #expect(da.process.isRunning && db.process.isRunning)
        #expect(b.read("notes/offline.txt") == nil)

        try v.reconnect()
        try eventually("b gets what was saved during the outage", timeout: 40) { b.read("notes/offline.txt") == "saved during the outage\n" }
        try eventually("a is idle with no error") { (try? da.status()).map { $0["state"] as? String == "idle" && $0["last_error"] == nil } == true }
        let (statusA, logA) = da.stop()
        let (statusB, _) = db.stop()
        #expect(statusA == 0 && statusB == 0)
        #expect(logA.contains("retrying in"), "\(logA)")
        #expect(a.snapshot() == b.snapshot())
    }
}

extension SSHTests {
    /// The connection dies while a push is streaming (the relay is killed once the sync reaches its
    /// push): the sync says to retry, the server's repository stays consistent, and the next sync lands.
    @Test func aPushCutOffMidTransferLeavesTheServerWholeAndTheNextSyncLands() throws {
        let v = try RelayedVault("ssh-cut")
        let a = v.a, b = v.b, s = v.scratch, repo = v.repo
        let headBefore = SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output

        try writeNoise(a.folder + "/big.bin", megabytes: 32)
        let trace = s.root.path + "/push-trace"
        let sync = try TestProcess(Binaries.url(of: "shadowsync").path, ["sync", "--folder", a.folder],
                                   environment: a.environment.merging(["SHADOWSYNC_CRASH_TRACE": trace]) { $1 }, stdout: .discard)
        try eventually("the sync starts pushing", timeout: 60) {
            ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").contains("git-push") || !sync.isRunning
        }
        usleep(150_000)
        v.cut()
        let outcome = sync.wait(timeout: 120)
        let stderr = outcome.stderr
        #expect(outcome.status == 3, "a cut connection is retryable: exit \(outcome.status) \(stderr)")
        #expect(SSHServer.shell(["git", "-C", repo, "rev-parse", "main"]).output == headBefore, "the server's branch moved without the objects")
        let fsck = SSHServer.shell(["git", "-C", repo, "fsck", "--no-progress"])
        #expect(fsck.status == 0, "\(fsck.output)")

        try v.reconnect()
        try a.sync()
        try v.joinB()
        #expect(b.snapshot() == a.snapshot())
        #expect(b.snapshot()["big.bin"]?.hasPrefix("file:\(32 << 20) bytes") == true)
    }
}

extension SSHTests {
    /// A server that stops answering (the relay frozen: connections open, nothing moving) would leave
    /// a sync waiting forever, since libgit2's SSH transport has no timeout. The stall watchdog drops
    /// the connection after the stall limit (3 s here): the sync says to retry, and once the server
    /// answers again the next sync lands.
    @Test func aServerThatStopsAnsweringIsDroppedAfterTheStallLimit() throws {
        let v = try RelayedVault("ssh-stall")
        let a = v.a
        try a.write("two.txt", "two\n")
        v.freeze()
        let started = Date()
        let r = try Binaries.run("shadowsync", ["sync", "--folder", a.folder],
                                 environment: a.environment.merging(["SHADOWSYNC_STALL_SECONDS": "3"]) { $1 }, timeoutSeconds: 60)
        let took = Date().timeIntervalSince(started)
        v.thaw()
        #expect(r.status == 3, "a stalled server is retryable: exit \(r.status)\n\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("showed no progress for 3 s"), "\(r.stderr)")
        #expect(took >= 3 && took < 30, "gave up after \(took) s")

        try a.sync()
        try v.joinB()
        #expect(v.b.read("two.txt") == "two\n")
        #expect(v.b.snapshot() == a.snapshot())
    }
}

/// A vault on the test sshd, reached through a relay the test can cut: A made it (with start.txt) over
/// the relay; B joins when the test says so.
final class RelayedVault {
    let server: SSHServer.Info
    let scratch: Scratch
    let repo: String
    /// The relay's port, chosen by the kernel at its first start. A reconnect listens on the same port
    /// (the agents' remote URL names it), so another process could take it during an outage; the
    /// relay would then fail to start and the test says so.
    let port: Int
    var url: String { "ssh://\(server.user)@127.0.0.1:\(port)\(repo)" }
    let a: Agent, b: Agent
    private var relay: Relay

    init(_ name: String, bytesPerSecond: Int? = nil) throws {
        server = try SSHServer.info()
        scratch = try Scratch(name)
        repo = try scratch.serverRepository()
        relay = try Relay(port: 0, target: server.port, bytesPerSecond: bytesPerSecond)
        port = relay.port
        a = scratch.agent("a")
        b = scratch.agent("b")
        try a.write("start.txt", "start\n")
        try a.ok(["init", a.folder, "--remote", url, "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                  "--accept-host-key", server.fingerprint])
    }

    func joinB() throws {
        try b.ok(["join", url, b.folder, "--key-file", try a.exportKey(), "--no-passphrase", "--ssh-key", server.key("client_ecdsa"),
                  "--accept-host-key", server.fingerprint])
    }

    /// A network outage: the relay dies and takes its open connections with it.
    func cut() { relay.stop() }
    /// A server that stops answering: the relay is stopped (SIGSTOP). Its kernel still accepts
    /// connections and acknowledges what is sent, but nothing comes back.
    func freeze() { kill(relay.process.processIdentifier, SIGSTOP) }
    func thaw() { kill(relay.process.processIdentifier, SIGCONT) }
    func reconnect() throws { relay = try Relay(port: port, target: server.port) }

    deinit { relay.stop() }
}

/// Each thread of process `pid` and the system call it is in (/proc/PID/task/TID/syscall): enough to
/// tell a thread waiting in connect or poll from one spinning, without a debugger.
func threadSyscalls(_ pid: Int32) -> String {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.sorted().map { tid in
        let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8)) ?? "?"
        let call = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/syscall", encoding: .utf8)) ?? "?"
        return "\(name.trimmingCharacters(in: .whitespacesAndNewlines)): \(call.trimmingCharacters(in: .whitespacesAndNewlines))"
    }.joined(separator: "; ")
}

/// Tests/tcp-relay.py: a loopback TCP relay whose stop is a real network outage.
struct Relay {
    let process: TestProcess
    /// The port it listens on.
    let port: Int

    /// Listens on `port`, or on a port the kernel chooses when it is 0; `bytesPerSecond` throttles each
    /// direction of each connection.
    init(port: Int, target: Int, bytesPerSecond: Int? = nil) throws {
        process = try TestProcess("python3", [SSHServer.testsDirectory.appendingPathComponent("tcp-relay.py").path, String(port), String(target)]
                                    + (bytesPerSecond.map { [String($0)] } ?? []),
                                  stderr: .toStdout)
        // It prints "ready PORT" once it listens.
        guard process.waitForOutput("\n", timeout: 10), process.stdoutSoFar.hasPrefix("ready "),
              let bound = Int(process.stdoutSoFar.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.signal(SIGKILL)
            throw SSHServer.ShellError(description: "the TCP relay did not start on port \(port): \(process.stdoutSoFar)")
        }
        self.port = bound
    }

    /// SIGKILL: a network outage, with no goodbye on the open connections.
    func stop() {
        guard process.isRunning else { return }
        process.signal(SIGKILL)
        process.wait()
    }
}

extension SSHTests {
    /// A daemon caught mid-pass: an import pushed through a link throttled to 2 MiB/s shows in `status`
    /// (JSON and text) as the `pushing` phase with the bytes sent so far, growing, and a rate; once the
    /// pass is over the progress is gone.
    @Test func statusShowsADaemonsPushUnderWayWithBytesAndRate() throws {
        let linkBytesPerSecond = 2 << 20, megabytes = 8
        let v = try RelayedVault("ssh-progress", bytesPerSecond: linkBytesPerSecond)
        let a = v.a
        try a.ok(["config", "set", "sync.poll-seconds", "3600", "--folder", a.folder])
        let da = try RunningDaemon(a)
        try da.waitIdle()
        #expect(try da.status()["progress"] == nil)

        try writeNoise(a.folder + "/big.bin", megabytes: megabytes)
        var phases = Set<String>(), sent: [Int] = [], transfer: [String: Any] = [:], text = ""
        try eventually("the daemon's status shows its push moving", timeout: 60) {
            guard let p = try da.status()["progress"] as? [String: Any] else { return false }
            if let phase = p["phase"] as? String { phases.insert(phase) }
            guard p["phase"] as? String == "pushing", let t = p["transfer"] as? [String: Any], let bytes = t["bytes"] as? Int, bytes > 0 else { return false }
            if sent.last != bytes { sent.append(bytes) }
            transfer = t
            // The text form, while the push still runs.
            if sent.count >= 2 && text.isEmpty { text = try a.ok(["status", "--folder", a.folder]) }
            return !text.isEmpty
        }
        #expect(transfer["direction"] as? String == "sent", "\(transfer)")
        #expect(sent == sent.sorted() && sent.last! > sent.first!, "bytes sent did not grow: \(sent)")
        #expect(sent.last! < megabytes << 20, "the push was over before the test saw it: \(sent)")
        let rate = transfer["bytes_per_second"] as? Int ?? 0
        #expect(rate > 0 && rate < 4 * linkBytesPerSecond, "\(transfer)")
        #expect((transfer["total_objects"] as? Int ?? 0) >= 1, "\(transfer)")
        #expect(text.contains("progress: pushing for ") && text.contains(" sent, "), "\(text)")

        try da.waitIdle()
        let idle = try da.status()
        #expect(idle["progress"] == nil && idle["last_error"] == nil, "\(idle)")
        #expect(phases.contains("pushing"), "\(phases)")
        #expect(SSHServer.shell(["git", "-C", v.repo, "rev-parse", "main"]).output.trimmingCharacters(in: .whitespacesAndNewlines) == idle["head"] as? String)
        _ = da.stop()
    }
}
