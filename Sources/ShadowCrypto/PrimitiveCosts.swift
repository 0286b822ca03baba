#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Single-core throughput of the primitives the content format is built from, so a benchmark can print
/// the ceiling the construction allows beside what it achieves (benchmarks only; not used by the agent).
public enum PrimitiveCosts {
    public struct Figures: Sendable {
        /// Megabytes per second on one core, 64 KiB at a time, best of the rounds.
        public let aead: Double
        public let blake2b: Double
        public let poly1305: Double

        /// Wall-time ceiling of shdw/2 encryption on `cores` cores, in MB/s: pass 1 = BLAKE2b + Poly1305,
        /// pass 2 = AEAD + Poly1305, both split across lanes.
        public func encryptCeiling(cores: Int) -> Double {
            let nsPerByte = 1e3 / blake2b + 2e3 / poly1305 + 1e3 / aead
            return 1e3 / (nsPerByte / Double(min(cores, ContentCipher.laneCount)))
        }

        /// Decryption: AEAD + BLAKE2b (SIV check) per byte, split across lanes.
        public func decryptCeiling(cores: Int) -> Double {
            1e3 / ((1e3 / aead + 1e3 / blake2b) / Double(min(cores, ContentCipher.laneCount)))
        }
    }

    public static func measure(bytes: Int, rounds: Int) -> Figures {
        let chunk = 1 << 16
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk + XChaCha20Poly1305.tagBytes, alignment: 16)
        defer { input.deallocate(); output.deallocate() }
        input.initializeMemory(as: UInt8.self, repeating: 0x5a)
        let key = Sodium.randomSecret(32)
        let nonce = [UInt8](repeating: 1, count: XChaCha20Poly1305.nonceBytes)
        func best(_ body: () -> Void) -> Double {
            var fastest = Double.infinity
            for _ in 0..<max(1, rounds) {
                var a = timespec(), b = timespec()
                clock_gettime(CLOCK_MONOTONIC, &a)
                body()
                clock_gettime(CLOCK_MONOTONIC, &b)
                fastest = min(fastest, Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9)
            }
            return Double(bytes) / fastest / 1e6
        }
        func chunks(_ body: (UnsafeRawBufferPointer) -> Void) {
            var off = 0
            while off < bytes {
                body(UnsafeRawBufferPointer(rebasing: input[off..<min(bytes, off + chunk)]))
                off += chunk
            }
        }
        let aead = best {
            nonce.withUnsafeBytes { n in
                chunks { XChaCha20Poly1305.seal(key: key, nonce: n, ad: UnsafeRawBufferPointer(start: nil, count: 0), plaintext: $0, into: output) }
            }
        }
        let blake = best {
            let h = Blake2b(key: key, outputLength: 32, personal: Personal("bench"))
            chunks { h.update($0) }
            _ = h.finish()
        }
        let poly = best {
            let p = Poly1305(key: OneTimeKey())
            chunks { p.update($0) }
            _ = p.finish()
        }
        return Figures(aead: aead, blake2b: blake, poly1305: poly)
    }
}
