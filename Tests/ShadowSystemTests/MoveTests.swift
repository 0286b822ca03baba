import Testing
import ShadowCore
@testable import ShadowSystem

/// `PlainFolder.move`: a rename that happens only if both ends are still what the caller last saw.
@Suite struct MoveTests {
    let root: BytePath
    let folder: PlainFolder
    init() throws {
        root = try FileSystem.makeTemporaryDirectory(prefix: "shadowfs-move-")
        folder = PlainFolder(root: root)
    }

    func write(_ name: String, _ text: String) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: root.appending(name), mode: 0o644)
    }
    func read(_ name: String) -> String? { (try? FileSystem.readFile(root.appending(name))).map { String(decoding: $0, as: UTF8.self) } }
    func stat(_ name: String) throws -> StatKey { try #require(try folder.entry(PlainPath(name))).stat }

    @Test func replacesOnlyWhatWasSeen() throws {
        defer { try? FileSystem.removeTree(root) }
        try write("a.txt", "original")
        try write("a.copy.txt", "copy")
        let (copy, original) = (try stat("a.copy.txt"), try stat("a.txt"))
        try write("a.txt", "edited meanwhile")
        #expect(throws: ShadowError.self) {
            try folder.move(PlainPath("a.copy.txt"), expected: copy, to: PlainPath("a.txt"), placement: .replace(expected: original))
        }
        #expect(read("a.txt") == "edited meanwhile" && read("a.copy.txt") == "copy")
        try folder.move(PlainPath("a.copy.txt"), expected: copy, to: PlainPath("a.txt"), placement: .replace(expected: try stat("a.txt")))
        #expect(read("a.txt") == "copy" && read("a.copy.txt") == nil)
    }

    @Test func aChangedSourceIsNotMoved() throws {
        defer { try? FileSystem.removeTree(root) }
        try write("b.copy.txt", "copy")
        let seen = try stat("b.copy.txt")
        try write("b.copy.txt", "rewritten")
        #expect(throws: ShadowError.self) { try folder.move(PlainPath("b.copy.txt"), expected: seen, to: PlainPath("b (2).txt"), placement: .create) }
        #expect(read("b.copy.txt") == "rewritten" && read("b (2).txt") == nil)
    }

    @Test func createNeverReplaces() throws {
        defer { try? FileSystem.removeTree(root) }
        try write("c.copy.txt", "copy")
        try write("c.txt", "there already")
        let error = #expect(throws: ShadowError.self) {
            try folder.move(PlainPath("c.copy.txt"), expected: try stat("c.copy.txt"), to: PlainPath("c.txt"), placement: .create)
        }
        #expect(error?.code == .alreadyExists)
        #expect(read("c.txt") == "there already" && read("c.copy.txt") == "copy")
        try folder.move(PlainPath("c.copy.txt"), expected: try stat("c.copy.txt"), to: PlainPath("sub/c.txt"), placement: .create)
        #expect(read("sub/c.txt") == "copy" && read("c.copy.txt") == nil)
    }
}
