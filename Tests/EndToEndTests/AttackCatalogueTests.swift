import Foundation
import Testing
import TestSupport

/// The rows of the server-attack table (Docs/THREAT-MODEL.md, "attack | stopped by") that HostileServerTests does not
/// stage already, each staged with git on the bare repository as the server's operator would. Every
/// attack must be refused with the plaintext untouched; the suite prints the whole table (these rows
/// and the ones HostileServerTests covers) so a run shows what was tried and what each got.
@Suite(.serialized) struct AttackCatalogueTests {
    struct Row {
        let attack: String
        let outcome: String
    }

    /// B's sync against the attacked server is refused (Scratch.expectRefused); the table gets its message.
    func refused(_ s: Scratch, _ b: Agent, repair: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        "refused, exit 2: " + (try s.expectRefused(b, repair: repair, sourceLocation: sourceLocation))
    }

    /// Re-points main at a forged commit whose tree has `changes` applied.
    func forge(_ s: Scratch, _ changes: [String: String]) throws {
        try s.git(["update-ref", "refs/heads/main", try s.forgedCommit(tree: try s.tree(replacing: changes))])
    }

    @Test func catalogueOfServerAttacks() throws {
        var rows: [Row] = []
        func row(_ attack: String, _ stage: (Scratch, Agent, Agent, String) throws -> String) throws {
            let (s, a, b, good) = try Scratch.pairWithUnseenEdit("catalogue")
            rows.append(Row(attack: attack, outcome: try stage(s, a, b, good)))
        }

        try row("truncate a content object (new tree under the old signature)") { s, _, b, good in
            let target = try s.objects().first { $0.path.hasSuffix(".c") }!
            let bytes = try s.blobBytes(target.blob)
            try forge(s, [target.path: try s.blob(bytes.prefix(bytes.count - 7))])
            return try refused(s, b) { try s.git(["update-ref", "refs/heads/main", good]) }
        }
        try row("extend a content object by one chunk's worth of bytes") { s, _, b, good in
            let target = try s.objects().first { $0.path.hasSuffix(".c") }!
            try forge(s, [target.path: try s.blob(try s.blobBytes(target.blob) + Data(repeating: 0x41, count: 4096))])
            return try refused(s, b) { try s.git(["update-ref", "refs/heads/main", good]) }
        }
        try row("duplicate a name record at another locator") { s, _, b, good in
            let record = try s.objects().first { $0.path.hasSuffix(".n") }!
            try forge(s, ["d/a/a/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.n": record.blob])
            return try refused(s, b) { try s.git(["update-ref", "refs/heads/main", good]) }
        }
        try row("edit vault.json (the signed vault descriptor)") { s, _, b, good in
            let vault = try s.objects().first { $0.path == "vault.json" }!
            var bytes = try s.blobBytes(vault.blob)
            bytes[bytes.count / 2] ^= 0x20
            try forge(s, ["vault.json": try s.blob(bytes)])
            return try refused(s, b) { try s.git(["update-ref", "refs/heads/main", good]) }
        }
        try row("replace the history with another vault's (validly signed) history") { s, _, b, good in
            let other = s.agent("other")
            try other.write("doc.txt", "someone else's vault\n")
            let otherRepo = s.root.appendingPathComponent("other.git").path
            try other.ok(["init", other.folder, "--remote", otherRepo, "--no-passphrase"])
            try s.git(["fetch", "-q", otherRepo, "main:refs/attack/other"])
            try s.git(["update-ref", "refs/heads/main", "refs/attack/other"])
            return try refused(s, b) { try s.git(["update-ref", "refs/heads/main", good]) }
        }
        try row("change an object's bytes at rest, keeping its id") { s, _, b, _ in
            // Loose objects make the stored bytes of one id easy to replace: the pushed packs are exploded.
            let objects = s.remote + "/objects"
            let packDir = objects + "/pack"
            let moved = s.root.appendingPathComponent("packs").path
            try FileManager.default.createDirectory(atPath: moved, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: packDir) {
                try FileManager.default.moveItem(atPath: packDir + "/" + name, toPath: moved + "/" + name)
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: moved) where name.hasSuffix(".pack") {
                let pack = try Data(contentsOf: URL(fileURLWithPath: moved + "/" + name))
                let r = try TestProcess.run("/usr/bin/git", ["-C", s.remote, "unpack-objects", "-q"], stdin: Array(pack))
                #expect(r.status == 0, "\(r.stderr)")
            }
            // The doc.txt content object B lacks gets the stored bytes of another object.
            let known = Set(try s.git(["ls-tree", "-r", "main~1"]).split(separator: "\n").map { String($0.split(separator: " ")[2].prefix(40)) })
            let fresh = try s.objects().first { $0.path.hasSuffix(".c") && !known.contains($0.blob) }!
            let donor = try s.objects().first { $0.path.hasSuffix(".c") && $0.blob != fresh.blob }!
            func loose(_ id: String) -> String { objects + "/" + id.prefix(2) + "/" + id.dropFirst(2) }
            let original = try Data(contentsOf: URL(fileURLWithPath: loose(fresh.blob)))
            try FileManager.default.removeItem(atPath: loose(fresh.blob))
            try FileManager.default.copyItem(atPath: loose(donor.blob), toPath: loose(fresh.blob))
            return try refused(s, b) {
                try FileManager.default.removeItem(atPath: loose(fresh.blob))
                try original.write(to: URL(fileURLWithPath: loose(fresh.blob)))
            }
        }
        try row("fork: show A and B different histories") { s, a, b, _ in
            // B builds on the commit before A's edit (the server hid A's push from B) and the server takes
            // B's push; A, whose verified head is the hidden commit, must refuse the forked branch.
            try s.git(["update-ref", "refs/heads/main", "main~1"])
            try b.write("b.txt", "from b\n")
            try b.sync()
            let aBefore = a.snapshot()
            let r = try a.run(["sync", "--folder", a.folder])
            #expect(r.status == 2, "exit \(r.status): \(r.stderr)")
            #expect(a.snapshot() == aBefore)
            #expect(a.read("b.txt") == nil && a.read("doc.txt") == "version 2\n")
            let line = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            return "detected when the views meet, exit \(r.status): " + line.replacingOccurrences(of: "error: ", with: "")
        }

        let staged = [
            Row(attack: "flip a byte of a content object", outcome: "refused (HostileServerTests.flippedBlobIsRefused)"),
            Row(attack: "swap two content objects", outcome: "refused (HostileServerTests.swappedObjectsAreRefused)"),
            Row(attack: "inject an unsigned commit", outcome: "refused (HostileServerTests.unsignedCommitIsRefused)"),
            Row(attack: "roll the branch back to an older signed commit", outcome: "refused (HostileServerTests.rolledBackBranchIsRefused)"),
            Row(attack: "graft a commit signed by a non-writer key", outcome: "refused (HostileServerTests.readOnlyMembersPushIsRefused)"),
        ]
        let width = (rows + staged).map(\.attack.count).max() ?? 10
        var out = "server attack catalogue (Docs/THREAT-MODEL.md)\n"
        for r in rows + staged {
            out += r.attack.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + r.outcome + "\n"
        }
        out += "not staged: freezing updates (undetectable in general), deleting the repository (every device keeps the full history)\n"
        print(out)
        #expect(rows.count == 7)
        #expect(rows.allSatisfy { $0.outcome.hasPrefix("refused") || $0.outcome.hasPrefix("detected") })
    }
}
