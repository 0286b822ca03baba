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

    /// The index's fast load checks paths on borrowed bytes; it must accept and refuse exactly what
    /// `init(bytes:)` does, and appending a name must check that name the same way.
    @Test func validateAndAppendingAgreeWithInit() throws {
        let long = [UInt8](repeating: 0x61, count: 255)
        let cases: [[UInt8]] = ["a", "notes/2024/todo.txt", "", "/abs", "a//b", "a/", "./a", "a/..", "..", ".", "a/./b", "...", "a\0b",
                                "\0", "x/..y", ".hidden/.x"].map { Array($0.utf8) } + [long, long + [0x61], Array("d/".utf8) + long, [0xff, 0x2f, 0xfe]]
        for bytes in cases {
            let byInit = (try? PlainPath(bytes: bytes)) != nil
            let byValidate = bytes.withUnsafeBufferPointer { b in (try? PlainPath.validate(b)) != nil }
            #expect(byInit == byValidate, "\(bytes)")
        }
        let d = try PlainPath("d")
        for bad in ["", "..", ".", "a\0b", "x//y", "x/.."] {
            #expect(throws: ShadowError.self, "\(bad)") { _ = try d.appending(Array(bad.utf8)) }
        }
        #expect(throws: ShadowError.self) { _ = try d.appending(long + [0x61]) }
        #expect(try d.appending(long).bytes.count == 257)
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
