import Foundation
import Testing
import TestSupport

/// A scratch area with a bare repository and agents, each with its own XDG directories, driven through
/// the real `shadowsync` binary as a user would.
final class Scratch {
    let root: URL
    var remote: String { root.appendingPathComponent("remote.git").path }

    init(_ name: String) throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("shadowsync-e2e-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func agent(_ name: String) -> Agent { Agent(name: name, scratch: self) }

    /// Runs git on the bare repository, as the server's operator (or an attacker) would.
    @discardableResult
    func git(_ args: [String], in dir: String? = nil, input: String? = nil, environment: [String: String] = [:]) throws -> String {
        let r = try TestProcess.run("/usr/bin/git", ["-c", "user.name=mallory", "-c", "user.email=m@evil", "-C", dir ?? remote] + args,
                                    environment: environment, stdin: input.map { Array($0.utf8) })
        guard r.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["git": args, "stderr": r.stderr]) }
        return r.stdout
    }

    /// A tree like main's, with `changes` (path → blob id) applied, built in a scratch index.
    func tree(replacing changes: [String: String]) throws -> String {
        let env = ["GIT_INDEX_FILE": root.appendingPathComponent("attack-index").path]
        try git(["read-tree", "main"], environment: env)
        for (path, blob) in changes { try git(["update-index", "--add", "--cacheinfo", "100644,\(blob),\(path)"], environment: env) }
        return try git(["write-tree"], environment: env).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Main's commit object with its tree (and optionally parent) replaced, keeping its signature
    /// header: what a server forging a change to signed history would try.
    func forgedCommit(tree: String, parent: String? = nil) throws -> String {
        var lines = try git(["cat-file", "commit", "main"]).components(separatedBy: "\n")
        lines[0] = "tree \(tree)"
        if let parent, let i = lines.firstIndex(where: { $0.hasPrefix("parent ") }) { lines[i] = "parent \(parent)" }
        return try git(["hash-object", "-t", "commit", "-w", "--stdin"], input: lines.joined(separator: "\n")).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func blob(_ bytes: Data) throws -> String {
        let f = root.appendingPathComponent("attack-blob")
        try bytes.write(to: f)
        return try git(["hash-object", "-w", f.path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A blob's raw bytes on the bare repository.
    func blobBytes(_ id: String) throws -> Data {
        Data(try TestProcess.run("/usr/bin/git", ["-C", remote, "cat-file", "blob", id]).stdoutBytes)
    }

    /// The hostile-server tests' starting point: A and B synced, then A pushes an edit B has not seen
    /// (doc.txt "version 1" → "version 2"). Returns the agents and the good head.
    static func pairWithUnseenEdit(_ name: String) throws -> (Scratch, Agent, Agent, String) {
        let s = try Scratch(name)
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.write("other.txt", "other\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        // B's join commits its device record; A takes it first, so A's edit is the one commit B lacks.
        try a.sync()
        try a.write("doc.txt", "version 2\n")
        try a.sync()
        let good = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return (s, a, b, good)
    }

    /// B syncs against the attacked server: refused with exit 2 (and `phrase` in the message), nothing
    /// changed (plaintext and the remote branch); `repair` undoes the attack and B catches up with A's
    /// real edit, keeping its own. Returns B's first error line.
    @discardableResult
    func expectRefused(_ b: Agent, phrase: String? = nil, repair: () throws -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try b.write("local-edit.txt", "made while the server was hostile\n")
        let before = b.snapshot()
        let headBefore = try git(["rev-parse", "main"])
        let r = try b.run(["sync", "--folder", b.folder])
        #expect(r.status == 2, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        if let phrase { #expect(r.stderr.contains(phrase), "\(r.stderr)", sourceLocation: sourceLocation) }
        #expect(r.stderr.contains("nothing was changed locally"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(b.snapshot() == before, sourceLocation: sourceLocation)
        #expect(b.read("doc.txt") == "version 1\n", sourceLocation: sourceLocation)
        // The attacked branch was not overwritten by B either.
        #expect(try git(["rev-parse", "main"]) == headBefore, sourceLocation: sourceLocation)
        try repair()
        try b.sync()
        #expect(b.read("doc.txt") == "version 2\n", sourceLocation: sourceLocation)
        #expect(b.read("local-edit.txt") == "made while the server was hostile\n", sourceLocation: sourceLocation)
        return (r.stderr.split(separator: "\n").first.map(String.init) ?? "(no message)").replacingOccurrences(of: "error: ", with: "")
    }

    /// Paths and blob ids of main's tree.
    func objects() throws -> [(path: String, blob: String)] {
        try git(["ls-tree", "-r", "main"]).split(separator: "\n").map { line in
            let parts = line.split(separator: "\t")
            return (String(parts[1]), String(parts[0].split(separator: " ")[2]))
        }
    }
}

struct Agent {
    let name: String
    let scratch: Scratch
    var folder: String { scratch.root.appendingPathComponent("plain-\(name)").path }
    var home: String { scratch.root.appendingPathComponent("home-\(name)").path }
    var environment: [String: String] {
        // No ssh-agent from the developer's session: the SSH tests choose their keys explicitly.
        ["HOME": home, "XDG_CONFIG_HOME": home + "/config", "XDG_DATA_HOME": home + "/data", "SSH_AUTH_SOCK": ""]
    }

    @discardableResult
    func run(_ args: [String], crashAt: String? = nil, unset: [String] = []) throws -> Binaries.Outcome {
        var env = environment
        if let crashAt { env["SHADOWSYNC_CRASH_AT"] = crashAt }
        return try Binaries.run("shadowsync", args, environment: env, unset: unset)
    }

    /// Runs a command that must succeed; the failure message carries its output.
    @discardableResult
    func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try run(args)
        #expect(r.status == 0, "shadowsync \(args.joined(separator: " ")) as \(name) -> \(r.status)\n\(r.stdout)\n\(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout
    }

    func initialize() throws {
        try ok(["init", folder, "--remote", scratch.remote, "--no-passphrase"])
    }

    func exportKey(_ flags: [String] = []) throws -> String {
        let key = try ok(["key", "export", "--folder", folder] + flags).trimmingCharacters(in: .whitespacesAndNewlines)
        let file = scratch.root.appendingPathComponent("key-\(name)-\(flags.joined()).txt")
        try key.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func join(keyFile: String) throws {
        try ok(["join", scratch.remote, folder, "--key-file", keyFile, "--no-passphrase"])
    }

    func sync() throws { try ok(["sync", "--folder", folder]) }

    // File helpers, all by bytes relative to the folder.
    func write(_ path: String, _ text: String) throws { try write(Array(path.utf8), Array(text.utf8)) }
    func write(_ path: [UInt8], _ bytes: [UInt8]) throws {
        let full = Array(folder.utf8) + [UInt8(ascii: "/")] + path
        let dir = full[..<(full.lastIndex(of: UInt8(ascii: "/"))!)]
        try FileManager.default.createDirectory(atPath: String(decoding: dir, as: UTF8.self), withIntermediateDirectories: true)
        let fd = (full + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC, 0o644) } }
        precondition(fd >= 0)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
    }
    func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: folder + "/" + path).map { String(decoding: $0, as: UTF8.self) }
    }
    func remove(_ path: String) throws { try FileManager.default.removeItem(atPath: folder + "/" + path) }
    func move(_ a: String, _ b: String) throws { try FileManager.default.moveItem(atPath: folder + "/" + a, toPath: folder + "/" + b) }
    func names(_ dir: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder + "/" + dir).sorted()
    }

    /// The whole folder as comparable data: path bytes → kind, exec bit, content or link target.
    func snapshot() -> [String: String] { Snapshot.take(folder) }
}

/// Reads a file by byte path (non-UTF-8 names included).
func readRaw(_ path: [UInt8]) -> [UInt8] {
    let fd = (path + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY) } }
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out += buf[0..<n]
    }
}

enum Snapshot {
    static func take(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        walk(Array(root.utf8), [], &out)
        return out
    }

    private static func walk(_ dir: [UInt8], _ rel: [UInt8], _ out: inout [String: String]) {
        guard let d = (dir + [0]).withUnsafeBufferPointer({ b in b.withMemoryRebound(to: CChar.self) { opendir($0.baseAddress!) } }) else { return }
        defer { closedir(d) }
        var names: [[UInt8]] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name == [46] || name == [46, 46] { continue }
            names.append(name)
        }
        for name in names {
            let full = dir + [47] + name, r = rel.isEmpty ? name : rel + [47] + name
            let key = r.map { $0 >= 0x20 && $0 < 0x7f ? String(UnicodeScalar($0)) : "\\x\(String($0, radix: 16))" }.joined()
            var st = stat()
            _ = (full + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &st) } }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                out[key] = "dir"
                walk(full, r, &out)
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: 4096)
                let n = (full + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { readlink($0.baseAddress!, &buf, 4096) } }
                out[key] = "link:" + String(decoding: buf[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            default:
                let data = readRaw(full)
                let text = data.count <= 4096 ? String(decoding: data, as: UTF8.self) : "\(data.count) bytes, hash \(data.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 })"
                out[key] = "file\(st.st_mode & 0o100 != 0 ? "+x" : ""):" + text
            }
        }
    }
}
