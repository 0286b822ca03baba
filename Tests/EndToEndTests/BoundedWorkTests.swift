import Foundation
import Testing
import TestSupport

/// What a machine does before it trusts anything the server sent is bounded in memory and time
/// (Docs/THREAT-MODEL.md, "Resource exhaustion"): a long chain of unsigned commits, a huge blob in the
/// tree of an unsigned head, on a local-path remote and over SSH. Each sync is measured as a child of
/// python3 (its peak resident memory) and must refuse within `HostileServerTests.refusalPeakKiB` and
/// `HostileServerTests.refusalSeconds`, leaving the folder unchanged and syncing again once the
/// server's branch is put back.
@Suite(.serialized) struct BoundedWorkTests {
    /// Commits in the hostile chain: 300,000 (a 46 MB pack) with SHADOWSYNC_LONG=1, else 20,000.
    static let chainLength = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" ? 300_000 : 20_000
    /// The hostile blob: 1 GiB of zeros (about 1 MiB stored) with SHADOWSYNC_LONG=1, else 128 MiB
    /// (writing it costs git about 20 s per GiB).
    static let hugeBlobBytes = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" ? "1G" : "128M"
    /// The object swapped on a local remote's disk: above the RSS bound even in CI (loaded whole, it
    /// costs 280 MiB), 1 GiB with SHADOWSYNC_LONG=1.
    static let swappedBlobBytes = ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" ? "1G" : "256M"

    /// Runs `sync` on `b` under python3 and returns its outcome, peak RSS in KiB, wall seconds and the
    /// CPU seconds of the sync itself (over SSH the wall time also holds the server packing its reply).
    func measuredSync(_ b: Agent) throws -> (r: Binaries.Outcome, peakKiB: Int, seconds: Double, cpuSeconds: Double) {
        let measure = "import resource, subprocess, sys\nrc = subprocess.run(sys.argv[1:]).returncode\nu = resource.getrusage(resource.RUSAGE_CHILDREN)\nprint('peak-kib', u.ru_maxrss, file=sys.stderr)\nprint('cpu-seconds', u.ru_utime + u.ru_stime, file=sys.stderr)\nsys.exit(rc)"
        let started = Date()
        let r = try Binaries.run("/usr/bin/python3", ["-c", measure, Binaries.url(of: "shadowsync").path, "sync", "--folder", b.folder],
                                 environment: b.environment, timeoutSeconds: 300)
        let seconds = Date().timeIntervalSince(started)
        func figure(_ name: String) -> Double? {
            r.stderr.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
        }
        return (r, Int(figure("peak-kib") ?? -1), seconds, figure("cpu-seconds") ?? -1)
    }

    /// Writes `count` unsigned commits on top of `parent` into `repository` with git fast-import; returns the newest.
    static func unsignedChain(in repository: String, on parent: String, count: Int) throws -> String {
        let script = """
        import sys
        out = sys.stdout.buffer
        n, parent = int(sys.argv[1]), sys.argv[2]
        for i in range(1, n + 1):
            out.write(b"commit refs/heads/chain\\nmark :%d\\ncommitter m <m@evil> %d +0000\\ndata 2\\n%d\\n" % (i, i, i % 10))
            out.write(b"from %s\\n\\n" % (parent.encode() if i == 1 else b":%d" % (i - 1)))
        """
        let r = SSHServer.shell(["bash", "-c", "python3 -c \"$1\" \"$2\" \"$3\" | git -C \"$4\" fast-import --quiet && git -C \"$4\" rev-parse refs/heads/chain",
                                 "chain", script, String(count), parent, repository])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
        return String(r.output.split(separator: "\n").last ?? "")
    }

    /// An unsigned commit on top of `parent` whose tree holds a blob of `size` zero bytes (written
    /// streaming: git hash-object never holds it in memory), as `vault.json` when `asDescriptor`.
    static func hugeBlobCommit(in repository: String, on parent: String, size: String, asDescriptor: Bool) throws -> String {
        let name = asDescriptor ? "vault.json" : "d/00/0000000000000000000000000000000000000000000000000000000000.c"
        let command = """
        set -e
        blob=$(head -c \(size) /dev/zero | git -C "$1" -c core.compression=1 -c core.looseCompression=1 hash-object -w --stdin)
        export GIT_INDEX_FILE="$1/huge-index"
        git -C "$1" read-tree "$2^{tree}"
        git -C "$1" update-index --add --cacheinfo "100644,$blob,\(name)"
        tree=$(git -C "$1" write-tree)
        rm -f "$GIT_INDEX_FILE"
        git -C "$1" -c user.name=m -c user.email=m@evil commit-tree "$tree" -p "$2" -m huge
        """
        let r = SSHServer.shell(["bash", "-c", command, "huge", repository, parent])
        guard r.status == 0 else { throw SSHServer.ShellError(description: r.output) }
        return String(r.output.split(separator: "\n").last ?? "")
    }

    /// `overSSH`: the time bound applies to the sync's own CPU time, since the wall time also holds the
    /// server packing the history it chose to send (its cost, not this machine's).
    func expectBoundedRefusal(_ s: Scratch, _ b: Agent, remote: String, head: String, good: String, phrase: String, overSSH: Bool = false,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        _ = try s.git(["update-ref", "refs/heads/main", head], in: remote)
        let before = b.snapshot()
        let (r, peak, wall, cpu) = try measuredSync(b)
        let seconds = overSSH ? cpu : wall
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(phrase) && r.stderr.contains("nothing was changed locally"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(peak > 0 && peak < HostileServerTests.refusalPeakKiB, "peak RSS \(peak) KiB", sourceLocation: sourceLocation)
        #expect(seconds < HostileServerTests.refusalSeconds, "refused after \(seconds) s", sourceLocation: sourceLocation)
        print("bounded refusal: \(phrase): peak \(peak / 1024) MiB, \(String(format: "%.2f", wall)) s (\(String(format: "%.2f", cpu)) s CPU)")
        #expect(b.snapshot() == before, sourceLocation: sourceLocation)
        _ = try s.git(["update-ref", "refs/heads/main", good], in: remote)
        try b.sync()
        #expect(b.read("doc.txt") == "version 2\n", sourceLocation: sourceLocation)
    }

    @Test func aLongUnsignedChainIsRefusedInBoundedMemoryAndTime() throws {
        let (s, _, b, good) = try Scratch.pairWithUnseenEdit("long-chain")
        let chain = try Self.unsignedChain(in: s.remote, on: good, count: Self.chainLength)
        let count = { (c: String) throws -> Int in Int(try s.git(["rev-list", "--count", c]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        #expect(try count(chain) - count(good) == Self.chainLength)
        try expectBoundedRefusal(s, b, remote: s.remote, head: chain, good: good, phrase: "is not signed")
    }

    /// Over SSH the fetch comes before any check (git's protocol sends the pack first): libgit2's indexer
    /// streams it to disk, and the head is refused before any walk.
    @Test(.enabled(if: SSHServer.available)) func aLongUnsignedChainOverSSHIsRefusedInBoundedMemory() throws {
        let server = try SSHServer.info()
        let (s, _, b, good) = try Scratch.pairWithUnseenEdit("long-chain-ssh")
        try b.ok(["config", "set", "ssh.key", server.key("client_ed25519"), "--folder", b.folder])
        try b.ok(["config", "set", "ssh.known_hosts", server.knownHosts, "--folder", b.folder])
        try b.ok(["config", "set", "remote", server.url(s.remote), "--folder", b.folder])
        let chain = try Self.unsignedChain(in: s.remote, on: good, count: Self.chainLength)
        try expectBoundedRefusal(s, b, remote: s.remote, head: chain, good: good, phrase: "is not signed", overSSH: true)
    }

    @Test(arguments: [false, true]) func aHugeBlobInALocalRemoteIsRefusedInBoundedMemory(asDescriptor: Bool) throws {
        let (s, _, b, good) = try Scratch.pairWithUnseenEdit(asDescriptor ? "huge-descriptor" : "huge-blob")
        let head = try Self.hugeBlobCommit(in: s.remote, on: good, size: Self.hugeBlobBytes, asDescriptor: asDescriptor)
        try expectBoundedRefusal(s, b, remote: s.remote, head: head, good: good, phrase: "is not signed")
    }

    /// The remote's object files swapped under a genuine id: the head is signed and every id it pins is
    /// right, but one object B must fetch now inflates to a huge blob. The fetch checks every object's
    /// size from its header before libgit2 loads it, so the sync is refused in bounded memory; once the
    /// genuine object is back, B syncs.
    @Test func anObjectSwappedOnALocalRemotesDiskIsRefusedInBoundedMemory() throws {
        let (s, _, b, good) = try Scratch.pairWithUnseenEdit("swapped-object")
        // A's edit brought new blobs B lacks; one of them is swapped on disk. Loose objects only (git
        // reads a pack before a loose file), the genuine one kept aside to put back.
        let target = try s.git(["diff-tree", "-r", "--no-commit-id", "\(good)^", good]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(3).first }.first { $0.count == 40 }.map(String.init)
        let blob = try #require(target)
        let swap = """
        set -e
        cd "$1"
        mkdir -p ../packs-aside
        for p in objects/pack/*.pack; do
            [ -e "$p" ] || continue
            mv "$p" ../packs-aside/
            rm -f "${p%.pack}.idx" "${p%.pack}.rev" "${p%.pack}.keep"
            git unpack-objects -q < "../packs-aside/$(basename "$p")"
        done
        loose="objects/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-)"
        cp "$loose" ../genuine-object
        huge=$(head -c \(Self.swappedBlobBytes) /dev/zero | git -c core.compression=1 -c core.looseCompression=1 hash-object -w --stdin)
        rm -f "$loose"
        cp "objects/$(echo "$huge" | cut -c1-2)/$(echo "$huge" | cut -c3-)" "$loose"
        """
        let r = SSHServer.shell(["bash", "-c", swap, "swap", s.remote, blob])
        #expect(r.status == 0, "\(r.output)")
        let before = b.snapshot()
        let (outcome, peak, wall, _) = try measuredSync(b)
        #expect(outcome.status == 2, "exit \(outcome.status): \(outcome.stderr)")
        #expect(outcome.stderr.contains("object \(blob.prefix(12))") && outcome.stderr.contains("nothing was changed locally"), "\(outcome.stderr)")
        #expect(peak > 0 && peak < HostileServerTests.refusalPeakKiB, "peak RSS \(peak) KiB")
        #expect(wall < HostileServerTests.refusalSeconds, "refused after \(wall) s")
        print("bounded refusal: an object swapped on the remote's disk: peak \(peak / 1024) MiB, \(String(format: "%.2f", wall)) s")
        #expect(b.snapshot() == before)
        let loose = s.remote + "/objects/" + blob.prefix(2) + "/" + blob.dropFirst(2)
        try FileManager.default.removeItem(atPath: loose)
        try FileManager.default.copyItem(atPath: s.root.appendingPathComponent("genuine-object").path, toPath: loose)
        try b.sync()
        #expect(b.read("doc.txt") == "version 2\n")
    }
}
