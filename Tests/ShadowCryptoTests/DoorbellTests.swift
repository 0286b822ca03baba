import Foundation
import Testing
import ShadowCore
import TestSupport
@testable import ShadowCrypto

/// The sealed doorbell (Docs/FORMAT.md, "Doorbell"): what an XMPP server or an intruder on the XMPP
/// account can do to one must never produce an accepted message.
@Suite struct DoorbellTests {
    let head = Array(UInt8(0)..<20)
    var message: DoorbellMessage {
        DoorbellMessage(kind: .pushed, device: [UInt8](repeating: 0x11, count: 16), sequence: 1, sentAt: 1_800_000_000, head: head)
    }

    @Test func vectorOfFormatMd() throws {
        let seal = DoorbellSeal(keys: try vectorKeys().read!)
        let nonce = Array(UInt8(0xA0)..<0xB8)
        let sealed = seal.seal(message, nonce: nonce)
        #expect(seal.folderTag == "cb5c0038e11158b30194445628cebd5a")
        #expect(sealed == "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3HmwVID933vZr4Wni+6FS7gWpx51HyuHKE5xoVjUyStub0XkR5Iorr6kacSvwXi0q19QrZ2g6U2i1aDqB++opQpmeQgQukQna8hhEjlZDeSawuAc=")
        #expect(try seal.open(folderTag: seal.folderTag, payload: sealed) == message)
    }

    @Test func everyKindRoundTripsAtOneSize() throws {
        let seal = DoorbellSeal(keys: try vectorKeys().read!)
        var sizes = Set<Int>()
        for m in [message, DoorbellMessage(kind: .hello, device: message.device, sequence: 2, sentAt: 3, head: []),
                  DoorbellMessage(kind: .head, device: message.device, sequence: .max, sentAt: 0, head: Array(repeating: 0xFF, count: 32))] {
            let sealed = seal.seal(m)
            sizes.insert(sealed.count)
            #expect(try seal.open(folderTag: seal.folderTag.uppercased(), payload: sealed) == m)
        }
        #expect(sizes == [144], "kinds must not be told apart by size")
        // Random nonces: the same message never seals twice to the same text.
        #expect(seal.seal(message) != seal.seal(message))
    }

    @Test func forgeriesAndOtherFoldersAreRefused() throws {
        let keys = try vectorKeys().read!
        let seal = DoorbellSeal(keys: keys)
        let other = DoorbellSeal(keys: VaultKeys.generate().read!)
        #expect(seal.folderTag != other.folderTag && seal.folderTag.count == 32)
        let sealed = seal.seal(message)
        // Another vault's key under this vault's tag: a forgery.
        #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: other.seal(message)) } == .authenticationFailed)
        // This vault's doorbell under another tag (moving it between folders) fails twice over.
        #expect(thrownCode { _ = try other.open(folderTag: other.folderTag, payload: sealed) } == .authenticationFailed)
        #expect(thrownCode { _ = try seal.open(folderTag: other.folderTag, payload: sealed) } == .notFound)
        // Every single-bit flip of the sealed bytes is caught.
        let bytes = [UInt8](Data(base64Encoded: sealed)!)
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 1 << UInt8(i % 8)
            #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: Data(b).base64EncodedString()) } == .authenticationFailed, "byte \(i)")
        }
        // Truncated, extended, not base64, empty.
        for bad in [String(sealed.dropLast(4)), sealed + "AAAA", String(repeating: "!", count: 144), ""] {
            #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: bad) } == .malformedObject)
        }
    }

    /// A record sealed with the right key but impossible contents (a key holder's bug or a future
    /// version) is refused by its fields, not trusted.
    @Test func wellSealedButMalformedRecordsAreRefused() throws {
        let keys = try vectorKeys().read!
        let seal = DoorbellSeal(keys: keys)
        let tag = keys.doorbellTag.exposedCopy()
        func sealed(_ record: [UInt8]) -> String {
            let nonce = Sodium.random(XChaCha20Poly1305.nonceBytes)
            return Data(nonce + XChaCha20Poly1305.seal(key: keys.doorbell, nonce: nonce, ad: DoorbellSeal.label + tag, plaintext: record)).base64EncodedString()
        }
        var good = [1, 1] + [UInt8](repeating: 0x11, count: 16) + [UInt8](repeating: 0, count: 16) + [20] + head
        good += [UInt8](repeating: 0, count: 67 - good.count)
        #expect(try seal.open(folderTag: seal.folderTag, payload: sealed(good)).head == head)
        var version = good; version[0] = 2
        var kind = good; kind[1] = 9
        var length = good; length[34] = 33
        var trailing = good; trailing[66] = 1
        var helloWithHead = good; helloWithHead[1] = DoorbellKind.hello.rawValue
        var helloWithout = helloWithHead; helloWithout[34] = 0; for i in 35..<55 { helloWithout[i] = 0 }
        // A hello carries the sender's newest head seen on the server when it has one, and may carry none.
        #expect(try seal.open(folderTag: seal.folderTag, payload: sealed(helloWithHead)).head == head)
        #expect(try seal.open(folderTag: seal.folderTag, payload: sealed(helloWithout)).head == [])
        var headWithout = helloWithout; headWithout[1] = DoorbellKind.head.rawValue
        var pushedWithout = good; pushedWithout[34] = 0; for i in 35..<55 { pushedWithout[i] = 0 }
        #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: sealed(version)) } == .unsupportedVersion)
        for bad in [kind, length, trailing, headWithout, pushedWithout] {
            #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: sealed(bad)) } == .malformedObject)
        }
    }

    /// Mutation fuzz of the notifier's payload parser: nothing decodes, nothing crashes.
    @Test func fuzzedPayloadsNeverOpen() throws {
        let seal = DoorbellSeal(keys: try vectorKeys().read!)
        let sealed = [UInt8](seal.seal(message).utf8)
        var m = Mutator(state: 0xD00B_E11)
        for _ in 0..<5000 {
            let text = String(decoding: m.mutate(sealed), as: UTF8.self)
            if text == String(decoding: sealed, as: UTF8.self) { continue }
            #expect(thrownCode { _ = try seal.open(folderTag: seal.folderTag, payload: text) } != nil)
        }
    }
}
