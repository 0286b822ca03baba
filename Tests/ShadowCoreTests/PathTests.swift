import Testing
@testable import ShadowCore

@Suite struct PlainPathTests {
    @Test func acceptsOrdinaryAndNonUTF8Paths() throws {
        let p = try PlainPath("notes/2024/todo.txt")
        #expect(p.components.count == 3)
        #expect(p.parent == (try PlainPath("notes/2024")))
        let raw = try PlainPath(bytes: [0x66, 0xff, 0x2f, 0xfe])
        #expect(raw.description == "f\\xff/\\xfe")
        #expect(raw.lastComponent == [0xfe])
    }

    @Test func acceptsA255ByteNameButNot256() throws {
        _ = try PlainPath(bytes: [UInt8](repeating: 0x61, count: 255))
        #expect(throws: ShadowError.self) { try PlainPath(bytes: [UInt8](repeating: 0x61, count: 256)) }
    }

    @Test(arguments: ["", "/abs", "a//b", "a/", "./a", "a/..", "..", "a\0b"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: ShadowError.self) { try PlainPath(text) }
        do { _ = try PlainPath(text) } catch { #expect(error.code == .invalidPath) }
    }

    @Test func rejectsOverlongPath() {
        let long: [UInt8] = Array(Array(repeating: Array("abcdefg/".utf8), count: 600).joined()) + [0x61]
        #expect(throws: ShadowError.self) { try PlainPath(bytes: long) }
    }

    @Test func bytePathJoins() {
        #expect(BytePath("/tmp").appending("x").bytes == Array("/tmp/x".utf8))
        #expect(BytePath("/tmp/").appending("x").bytes == Array("/tmp/x".utf8))
        #expect(BytePath("/tmp/x").directory == BytePath("/tmp"))
        #expect(BytePath("/x").directory == BytePath("/"))
    }

    @Test func errorsCarryAdviceAndRetryability() {
        let e = ShadowError(.diskFull, "no space", advice: "free some")
        #expect(e.isRetryable)
        #expect(e.description.contains("what to do: free some"))
        #expect(!ShadowError(.authenticationFailed, "x").isRetryable)
    }

    @Test func memorySourceReadsPositionally() throws {
        let s = MemorySource(Array(0..<10))
        var buf = [UInt8](repeating: 0, count: 4)
        let n = try buf.withMutableBytes { (b) throws(ShadowError) in try s.readFully(at: 8, into: b) }
        #expect(n == 2)
        #expect(Array(buf.prefix(2)) == [8, 9])
    }
}
