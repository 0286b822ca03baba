import Foundation
import Testing

/// The shadow repository is the agent's alone: a commit typed there by hand never reaches the server,
/// the error blames this machine, and `repair` brings the folder back in sync losing nothing.
@Suite(.serialized) struct ShadowGuardTests {
    /// The shadow work tree of an agent's only folder.
    static func shadow(of agent: Agent) throws -> String {
        let data = agent.home + "/data/shadowsync"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: data).first)
        return data + "/" + name + "/shadow"
    }

    static func head(_ s: Scratch) throws -> String {
        try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A sync after a hand commit: refused with exit 1, blaming this machine, and the remote untouched.
    static func expectRefusedLocally(_ s: Scratch, _ a: Agent, fault: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try head(s)
        let r = try a.run(["sync", "--folder", a.folder])
        #expect(r.status == 1, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("has a commit ShadowSync did not make"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(fault), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("someone ran git there?"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("shadowsync repair"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("the server altered") && !r.stderr.contains("injecting"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(try head(s) == before, "the hand commit reached the server", sourceLocation: sourceLocation)
        // Asking again changes nothing: the guard is permanent, not a retry.
        #expect(try a.run(["sync", "--folder", a.folder]).status == 1, sourceLocation: sourceLocation)
        #expect(try head(s) == before, sourceLocation: sourceLocation)
        let status = try a.run(["status", "--folder", a.folder])
        #expect(status.stdout.contains("needs repair") && status.stdout.contains("ShadowSync did not make"), "\(status.stdout)", sourceLocation: sourceLocation)
        let log = try a.run(["log", "--folder", a.folder])
        #expect(log.status == 1 && log.stderr.contains("ShadowSync did not make"), "\(log.stdout) \(log.stderr)", sourceLocation: sourceLocation)
        #expect(log.stderr.contains("the server is not to blame") && !log.stderr.contains("the server altered"), "\(log.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aHandCommitNeverReachesTheServer() throws {
        let s = try Scratch("hand-commit")
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        try a.write("doc.txt", "one\n")
        try a.initialize()
        let key = try a.exportKey()
        try b.join(keyFile: key)
        let shadow = try Self.shadow(of: a)

        try s.git(["commit", "--allow-empty", "-m", "typed by hand"], in: shadow)
        try a.write("made-meanwhile.txt", "edited while the shadow repository was broken\n")
        try Self.expectRefusedLocally(s, a, fault: "is not signed")

        // Nothing bad reached the server: others sync and join as usual.
        try b.write("from-b.txt", "b\n")
        try b.sync()
        try c.join(keyFile: key)
        #expect(c.read("from-b.txt") == "b\n")

        let repair = try a.ok(["repair", "--folder", a.folder])
        #expect(repair.contains("discarded"), "\(repair)")
        try a.sync()
        try b.sync()
        #expect(b.read("made-meanwhile.txt") == "edited while the shadow repository was broken\n")
        #expect(a.read("from-b.txt") == "b\n")
        #expect(a.snapshot() == b.snapshot())
        #expect(try s.git(["log", "--format=%s", "main"]).contains("typed by hand") == false)

        // An amended commit keeps its old signature, which no longer verifies.
        try s.git(["commit", "--amend", "--no-edit", "--allow-empty", "--date=2001-01-01T00:00:00"], in: shadow)
        try a.write("doc.txt", "two\n")
        try Self.expectRefusedLocally(s, a, fault: "signature that does not verify")
        try a.ok(["repair", "--folder", a.folder])
        try a.sync()
        try b.sync()
        #expect(b.read("doc.txt") == "two\n")
        #expect(try c.run(["sync", "--folder", c.folder]).status == 0)
        #expect(c.snapshot() == a.snapshot())
    }
}

/// `shadowsync decrypt` either writes the whole verified tree or nothing at all.
@Suite(.serialized) struct DecryptRecoveryTests {
    /// A copy of the vault's repository whose biggest object (the content of `big.bin`) no longer
    /// matches its hash, as a bad disk would leave it. Pushed into a fresh bare repository, a handful
    /// of objects arrive loose, one file each.
    static func damagedMirror(_ s: Scratch) throws -> String {
        let mirror = s.root.appendingPathComponent("damaged.git").path
        try s.git(["init", "--bare", "-q", mirror], in: s.root.path)
        try s.git(["push", "-q", mirror, "main"])
        let biggest = try s.git(["ls-tree", "-r", "-l", "main"]).split(separator: "\n")
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
            .max { Int($0[3])! < Int($1[3])! }!
        let id = String(biggest[2])
        let object = mirror + "/objects/" + id.prefix(2) + "/" + id.dropFirst(2)
        #expect(FileManager.default.fileExists(atPath: object), "not a loose object: \(object)")
        // A well-formed loose object of the same size whose bytes hash to another id.
        let size = Int(biggest[3])!
        var body = Array("blob \(size)\0".utf8) + [UInt8](repeating: 0x5a, count: size)
        body[body.count - 1] = 0x5b
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(body))
        input.fileHandleForWriting.closeFile()
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: object)
        try compressed.write(to: URL(fileURLWithPath: object))
        return mirror
    }

    @Test func aDamagedObjectLeavesNothingInTo() throws {
        let s = try Scratch("decrypt-damaged")
        let a = s.agent("a")
        // Written in path order: the small file first, so a decrypt writing in place would leave it behind.
        try a.write("a-small.txt", "small\n")
        try a.write("big.bin", String(repeating: "0123456789abcdef", count: 20_000))
        try a.initialize()
        let key = try a.exportKey()
        let mirror = try Self.damagedMirror(s)

        let out = s.root.appendingPathComponent("restored").path
        let r = try a.run(["decrypt", mirror, "--key-file", key, "--to", out])
        #expect(r.status == 2, "exit \(r.status): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("nothing was written to \(out)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.root.path).filter { $0.contains("shadowsync-decrypt") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // An empty --to stays empty.
        let empty = s.root.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        #expect(try a.run(["decrypt", mirror, "--key-file", key, "--to", empty]).status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty).isEmpty)

        // The undamaged repository decrypts whole, into the empty directory too.
        try a.ok(["decrypt", s.remote, "--key-file", key, "--to", empty])
        #expect(Snapshot.take(empty) == a.snapshot())
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.root.path).filter { $0.contains("shadowsync-decrypt") }.isEmpty)
    }

    @Test func aServerURLIsMirroredFirst() throws {
        let s = try Scratch("decrypt-ssh")
        let a = s.agent("a")
        try a.write("x.txt", "x\n")
        try a.initialize()
        let key = try a.exportKey()
        let out = s.root.appendingPathComponent("out").path
        let r = try a.run(["decrypt", "ssh://git@server.invalid/srv/vault.git", "--key-file", key, "--to", out])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("git clone --mirror ssh://git@server.invalid/srv/vault.git"), "\(r.stderr)")
        #expect(!r.stderr.contains("shadowsync init"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// `--key-file` forgives what `--key` forgives: upper case, spaces and line breaks.
    @Test func keyFileTakesTheCapabilityAsKeyDoes() throws {
        let s = try Scratch("key-file-case")
        let a = s.agent("a")
        try a.write("x.txt", "x\n")
        try a.initialize()
        let key = try String(contentsOfFile: try a.exportKey(), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let chars = Array(key.uppercased())
        let mangled = "  " + String(chars[..<20]) + " \n" + String(chars[20...]) + "\r\n\t"
        let file = s.root.appendingPathComponent("mangled-key.txt").path
        try mangled.write(toFile: file, atomically: true, encoding: .utf8)
        let viaFile = s.root.appendingPathComponent("via-file").path
        try a.ok(["decrypt", s.remote, "--key-file", file, "--to", viaFile])
        #expect(Snapshot.take(viaFile) == a.snapshot())
        let viaKey = s.root.appendingPathComponent("via-key").path
        try a.ok(["decrypt", s.remote, "--key", mangled, "--to", viaKey])
        #expect(Snapshot.take(viaKey) == a.snapshot())
        // join reads --key-file the same way.
        let b = s.agent("b")
        try b.join(keyFile: file)
        #expect(b.read("x.txt") == "x\n")
    }
}
