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
        #expect(sealed.count == 24 + 384)  // 76 fixed bytes + 255, padded to a multiple of 64
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
        #expect(thrownCode { _ = try names.open(Array(sealed.dropLast(64)), at: loc) } == .authenticationFailed)
        #expect(thrownCode { _ = try names.open(Array(sealed.prefix(24 + 63)), at: loc) } == .malformedObject)
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

    // MARK: Metadata (permissions, modification time, modified-by)

    let device = Array(UInt8(0x30)...UInt8(0x3f))

    @Test func metadataRoundTrips() throws {
        let siv = pattern(32)
        for (kind, m) in [(EntryKind.file(length: 9, siv: siv, executable: false), EntryMetadata(permissions: 0o600, modified: FileTime(seconds: 1_767_225_600, nanoseconds: 999_999_999), modifiedBy: device)),
                          (.file(length: 9, siv: siv, executable: true), EntryMetadata(permissions: 0o751, modified: FileTime(seconds: -1, nanoseconds: 1), modifiedBy: device)),
                          (.directory, EntryMetadata(permissions: 0o700, modified: FileTime(seconds: Int64.max, nanoseconds: 0), modifiedBy: device)),
                          (.directory, EntryMetadata(permissions: 0, modified: FileTime(seconds: Int64.min, nanoseconds: 0))),
                          (.symlink(target: Array("t".utf8)), EntryMetadata(permissions: 0, modified: FileTime(seconds: 3, nanoseconds: 4), modifiedBy: device))] {
            let record = NameRecord(path: try PlainPath("x/y"), kind: kind, metadata: m)
            _ = try roundTrip(record)
            #expect(record.metadata == m)
        }
    }

    @Test func permissionsDecideTheExecutableBit() throws {
        let siv = pattern(32)
        let r = NameRecord(path: try PlainPath("f"), kind: .file(length: 1, siv: siv, executable: false), metadata: EntryMetadata(permissions: 0o744))
        #expect(r.kind == .file(length: 1, siv: siv, executable: true))
        let s = NameRecord(path: try PlainPath("f"), kind: .file(length: 1, siv: siv, executable: true), metadata: EntryMetadata(permissions: 0o611))
        #expect(s.kind == .file(length: 1, siv: siv, executable: false))
        let link = NameRecord(path: try PlainPath("l"), kind: .symlink(target: [0x61]), metadata: EntryMetadata(permissions: 0o777))
        #expect(link.metadata.permissions == 0)
        #expect(NameRecord(path: try PlainPath("f"), kind: .file(length: 1, siv: siv, executable: true)).metadata == EntryMetadata(permissions: 0o755))
        #expect(NameRecord(path: try PlainPath("f"), kind: .file(length: 1, siv: siv, executable: false)).metadata == EntryMetadata(permissions: 0o644))
        #expect(NameRecord(path: try PlainPath("d"), kind: .directory).metadata == EntryMetadata(permissions: 0o755, modified: .epoch, modifiedBy: Array(repeating: 0, count: 16)))
    }

    @Test func sealRefusesPrivilegeBitsAndBadDeviceIDs() throws {
        for bits: UInt32 in [0o4755, 0o2755, 0o1777, 0o10644] {
            let r = NameRecord(path: try PlainPath("d"), kind: .directory, metadata: EntryMetadata(permissions: bits))
            #expect(thrownCode { _ = try names.seal(r) } == .invalidArgument, "\(String(bits, radix: 8))")
        }
        let short = NameRecord(path: try PlainPath("d"), kind: .directory, metadata: EntryMetadata(permissions: 0o755, modifiedBy: Array(repeating: 1, count: 15)))
        #expect(thrownCode { _ = try names.seal(short) } == .invalidArgument)
    }

    /// R built field by field from FORMAT.md §4.2, padded to 64 bytes (or `pad` bytes).
    func rawRecord(type: UInt8 = 1, reserved: UInt8 = 0, permissions: UInt16 = 0o600, nanoseconds: UInt32 = 123_456_789,
                   seconds: Int64 = 1_767_225_600, length: UInt64 = 9, siv: [UInt8]? = nil, path: String = "dir/f",
                   target: [UInt8] = [], pad: Int? = nil, lastPaddingByte: UInt8 = 0) -> [UInt8] {
        var r: [UInt8] = [type, reserved] + LittleEndian.bytes(permissions) + LittleEndian.bytes(nanoseconds) + LittleEndian.bytes(seconds) + device
        r += LittleEndian.bytes(length) + (siv ?? pattern(32)) + LittleEndian.bytes(UInt16(path.utf8.count)) + Array(path.utf8)
        r += LittleEndian.bytes(UInt16(target.count)) + target
        let size = pad ?? (r.count + 63) / 64 * 64
        r += [UInt8](repeating: 0, count: size - r.count)
        r[r.count - 1] |= lastPaddingByte
        return r
    }

    @Test func layoutMatchesTheFormat() throws {
        let path = try PlainPath("dir/f")
        let record = NameRecord(path: path, kind: .file(length: 9, siv: pattern(32), executable: false),
                                metadata: EntryMetadata(permissions: 0o600, modified: FileTime(seconds: 1_767_225_600, nanoseconds: 123_456_789), modifiedBy: device))
        #expect(names.seal(recordBytes: rawRecord()) == (try names.seal(record)))
        #expect(try names.open(names.seal(recordBytes: rawRecord()), at: names.locator(for: path)) == record)
    }

    @Test func nonCanonicalMetadataIsRefused() throws {
        let zero = [UInt8](repeating: 0, count: 32)
        let cases: [(String, [UInt8])] = [
            ("setuid", rawRecord(permissions: 0o4600)), ("setgid", rawRecord(permissions: 0o2600)),
            ("sticky", rawRecord(permissions: 0o1600)), ("file type bits", rawRecord(permissions: 0o100600)),
            ("10^9 nanoseconds", rawRecord(nanoseconds: 1_000_000_000)), ("max nanoseconds", rawRecord(nanoseconds: .max)),
            ("reserved byte", rawRecord(reserved: 1)), ("non-zero padding", rawRecord(lastPaddingByte: 1)),
            ("padding too long", rawRecord(pad: 192)),
            ("symlink with permissions", rawRecord(type: 3, permissions: 0o777, length: 0, siv: zero, target: [0x61])),
            ("directory with a length", rawRecord(type: 2, permissions: 0o755, length: 1, siv: zero)),
            ("shorter than the fixed fields", [UInt8](repeating: 0, count: 64)),
        ]
        let loc = names.locator(for: try PlainPath("dir/f"))
        for (why, r) in cases {
            #expect(thrownCode { _ = try names.open(names.seal(recordBytes: r), at: loc) } == .nonCanonical, "\(why)")
        }
        // The same fields at their limits are canonical.
        let symlink = rawRecord(type: 3, permissions: 0, length: 0, siv: zero, target: [0x61])
        #expect(try names.open(names.seal(recordBytes: symlink), at: loc).kind == .symlink(target: [0x61]))
        #expect(try names.open(names.seal(recordBytes: rawRecord(permissions: 0o777, nanoseconds: 999_999_999)), at: loc).metadata.modified.nanoseconds == 999_999_999)
    }
}
