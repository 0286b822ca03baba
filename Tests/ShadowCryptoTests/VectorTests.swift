import Testing
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
        #expect(hexString(hello) == "53484331011000000000000011111111111111111111111111111111d5ddbb47dc40b1f2dd395b225314c1e47fdc11bd55fa15c007861caf04fd3ffea0b70b079996cc7b97807395876e21f2e6b94bd79433205276b1d7566d")
        let empty = try c.encrypt([], fileID: fid, parameters: .default)
        #expect(hexString(empty) == "53484331011001000000000011111111111111111111111111111111cde1db5482b6cc7f8025f09690e23cabebbecc306c8fde3939859bcc9ebcc8cbc28ffd6344dff594e0185604659892e16e96deb7a15120682f969204a6d9d9314faaddcaa2915e6e9104b112d2af3da4de042a39398538d58b3952dcdc2cf68116808fad1df6e86730b134528a1f102555671bb1d89eaa0e997f5b76d5dda22e94334b78e9886a63c8776af9b3c41acc0815198249598bdf31eda48968a3d8b6d1cfbd3ae734cdfbf2ac613519e31cfa962fdb40f88df308a3b7cda70af01b0a5066d8d7c7e7464fc0473114624d4d283ab18537d8d3c0b44fb9eb0763170de58ed9829cafaeb50f7aa0db04e6b1968340d33131dfd592c39dc49b8f5492bfedefa065c3f51e01185465f21760da1072535a8671900753cead52bfb691b00c19d86be2b4297ab5fcdf1a7b64a954b0c9")
        let helloPadded = try c.encrypt(Array("hello".utf8), fileID: fid, parameters: .default)
        #expect(hexString(helloPadded) == "5348433101100100000000001111111111111111111111111111111188ec74a69216c8e1fc49f2f67a1b047499eba3f2cf9e0c24196a23cf41374ff9a681da962bcf5af55c0df9ccf40bd70ce81db395a01073d44aff3685340eebf10fbc600427bbf7d3b684757f695c9ba15f2e92a3342c9d56ba4db40367f77208667999243dfe8fc0d36bc4d28ec82d86c1b6e5b14713440675e2336ed84c6efd272dbc807d743cfef5b23ea83c87ea8edb98ba107800b6f2db983ff28fb5514b8e1a0d22af3fe4a623679f004741c775a59b52485728514821fc468d77c898030f4828ccdc2c131f651c82a9094d5b3741db78ea795cf4da84335b9afd44332d5372039acf2b047cd6cb44384f9255b8464fb943966342565d8e8814a4bfe3d69f366b3b10e904af99d3138836f391fd9c5b6255d527dd071abd8d2fa1bd1b902776ed068cf5606c07f8114c62c873f2")
    }

    @Test func nameRecordAndSignature() throws {
        let k = try vectorKeys()
        let sealed = try NameCipher(keys: k).seal(NameRecord(path: try PlainPath("a"), kind: .directory))
        #expect(hexString(sealed) == "53484e3100000000c61ebab297f397d16de6b06fa88eaf4e4a3d7afc15a54a1594aade3512afecaef3a530ac9297c7f366b67163334c5594d4815cadca8712918f993c0183b6ba30a2e92f5036b6d66ad833ba4d22ee0e42")
        let sig = try Signatures.sign(Array("tree 0".utf8), purpose: .commit, keys: k)
        #expect(hexString(sig) == "d837905c3839717cbf2434ba2e650b9d4d00884c15b37b3fa8fe0093dd6f6b213c1e880c4b723a5709f28960cec3f51bcd9b6cba5f9a5eac815de15116f1d001")
    }

    @Test func padmeTable() {
        // Totals of research/crypto.md §4.5 (header 60 + P′ + 16 per 64 KiB chunk).
        func total(_ l: UInt64) -> UInt64 { ContentCipher.ciphertextSize(plaintextLength: l, parameters: .default) }
        #expect(total(0) == 332)
        #expect(total(248) == 332)
        #expect(total(1_000) == 1_100)
        #expect(total(5_000) == 5_196)
        #expect(total(1_000_000) == 1_016_124)
        #expect(ContentCipher.ciphertextSize(plaintextLength: 1_000_000, parameters: ContentParameters(padding: .none)) == 1_000_324)
        #expect(Padding.padme(1008) == 1024)   // E = 9, S = 4: multiples of 32
        #expect(Padding.padme(129) == 144)     // E = 7, S = 3: multiples of 16
        for l in stride(from: UInt64(200), to: 2_000_000, by: 997) {
            let p = Padding.paddedLength(8 + l, scheme: .padme)
            #expect(p >= 8 + l && Double(p) <= Double(max(8 + l, 256)) * 1.12 + 1)
        }
    }
}
