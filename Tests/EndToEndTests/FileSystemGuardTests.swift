import Foundation
import Testing
import TestSupport

/// A directory the agent cannot read is skipped, never taken for deleted. The tests run as root, for
/// whom chmod 000 blocks nothing: the agent then runs as an unprivileged user (setpriv), in a scratch
/// area that user owns.
@Suite(.serialized) struct UnreadableDirectoryTests {
    /// The user the agent runs as when the tests run as root.
    static let otherUser: UInt32 = 65534

    /// Runs shadowsync as `agent`, as another user when this process is root.
    static func run(_ agent: Agent, _ args: [String]) throws -> Binaries.Outcome {
        guard getuid() == 0 else { return try agent.run(args) }
        return try Binaries.run("/usr/bin/setpriv", ["--reuid=\(otherUser)", "--regid=\(otherUser)", "--clear-groups", "--",
                                                     Binaries.url(of: "shadowsync").path] + args, environment: agent.environment)
    }

    @discardableResult
    static func ok(_ agent: Agent, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try run(agent, args)
        #expect(r.status == 0, "shadowsync \(args.joined(separator: " ")) -> \(r.status)\n\(r.stdout)\n\(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout + r.stderr
    }

    /// Hands the scratch tree to the other user (when running as root), makes `a`'s folder a vault and
    /// joins `b` to it.
    static func initAndJoin(_ s: Scratch, _ a: Agent, _ b: Agent) throws {
        if getuid() == 0 {
            let chown = try TestProcess.run("/bin/chown", ["-R", "\(Self.otherUser):\(Self.otherUser)", s.root.path])
            #expect(chown.status == 0, "\(chown.stderr)")
        }
        try Self.ok(a, ["init", a.folder, "--remote", s.remote, "--no-passphrase"])
        let key = s.root.appendingPathComponent("key.txt").path
        try Self.ok(a, ["key", "export", "--folder", a.folder]).write(toFile: key, atomically: true, encoding: .utf8)
        try Self.ok(b, ["join", s.remote, b.folder, "--key-file", key, "--no-passphrase"])
    }

    @Test func anUnreadableDirectoryIsSkippedNotDeleted() throws {
        let s = try Scratch("unreadable")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("private/inner.txt", "kept\n")
        try a.write("private/deeper/note.txt", "kept too\n")
        try a.write("top.txt", "one\n")
        try Self.initAndJoin(s, a, b)
        #expect(b.read("private/deeper/note.txt") == "kept too\n")

        chmod(a.folder + "/private", 0)
        defer { chmod(a.folder + "/private", 0o755) }
        try a.write("top.txt", "two\n")
        let out = try Self.ok(a, ["sync", "--folder", a.folder])
        #expect(out.contains("private") && out.contains("cannot read directory"), "\(out)")
        try Self.ok(b, ["sync", "--folder", b.folder])
        #expect(b.read("top.txt") == "two\n")
        #expect(b.read("private/inner.txt") == "kept\n", "the unreadable directory was synced as deleted")
        #expect(b.read("private/deeper/note.txt") == "kept too\n")

        // Readable again: nothing to do, nothing lost.
        chmod(a.folder + "/private", 0o755)
        try Self.ok(a, ["sync", "--folder", a.folder])
        try Self.ok(b, ["sync", "--folder", b.folder])
        #expect(b.snapshot() == a.snapshot())
    }

    /// A synced directory without owner write (a "read-only archive", 0555) still takes what another
    /// machine writes into it, and keeps its mode: the agent opens it up for the writes only.
    @Test func aReadOnlyDirectoryTakesNewEntriesAndStaysReadOnly() throws {
        let s = try Scratch("read-only-dir")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("archive/old.txt", "first\n")
        try a.write("top.txt", "one\n")
        chmod(a.folder + "/archive", 0o555)
        try Self.initAndJoin(s, a, b)
        #expect(ModesTests.attributes(b.folder + "/archive").mode == 0o555)

        // On a, a new file and an edit inside the archive (opened for that, closed again).
        chmod(a.folder + "/archive", 0o755)
        try a.write("archive/new.txt", "arrived\n")
        try a.write("archive/old.txt", "second\n")
        chmod(a.folder + "/archive", 0o555)
        _ = try Self.ok(a, ["sync", "--folder", a.folder])
        let out = try Self.ok(b, ["sync", "--folder", b.folder])
        #expect(b.read("archive/new.txt") == "arrived\n", "\(out)")
        #expect(b.read("archive/old.txt") == "second\n", "\(out)")
        #expect(ModesTests.attributes(b.folder + "/archive").mode == 0o555)

        // Nothing more to do on either side: the mode b lent itself was never committed.
        for agent in [b, a] {
            let again = try Self.ok(agent, ["sync", "--folder", agent.folder])
            #expect(!again.contains("committed"), "\(agent.name): \(again)")
            #expect(ModesTests.attributes(agent.folder + "/archive").mode == 0o555, "\(agent.name)")
        }
        #expect(b.snapshot() == a.snapshot())
        chmod(a.folder + "/archive", 0o755)
        chmod(b.folder + "/archive", 0o755)
    }
}

/// What the agent writes reaches the disk before it counts as done: every file written into the
/// folder is fsync'ed before it is moved into place, and so is its directory after. Counted with
/// strace, which prints the path behind each descriptor synced.
@Suite(.serialized) struct FsyncTests {
    static let strace = "/usr/bin/strace"

    @Test(.enabled(if: ContinuousIntegration.runs(needing: strace),
                   "strace is missing (Examples/setup-debian.sh installs it)"))
    func everyFileWrittenIsSynced() throws {
        let s = try Scratch("fsync")
        let a = s.agent("a"), b = s.agent("b")
        let files = ["x/one.txt", "y/z/two.txt", "three.txt"]
        for f in files { try a.write(f, "contents of \(f)\n") }
        try a.initialize()
        let key = try a.exportKey()
        let log = s.root.appendingPathComponent("strace.log").path
        let r = try Binaries.run(Self.strace, ["-f", "-qq", "-e", "signal=none", "-y", "-e", "trace=fsync,fdatasync", "-o", log,
                                               Binaries.url(of: "shadowsync").path, "join", s.remote, b.folder, "--key-file", key, "--no-passphrase"],
                                 environment: b.environment)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for f in files { #expect(b.read(f) == "contents of \(f)\n") }
        // "1234 fsync(5</path>) = 0" → the path.
        let synced = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            guard line.contains(" = 0"), let open = line.range(of: "<"), let close = line.range(of: ">)", options: .backwards) else { return nil }
            return String(line[open.upperBound..<close.lowerBound])
        }
        for f in files {
            let dir = (b.folder + "/" + f).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            #expect(synced.contains { $0.hasPrefix(dir + "/.shadowsync-tmp-") }, "\(f) was not fsync'ed before being moved into place: \(synced)")
            #expect(synced.contains(dir), "the directory of \(f) was not fsync'ed: \(synced)")
        }
        // The agent's own state (index, state, journal) is written the same way.
        let state = try #require(try FileManager.default.contentsOfDirectory(atPath: b.home + "/data/shadowsync").first)
        let stateDir = b.home + "/data/shadowsync/" + state + "/state"
        #expect(synced.contains { $0.hasPrefix(stateDir + "/.shadowsync-tmp-") }, "no state file was fsync'ed: \(synced)")
    }
}
