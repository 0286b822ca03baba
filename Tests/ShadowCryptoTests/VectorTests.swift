import Testing
import TestSupport
import Foundation
import ShadowCore
@testable import ShadowCrypto

/// The exact values published in Docs/FORMAT.md §Test vectors. A change here is a format change.
@Suite struct VectorTests {
    @Test func keyHierarchy() throws {
        let k = try vectorKeys()
        #expect(hexString(k.rootPublicKey) == "d38ab8dff365f53276f2d84a51c5835f601f2c996f297e326e874037b77af8b2")
        #expect(hexString(k.vaultID) == "140cc60fcd4d3ffc0629840d4b1519d5")
    }

    @Test func capabilities() throws {
        let k = try vectorKeys()
        #expect(CapabilityText.encode(k) == "shdw1-rw-aeaacaqdaqcqmbyibefawdanbyhraeiscmkbkfqxdamrugy4dupb6uetme6a")
        #expect(CapabilityText.encode(try k.attenuated(to: .readOnly)) == "shdw1-ro-aiaaaaaace3zuxu3xeberb4bimj2wqycu5d5tm5pc37binnhctm4lgf7elpnhcvy37zwl5jso3znqssrywbv6ya7fsmw6kl6gjxioqbxw55prmuadrwii")
        #expect(CapabilityText.encode(try k.attenuated(to: .verifyOnly)) == "shdw1-vk-apjyvog76ns7kmtw6lmeuuofqnpwahzmtfxss7rsn2duan5xpl4le6goottq")
    }

    @Test func locatorsAndFileIDs() throws {
        let k = try vectorKeys()
        let names = try NameCipher(keys: k)
        let p = try PlainPath("Documents/Tax 2024/return.pdf")
        #expect(names.locator(for: p).nameObjectPath == "d/g/c/nzojafpkioy2yobw7jyor3hiuzuhw4.n")
        #expect(names.locator(for: p).contentObjectPath == "d/g/c/nzojafpkioy2yobw7jyor3hiuzuhw4.c")
        #expect(FileID.forNewPath(p, keys: try k.requireRead()).description == "2190c949cc4f9eb4843ff292baf296bc")
        #expect(names.locator(for: try PlainPath("a")).nameObjectPath == "d/b/i/gmqykzoejdfjyfaijsnraltsl2noxh.n")
    }

    @Test func contentObjects() throws {
        let read = try vectorKeys().requireRead()
        let fid = try FileID(bytes: Array(repeating: 0x11, count: 16))
        let c = ContentCipher(keys: read)
        let hello = try c.encrypt(Array("hello".utf8), fileID: fid, parameters: ContentParameters(padding: .none))
        #expect(hexString(hello) == "5348433101100000000000001111111111111111111111111111111158b649149fe35e70f08c957373221c43dc4eee8f54d9ab5980f421a9b4110fa27afa79cfffb4cdf55332d838f240eb8307113abebd76e183802847873c")
        let empty = try c.encrypt([], fileID: fid, parameters: .default)
        #expect(hexString(empty) == "5348433101100100000000001111111111111111111111111111111182bbc175bb924d367bbad775eaf1084be704699cec2c60c482dc19f82df9290e60bd1c3cf6f7b0350e22e4e09ab4e8e244bc1bf97ccba3f60864ec7c78c987ba08ec8b5c249347a76fc9ba318f20e0a7a8999a89eb8cf0da3421d0498073369e2def938ee9966d46da602611e31142caf1b1bab04d4d6d084407bd2dec5dc691b6f03b014c51593835a7c08a4543978b89e2b3af05491b9db257b75ab9e1adfb7d673b769aafeb812c465a0b104a8a240e9cfdab252549e5651ab78a884d32271560fb0311adff7193720848f9bd68789f6f9a0b8a621a178d248ff4ddc284ead2412ea024884a6f53a57776da4c3a2983b8df8abb06f198c78d6560c957a2c7acfacbf057c6d85cf1b07aa931652697d08839a86798e3981ca71ead161402c946c07917c66086a55294f6ff16f43b46")
        let helloPadded = try c.encrypt(Array("hello".utf8), fileID: fid, parameters: .default)
        #expect(hexString(helloPadded) == "53484331011001000000000011111111111111111111111111111111a189f826d85b186dce08c627e5b984cabf476224b71c9f777483cc2018b4546ee93a87eb0293b0cc1e2f0c141ddf738775f68592312088b2215cb46eaed394c14c9be9245d41b799d6a9a9fe2e6da532323117a51a85f5f45db64561874cf5876f979b606bd3dbea994d7a7abb1e58d155959bcb8626ad315c5335d904be08935afb07248d8638ec2cb818bc8eb3d57169ef5b1304f2fabad49de635fe33db7e90f74bfd7d7699146b79deb1d73f764745827f21d9fca00271d0be7aeba51fe81b83b3ef93e484a155a2b6f06b594bfb8a08e80e23f7f587c8ed2115df68568c75a375e2cb3f85619c6d0c9771fd0f7eac6c5c1004af55bfde414dfbe71405b06e4a6d3469aa168d0e171cb4e31568f9f7cdfd54a6ee8f48bcf882688b24796b9e972ac2f1e788a915cdcab745716920")
    }

    @Test func nameRecordAndSignature() throws {
        let k = try vectorKeys()
        let sealed = try NameCipher(keys: k).seal(NameRecord(path: try PlainPath("a"), kind: .directory))
        #expect(hexString(sealed) == "53484e32000000003a5f325db7e84e10800f379842695df6a6af1d91df4f3945627a2345e958d7170e7a05d17ab3c36e502f4fcfa33dfbb48f456a12f46707ebd8fdb8a7f55cf4efe96c5d0daf6ebb31d100ccc03866adb1ab04a329138c91fefcd33a89e69770f3d13ff3e341eaffd35d7606bbf0d88f57c42d95ac5367e49fe93bee98f97043bb14436f5e6da956ff9e69a69a4b427988")
        let sig = Signatures.sign(Array("tree 0".utf8), purpose: .commit, device: try vectorDevice(), vaultID: k.vaultID)
        #expect(hexString(sig) == "c1182281732336997a4dff88b553f234f26c3d88d287446ab590145f1fb061d4174ff03538961601ef42af9b4f2d36f6f854f0be2db2a3b35e8baebb02448006")
    }

    @Test func invites() throws {
        let k = try vectorKeys(), device = try vectorDevice()
        let invite = try InviteKeys(secretBytes: Array(0x80...0x9f))
        #expect(hexString(invite.signingPublicKey) == "e6ba0609ca14136ef25df812e405c4171bd3eeb05c5a413c05bfe805ca7899ca")
        #expect(hexString(invite.agreementPublicKey) == "de5eb73ac0996e43712fa24da18ab0a95c3daba822e93c40b1b1f47838745e2a")
        #expect(hexString(invite.id) == "c9a3ed161e857cc2c452847bf4e83804")
        let text = InviteText.encode(invite, rootPublicKey: k.rootPublicKey)
        #expect(text == "shdw1-in-asaidaudqscynb4irgfixdenr2hzbemssokjlfuxtcmzvg44twpj7u4kxdp7gzpvgj3pfwckkhcygx3ad4wjs3zjpyzg5b2ag63xv6fst7iugla")
        let (back, vault) = try InviteText.decode(text.uppercased())
        #expect(back.id == invite.id && vault.vaultID == k.vaultID && vault.level == .verifyOnly)
        #expect(thrownCode { _ = try InviteText.decode(String(text.dropLast())) } == .badCapability)
        #expect(thrownCode { _ = try InviteText.decode(text.replacingOccurrences1("a", "b")) } == .badCapability)
        // The published record (its sealed part is randomised): it parses, verifies and opens.
        let published = try #require(bytesFromHex("5348444901000000140cc60fcd4d3ffc0629840d4b1519d5c9a3ed161e857cc2c452847bf4e83804e6ba0609ca14136ef25df812e405c4171bd3eeb05c5a413c05bfe805ca7899ca29fce6da372851e6cbc114173d78943900a8da769b01000000bc4d869b010000000000008b896eb0ec7305cd6b7b2cf90e981e29a555f800f76f94b66d60836467a17c30309764d5ea09464c472b088237a93811fe57a7e9d8aaf0294b895fce5338d744b0da933038b35e60eb41072a85586ab5d279f9409bca44289685fa0cd31cda82e537d7cb044844342835d1f1dfed1cd7ad6543d0c8cdddc14aa42687893249a329975a454a592a410c15d4224ed8f1a6a8a475ea4e4493919aacfd933928c2fe56bbcc32b457cabd0432c9915883692b0f204b350bb71b64db54ece841b03f7150f4321f45593a4498c8f81d4b8dbb826b21cd0b"))
        let record = try InviteRecord.parse(published, vaultID: k.vaultID)
        #expect(record.isSigned(by: device.signingPublicKey) && record.expiresAtMillis == 1_767_484_800_000)
        let gift = try record.openGift(with: invite)
        #expect(gift.name == "desktop" && gift.epoch == 0)
        #expect(thrownCode { _ = try record.openGift(with: InviteKeys.generate()) } == .authenticationFailed)
        let fresh = try InviteRecord.make(invite: invite, role: .readWrite, name: "desktop", inviter: device, keys: k,
                                          createdAtMillis: 1_767_225_600_000, expiresAtMillis: 1_767_484_800_000)
        #expect(fresh.bytes.prefix(108) == published.prefix(108))
        let second = try DeviceKeys(signingSeedBytes: Array(0xa0...0xbf), agreementSecretBytes: Array(0xc0...0xdf))
        let admitted = try DeviceRecord.make(device: second, role: .readWrite, invite: invite, keys: k, atMillis: 1_767_225_660_000)
        #expect(hexString(admitted.bytes) == "5348445201030000140cc60fcd4d3ffc0629840d4b1519d5bdc7a508d2464b8992c623b60533c4eb4fd099ccd47d7893dfe9ec24414ecb0d9b5420232aad30d91c465be33cbe65c4dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44c9a3ed161e857cc2c452847bf4e838046092db769b010000113f002c1e16dfdb14b3a7db99ea28e35f5b357004d79060f0f0c010b617cd7b18d50b752f31ee3578379a76bfa40e1f5f9d15043c0fffe3f5a62b87d4a41a06")
        #expect(admitted.admitter == .invite(invite.id) && admitted.isSigned(by: invite.signingPublicKey))
        let revocation = try RevocationRecord.make(second.id, by: device, vaultID: k.vaultID, atMillis: 1_767_225_720_000)
        #expect(hexString(revocation.bytes) == "5348445800000000140cc60fcd4d3ffc0629840d4b1519d5bdc7a508d2464b8992c623b60533c4eb29fce6da372851e6cbc114173d789439c07cdc769b010000b531e70009c32339c0f72a92915dcc98a21bdebc003fe4221fb1164d7357d71d080153fc48ab595f5435d68c7b33c04df815d6b73f9d6d05163c6dfdb5c8c200")
        #expect(revocation.isSigned(by: device.signingPublicKey) && !revocation.isSigned(by: second.signingPublicKey))
    }

    @Test func deviceKeysRecordAndName() throws {
        let k = try vectorKeys(), device = try vectorDevice()
        #expect(hexString(device.signingPublicKey) == "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d")
        #expect(hexString(device.agreementPublicKey) == "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f")
        #expect(hexString(device.id) == "29fce6da372851e6cbc114173d789439")
        let record = try DeviceRecord.make(device: device, role: .readWrite, by: nil, keys: k, atMillis: 1_767_225_600_000)
        #expect(hexString(record.bytes) == "5348445201010000140cc60fcd4d3ffc0629840d4b1519d529fce6da372851e6cbc114173d7894392543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f0000000000000000000000000000000000a8da769b010000733b3ed3f75cc2b577f32ae653c1ed7be47f37a95af77f511fb3b9b4c189cda45e6d67bd15a7c9685fd1effa2119013d4549442c1214ae439a488aa4314a610a")
        #expect(record.isSigned(by: k.rootPublicKey))
        let name = try DeviceName(deviceID: device.id, sequence: 1, name: "laptop").seal(device: device, keys: k, nonce: Array(0xc0...0xd7))
        #expect(hexString(name) == "5348444e00000000010000000000000029fce6da372851e6cbc114173d789439c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d72a5b293577aa18da73026d4d63b991c9c36c85ca02472c5c5573e90e1eceab3651a1b006a253499d502be96eb7e9a5d24e175dc784f4c01a808b6c603ec9cdea09b9d0a22cf28acf771ee1b0b738f1370ba3bb35bee6b1f49815d67bb63bb0b4c1be3aa4298a61256d9b81f86fc865778053dd85924971a5be7cc7932b29fa56f2681d49f0a413391328ddf86c22c00f")
        #expect(try DeviceName.open(name, record: record, keys: k)?.name == "laptop")
        // Verify-only: the signature checks, the name stays sealed.
        #expect(try DeviceName.open(name, record: record, keys: try k.attenuated(to: .verifyOnly)) == nil)
        var forged = name
        forged[40] ^= 1
        #expect(thrownCode { _ = try DeviceName.open(forged, record: record, keys: k) } == .signatureInvalid)
    }

    /// The descriptor's signature (VaultDescriptorTests checks the whole file as the engine writes it).
    @Test func vaultDescriptorSignature() throws {
        let k = try vectorKeys()
        #expect(hexString(k.recoveryPublicKey ?? []) == "b3cfd2dadf2f3ac36da5b90295d3713d8022cb7ef4d33fc1f73e6e3fa845db66")
        let body = "{\"format\":\"shdw/4\",\"vault_id\":\"140cc60fcd4d3ffc0629840d4b1519d5\",\"root_public_key\":\"d38ab8dff365f53276f2d84a51c5835f601f2c996f297e326e874037b77af8b2\",\"recovery_public_key\":\"b3cfd2dadf2f3ac36da5b90295d3713d8022cb7ef4d33fc1f73e6e3fa845db66\",\"content\":{\"chunk_log2\":16,\"padding\":\"padme\"},\"names\":{\"locator_bits\":160,\"record_quantum\":64}"
        #expect(hexString(try Signatures.sign(Array(body.utf8), purpose: .vaultDescriptor, keys: k)) == "f377af587178ffcdee514d32bae4695e36e825ff09ef9c88a154bb3e55f65bbc89dddb698a8b74127da5e397189ff913b0d147e233354378c75cfa60c4d9540d")
    }

    /// A private file with every metadata field set; its siv is the one of the `"hello"`, pad_id 1 vector.
    @Test func nameRecordWithMetadata() throws {
        let k = try vectorKeys()
        let names = try NameCipher(keys: k)
        let fid = try FileID(bytes: Array(repeating: 0x11, count: 16))
        let hello = try ContentCipher(keys: try k.requireRead()).encrypt(Array("hello".utf8), fileID: fid, parameters: .default)
        let path = try PlainPath("notes/todo.txt")
        let record = NameRecord(path: path, kind: .file(length: 5, siv: Array(hello[28..<60]), executable: false),
                                metadata: EntryMetadata(permissions: 0o600, modified: FileTime(seconds: 1_767_225_600, nanoseconds: 123_456_789),
                                                        modifiedBy: Array(0xa0...0xaf)))
        let sealed = try names.seal(record)
        #expect(hexString(sealed) == "53484e3200000000a5e76a23b7f83c2eaa3addd109347e337896c26c54d7200203e4c1d9a4e382e072325cf9c30e82c85597dfac53f99ea2dda92992a61916db5ecf47f6e52aff4e5406bf38ad2514cd012be1a6ba89cb98710b7c683016787cffc8c62d61b93941edfa41592e3f2d0e15289ed18e18efcf35d175f37a925fd0ebd241207ab46a2805bf9d46776c427de77a6fe84da480a2")
        #expect(try names.open(sealed, at: names.locator(for: path)) == record)
        // The plaintext R given in the format, field by field.
        let r = "0100800115cd5b0700b9556900000000a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0500000000000000a189f826d85b186dce08c627e5b984cabf476224b71c9f777483cc2018b4546e0e006e6f7465732f746f646f2e74787400000000000000000000000000000000000000000000000000000000000000000000000000000000"
        #expect(names.seal(recordBytes: try #require(bytesFromHex(r))) == sealed)
    }

    /// 150 KiB of byte i = i mod 251, pad_id 1: three 64 KiB chunks (two in lane 0, one in lane 1).
    @Test func multiChunkContentObject() throws {
        let read = try vectorKeys().requireRead()
        let fid = try FileID(bytes: Array(repeating: 0x11, count: 16))
        let data = (0..<(150 * 1024)).map { UInt8($0 % 251) }
        let object = try ContentCipher(keys: read).encrypt(data, fileID: fid, parameters: .default)
        #expect(object.count == 155_756)
        #expect(hexString(SHA256.hash(object)) == "f6fd8f33b4f4e1a244c787928daadc103edba881a2d94ddd825b0b7079185fd1")
        #expect(hexString(Array(object.prefix(64))) == "53484331011001000000000011111111111111111111111111111111af45f899b9ad4a51d9294fbc53097cfc89e9c6759250e868041612aa22697d799d661825")
        #expect(hexString(Array(object.suffix(32))) == "d2587f13152ab639bec9cdc882a151f011d68dd553fb57e5a4470e0bf427dd0c")
        #expect(try ContentCipher(keys: read).decrypt(object) == data)
    }

    @Test func padmeTable() {
        // The sizes of Docs/FORMAT.md §3 (header 60 + P′ + 16 per 64 KiB chunk).
        func total(_ l: UInt64) -> UInt64 { ContentCipher.ciphertextSize(plaintextLength: l, parameters: .default) }
        #expect(total(0) == 332)
        #expect(total(248) == 332)
        #expect(total(1_000) == 1_100)
        #expect(total(5_000) == 5_196)
        #expect(total(1_000_000) == 1_016_124)
        #expect(ContentCipher.ciphertextSize(plaintextLength: 1_000_000, parameters: ContentParameters(padding: .none)) == 1_000_324)
        #expect(Padding.padme(1008) == 1024)   // E = 9, S = 4: multiples of 32
        #expect(Padding.padme(129) == 144)     // E = 7, S = 3: multiples of 16
        #expect(Padding.padme(13) == 14)       // E = 3, S = 2: multiples of 2
        #expect(Padding.padme(153_608) == 155_648)  // E = 17, S = 5: multiples of 4096
        for l in stride(from: UInt64(200), to: 2_000_000, by: 997) {
            let p = Padding.paddedLength(8 + l, scheme: .padme)
            #expect(p >= 8 + l && Double(p) <= Double(max(8 + l, 256)) * 1.12 + 1)
        }
    }
}

/// Rebuilds a multi-chunk object from the formulas of FORMAT.md §3 alone and compares it byte for byte
/// with the encoder: both lanes, every nonce, every final flag.
@Suite struct SpecReconstructionTests {
    @Test func threeChunkObjectMatchesTheSpec() throws {
        let read = try vectorKeys().requireRead()
        let data = pattern(9000, seed: 9)
        let fid = try FileID(bytes: Array(repeating: 0x22, count: 16))
        let params = ContentParameters(chunkLog2: 12, padding: .none)
        let encoded = try ContentCipher(keys: read).encrypt(data, fileID: fid, parameters: params)

        let pPrime = LittleEndian.bytes(UInt64(data.count)) + data              // no padding
        let c = 4096
        let chunks = stride(from: 0, to: pPrime.count, by: c).map { Array(pPrime[$0..<min($0 + c, pPrime.count)]) }
        #expect(chunks.count == 3)
        let prefix = Array("SHC1".utf8) + [1, 12, 0, 0] + [0, 0, 0, 0] + fid.bytes
        func lane(_ j: Int) -> [UInt8] {
            let bytes = [UInt8(j)] + stride(from: j, to: chunks.count, by: 2).flatMap { chunks[$0] }
            return Blake2b.hash(bytes, key: read.contentSIV, outputLength: 32, personal: Personal("SHDW-lane-v1"))
        }
        let siv = Blake2b.hash(prefix + LittleEndian.bytes(UInt64(pPrime.count)) + lane(0) + lane(1), key: read.contentSIV,
                               outputLength: 32, personal: Personal("SHDW-content-v1"))
        var expected = prefix + siv
        for (i, chunk) in chunks.enumerated() {
            let nonce = Array(siv[0..<16]) + LittleEndian.bytes(UInt64(i))
            let ad = prefix + siv + [i == chunks.count - 1 ? 1 : 0]
            expected += XChaCha20Poly1305.seal(key: read.contentAEAD, nonce: nonce, ad: ad, plaintext: chunk)
        }
        #expect(encoded == expected)
    }
}

/// Tests/format-check.py implements the format again from Docs/FORMAT.md alone (Python's hashlib and
/// libsodium's primitives) and checks every vector printed in the document: the document, not only
/// this code, is what a second implementation gets right.
@Suite struct IndependentImplementationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// python3 from the PATH, as Examples/setup-debian.sh accepts it from any source.
    static let python = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: python != nil || ContinuousIntegration.isSet))
    func everyVectorOfTheDocumentIsRecomputedFromItsText() throws {
        let r = try TestProcess.run(try #require(Self.python, "python3 is not on the PATH"),
                                    [Self.repository.appendingPathComponent("Tests/format-check.py").path, Self.repository.appendingPathComponent("Docs/FORMAT.md").path],
                                    stderr: .toStdout)
        let text = r.stdout
        #expect(r.status == 0, "\(text)")
        #expect(text.contains("all 65 vectors of FORMAT.md match"), "\(text)")
    }

    /// The segmented file of FORMAT.md §8: gear table, cut lengths, each segment object, the list object.
    @Test func segmentedContent() throws {
        let keys = try vectorKeys()
        let read = try keys.requireRead()
        var x: UInt64 = 0
        let plain = (0..<(3 << 19)).map { _ -> UInt8 in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(x >> 56)
        }
        let gear = GearTable(keys: read)
        let table = gear.values.flatMap { LittleEndian.bytes($0) }
        #expect(hexString(SHA256.hash(table)) == "79387637821dcbc1777dec0a57481480817fbd8b7b92a616040943795409c233")
        #expect(String(gear.values[0], radix: 16) == "ed7b2fb20ea4e79b")
        let segments = MemorySegments()
        let sink = MemorySink()
        let fid = try FileID(bytes: Array(repeating: 0x11, count: 16))
        let (_, refs) = try FileContent(keys: read).encrypt(MemorySource(plain), fileID: fid, to: sink, segments: segments)
        #expect(refs.map(\.length) == [149714, 189145, 743585, 198251, 175561, 73194, 43414])
        let expected = [
            ("ni6thdedfdyjzxxdqflsdk7rbzzv4brs", "ca702d2ca3c87dc72b0f0292ebe4f4619524690e614bb7c8bee1f7e8f521a285"),
            ("vb26cq7zz6pcssxulgklgd5yvaj4hpem", "472bc13cb5606c6d67b87acbffe1d71af1e12080894dbd5e190d3566a6f606c1"),
            ("hnts3laorh7ncxquuduepl4q3erhiuld", "a253a0ae5824924400ed2850d59e6ef0fa180875aafbeeb98b5d485334173aaf"),
            ("yneaoo636yfzwdnq5gllqnpi553hkxa7", "41b6c7ba117a375c26af76c37bc16e57b52665a731e867db050b2ea7a811d1ba"),
            ("6g6qrbx3ulhd53ajlh6rfgyg7qpke3fw", "53f8a7f2c9c6884cc157043ba0e69ecfc24026199e1c25eeaf3d9673afb372a2"),
            ("lnekjn6kkatys46iewxzfh5zqqtvdnj7", "acccdc2479bd5cd7db31655a8959434df9d4dbad483fe0c5d90c6eaf39673030"),
            ("o5cdqmxbhoxklhcouw524zpx5x77kzr2", "a8bf15a0252abffe2132ba669068fe5eaedbab0c23820d52809eba25ccdd4bcd"),
        ]
        #expect(refs.map(\.name) == expected.map(\.0))
        #expect(refs.map { hexString(SHA256.hash(segments.objects[$0.name]!)) } == expected.map(\.1))
        #expect(hexString(sink.bytes) == "53484331011001010000000011111111111111111111111111111111c1a9c11c241b8ba6cfe8607731fdf722bc4aa3a74a8dfe7d61a7f5048331c576646eef1393fc1f3f5ba0016f7a65234a1c6a0c82f4b1415c9949dc5bea3db34ca76f864b386fd4f8d4db0cceab5cfa469efe0028914e2a467326ea09283fcddb900f84be8288debab6131af46fe59a4d397e05cde67273f9a7d1c24e645b73b4e3e55eb43e4e8124a82581d51023345630ab6657ed046ef2caca1c9a7d243454979187ba1cd64449c474597cf54179b8bdfccb4b37ae7bef8173ce0e42229bbb3204fc96b34b186b739d55e155c8b97b4a043ac7a1317e640cef745eed4a57363e92621bd7001cfff0b59a0e9989a76da628aad5734249e35d6ada7e35b554235450c1b308353a4c20eac5ca096fd11d4116105682abc6fb5b22c0ec34769d6b95c195e84be6474fd42af51110ccb62823303f747e3ec0cc577eb47d69542d9688f2f6fa2fb45f910e022c95838650e0")
        let locator = try NameCipher(keys: keys).locator(for: try PlainPath("big.bin"))
        #expect(locator.segmentObjectPath(refs[0].name) == "d/i/x/vebyyzsiemclu7hkznjqs5dqpvwnj2.s/ni6thdedfdyjzxxdqflsdk7rbzzv4brs")
        #expect(Locator.parse(objectPath: locator.segmentObjectPath(refs[0].name))! == (locator, .segment(refs[0].name)))
        // And back: the file decrypts from its objects.
        let out = MemorySink()
        try FileContent(keys: read).decrypt(MemorySource(sink.bytes), expectedSIV: Array(sink.bytes[28..<60]),
                                            segment: { (ref) throws(ShadowError) -> ByteSource in try segments.source(ref) }, to: out)
        #expect(out.bytes == plain)
    }
}
