import Testing
@testable import ShadowCore

/// SHA1 runs on the CPU's SHA extensions where it has them (CShims) and on portable rounds elsewhere:
/// both must give the same digest for every length and every split of the input.
@Suite struct SHA1Tests {
    @Test func theFastPathAgreesWithThePortableRounds() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4096 + 17, 200_003] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = SHA1.portableDigest(message)
            #expect(SHA1.hash(message) == expected, "length \(length)")
            var split = SHA1()
            var at = 0
            while at < length {
                let n = min(length - at, Int.random(in: 1...300, using: &generator))
                split.update(Array(message[at..<at + n]))
                at += n
            }
            #expect(split.finish() == expected, "length \(length), split")
        }
        #expect(Hex.encode(SHA1.portableDigest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Hex.encode(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }
}
