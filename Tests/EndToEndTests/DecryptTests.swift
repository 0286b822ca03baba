import Foundation
import Testing

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
