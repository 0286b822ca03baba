import Testing
import ShadowCore
import TestSupport
@testable import ShadowCrypto

/// Mutation fuzzing of every decoder: thousands of inputs, each must be refused with a ShadowError (the
/// formats are canonical and authenticated, so no mutation may decode) and nothing may crash.
@Suite struct FuzzTests {
    static let iterations = fuzzIterations

    @Test func contentDecoder() throws {
        let c = ContentCipher(keys: try vectorKeys().requireRead())
        // Small chunks so mutations reach several chunk boundaries cheaply.
        let seeds = [try c.encrypt([], fileID: .zero), try c.encrypt(pattern(9000), fileID: .zero, parameters: ContentParameters(chunkLog2: 12, padding: .none)),
                     try c.encrypt(pattern(5000), fileID: .zero, parameters: ContentParameters(chunkLog2: 12))]
        var m = Mutator(state: 1)
        var refused = 0
        for i in 0..<FuzzTests.iterations {
            let seed = seeds[i % seeds.count]
            let input = m.mutate(seed)
            if input == seed { continue }
            do { _ = try c.decrypt(input); Issue.record("mutation \(i) decoded") } catch { refused += 1 }
        }
        #expect(refused > FuzzTests.iterations * 9 / 10)
    }

    @Test func nameDecoder() throws {
        let k = try vectorKeys()
        let names = try NameCipher(keys: k)
        let path = try PlainPath(bytes: [0x61, 0xff, 0x2f, 0x62])
        let seed = try names.seal(NameRecord(path: path, kind: .symlink(target: Array("t".utf8))))
        let loc = names.locator(for: path)
        var m = Mutator(state: 2)
        for i in 0..<FuzzTests.iterations {
            let input = m.mutate(seed)
            if input == seed { continue }
            do { _ = try names.open(input, at: loc); Issue.record("mutation \(i) decoded") } catch {}
        }
    }

    @Test func recordParserOnRandomAuthenticatedBytes() {
        // Past authentication, the strict parser must refuse anything it did not produce, without crashing.
        var m = Mutator(state: 3)
        for _ in 0..<FuzzTests.iterations {
            let r = (0..<(64 * (1 + m.below(3)))).map { _ in UInt8(truncatingIfNeeded: m.next()) }
            _ = try? NameCipher.parseRecord(r)
        }
    }

    @Test func capabilityDecoder() throws {
        let seeds = try [CapabilityLevel.readWrite, .readOnly, .verifyOnly].map { CapabilityText.encode(try vectorKeys().attenuated(to: $0)) }
        var m = Mutator(state: 4)
        for i in 0..<FuzzTests.iterations {
            let seed = Array(seeds[i % 3].utf8)
            let input = m.mutate(seed)
            if input == seed { continue }
            // Only a mutation that the decoder forgives by design (case, whitespace) may decode, and then to the same key.
            if let k = try? CapabilityText.decode(String(decoding: input, as: UTF8.self)) {
                #expect(CapabilityText.encode(k) == seeds[i % 3], "mutation \(i) decoded to a different key")
            }
        }
    }

    @Test func keyFileDecoder() throws {
        let seed = try KeyFile.encode(try vectorKeys().with(device: try vectorDevice()), protection: .none)
        var m = Mutator(state: 5)
        for i in 0..<FuzzTests.iterations {
            let input = m.mutate(seed)
            if input == seed { continue }
            do { _ = try KeyFile.decode(input, passphrase: nil); Issue.record("mutation \(i) decoded") } catch {}
        }
    }

    @Test func metadataAndHeaderAndLocatorDecoders() throws {
        let k = try vectorKeys()
        let seed = Array(try CommitMetadata(deviceID: pattern(16), sequence: 1, wallTimeMillis: 2, epoch: 0).seal(keys: k).utf8)
        let header = Array(try ContentCipher(keys: try k.requireRead()).encrypt([1], fileID: .zero).prefix(60))
        let locPath = Array(try NameCipher(keys: k).locator(for: try PlainPath("x")).nameObjectPath.utf8)
        var m = Mutator(state: 6)
        for i in 0..<FuzzTests.iterations {
            let meta = m.mutate(seed)
            if meta != seed {
                do { _ = try CommitMetadata.open(String(decoding: meta, as: UTF8.self), keys: k); Issue.record("metadata mutation \(i) decoded") } catch {}
            }
            _ = try? ContentHeader.decode(m.mutate(header))
            _ = Locator.parse(objectPath: String(decoding: m.mutate(locPath), as: UTF8.self))
        }
    }
}
