import Testing
import ShadowCore
@testable import ShadowCrypto

@Suite struct NameRecordTests {
    let keys: VaultKeys
    let names: NameCipher

    init() throws {
        keys = try vectorKeys()
        names = try NameCipher(keys: keys)
    }

    func roundTrip(_ record: NameRecord) throws -> [UInt8] {
        let sealed = try names.seal(record)
        #expect(try names.open(sealed, at: names.locator(for: record.path)) == record)
        #expect(try names.seal(record) == sealed)  // deterministic
        #expect((sealed.count - 24) % 64 == 0)
        return sealed
    }

    @Test func allKindsRoundTrip() throws {
        let siv = pattern(32)
        _ = try roundTrip(NameRecord(path: try PlainPath("a/b/c.txt"), kind: .file(length: 12345, siv: siv, executable: false)))
        _ = try roundTrip(NameRecord(path: try PlainPath("bin/run"), kind: .file(length: 0, siv: siv, executable: true)))
        _ = try roundTrip(NameRecord(path: try PlainPath("empty dir"), kind: .directory))
        _ = try roundTrip(NameRecord(path: try PlainPath("link"), kind: .symlink(target: Array("../outside/ünïcode".utf8))))
    }

    @Test func nonUTF8And255ByteAndDeepNames() throws {
        _ = try roundTrip(NameRecord(path: try PlainPath(bytes: [0xff, 0xfe, 0x2f, 0x80, 0x81]), kind: .directory))
        let long = [UInt8](repeating: 0x78, count: 255)
        let sealed = try roundTrip(NameRecord(path: try PlainPath(bytes: long), kind: .file(length: 1, siv: pattern(32), executable: false)))
        #expect(sealed.count == 24 + 320)
        let deep = try PlainPath(Array(repeating: "d", count: 1000).joined(separator: "/"))
        _ = try roundTrip(NameRecord(path: deep, kind: .directory))
        _ = try roundTrip(NameRecord(path: try PlainPath(bytes: [0x01, 0x0a, 0x7f]), kind: .symlink(target: [0xff, 0x2f])))
    }

    @Test func locatorIsFixedLengthAndParses() throws {
        for p in ["a", String(repeating: "x", count: 255), "deep/er/than/that"] {
            let loc = names.locator(for: try PlainPath(p))
            #expect(loc.text.count == 32)
            let parsed = Locator.parse(objectPath: loc.nameObjectPath)
            #expect(parsed?.0 == loc)
            #expect(Locator.parse(objectPath: loc.contentObjectPath)?.0 == loc)
        }
        for bad in ["d/a/b/c.n", "d/A/b/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.n", "x/a/b/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.n",
                    "d/a/b/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x", "d/a/b/aaaaaaaaaaaaaaaaaaaaaaaaaaaaa1.n", "vault.json"] {
            #expect(Locator.parse(objectPath: bad) == nil, "\(bad)")
        }
    }

    @Test func recordMovedToAnotherLocatorIsRefused() throws {
        let rec = NameRecord(path: try PlainPath("secret.txt"), kind: .directory)
        let sealed = try names.seal(rec)
        let elsewhere = names.locator(for: try PlainPath("other.txt"))
        #expect(thrownCode { _ = try names.open(sealed, at: elsewhere) } == .locatorMismatch)
    }

    @Test func everyByteFlipIsRefused() throws {
        let sealed = try names.seal(NameRecord(path: try PlainPath("notes/x"), kind: .file(length: 7, siv: pattern(32), executable: true)))
        let loc = names.locator(for: try PlainPath("notes/x"))
        for i in sealed.indices {
            var b = sealed
            b[i] ^= 0x04
            let code = thrownCode { _ = try names.open(b, at: loc) }
            #expect(code == .authenticationFailed || code == .malformedObject || code == .unsupportedVersion, "byte \(i)")
        }
        #expect(thrownCode { _ = try names.open(Array(sealed.dropLast(64)), at: loc) } == .malformedObject)
        #expect(thrownCode { _ = try names.open(sealed + [0], at: loc) } == .malformedObject)
        #expect(thrownCode { _ = try names.open(sealed + [UInt8](repeating: 0, count: 64), at: loc) } == .authenticationFailed)
    }

    @Test func wrongVaultCannotOpen() throws {
        let rec = NameRecord(path: try PlainPath("a"), kind: .directory)
        let sealed = try names.seal(rec)
        let other = try NameCipher(keys: VaultKeys.generate())
        #expect(thrownCode { _ = try other.open(sealed, at: names.locator(for: rec.path)) } == .authenticationFailed)
    }

    @Test func contentSwappedUnderAnotherNameRecordIsRefused() throws {
        let read = try keys.requireRead()
        let c = ContentCipher(keys: read)
        let ctA = try c.encrypt(Array("A".utf8), fileID: FileID.forNewPath(try PlainPath("a"), keys: read))
        let ctB = try c.encrypt(Array("B".utf8), fileID: FileID.forNewPath(try PlainPath("b"), keys: read))
        let recA = try names.open(try names.seal(NameRecord(path: try PlainPath("a"), kind: .file(length: 1, siv: Array(ctA[28..<60]), executable: false))),
                                  at: names.locator(for: try PlainPath("a")))
        guard case .file(_, let pinned, _) = recA.kind else { Issue.record("not a file"); return }
        #expect(try c.decrypt(ctA, expectedSIV: pinned) == Array("A".utf8))
        #expect(thrownCode { _ = try c.decrypt(ctB, expectedSIV: pinned) } == .contentMismatch)
    }

    @Test func invalidRecordsCannotBeSealed() throws {
        #expect(thrownCode { _ = try names.seal(NameRecord(path: try PlainPath("l"), kind: .symlink(target: []))) } == .invalidPath)
        #expect(thrownCode { _ = try names.seal(NameRecord(path: try PlainPath("l"), kind: .symlink(target: [0x61, 0]))) } == .invalidPath)
        #expect(thrownCode { _ = try names.seal(NameRecord(path: try PlainPath("f"), kind: .file(length: 1, siv: [1], executable: false))) } == .invalidArgument)
        #expect(thrownCode { _ = try NameCipher(keys: try vectorKeys().attenuated(to: .verifyOnly)) } == .insufficientCapability)
    }
}
