import ShadowCore
@testable import ShadowCrypto

/// The fixed test vault of Docs/FORMAT.md: vault secret = bytes 0, 1, …, 31.
func vectorKeys() throws -> VaultKeys { try VaultKeys(vaultSecretBytes: Array(0..<32)) }

/// The device of FORMAT.md §8: signing seed 0x40…0x5f, X25519 secret 0x60…0x7f.
func vectorDevice() throws -> DeviceKeys { try DeviceKeys(signingSeedBytes: Array(0x40...0x5f), agreementSecretBytes: Array(0x60...0x7f)) }

/// Deterministic filler so failures replay.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    var x = UInt32(seed) &* 2_654_435_761 | 1
    return (0..<count).map { _ in
        x ^= x << 13; x ^= x >> 17; x ^= x << 5
        return UInt8(truncatingIfNeeded: x)
    }
}

/// Runs `body` and returns the ShadowError code it threw, or nil if it did not throw.
func thrownCode(_ body: () throws -> Void) -> ShadowError.Code? {
    do { try body(); return nil } catch let e as ShadowError { return e.code } catch { return .ioFailure }
}

/// A sink that records whether anything beyond `limit` bytes was written.
final class CountingSink: ByteSink {
    var count = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShadowError) { count += bytes.count }
}
