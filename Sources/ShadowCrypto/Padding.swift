/// Padmé padding (Nikitin et al., PETS 2019): rounds a length so that at most O(log log L) bits of it
/// leak, costing at most +12%. Deterministic, as the format requires.
public enum PaddingScheme: UInt8, Sendable, CaseIterable {
    case none = 0
    /// Padmé over the padded payload (8-byte length prefix + data) with a 256-byte floor.
    case padme = 1
}

public enum Padding {
    /// Every padded content payload is at least this long, so all files up to 248 bytes look alike.
    /// 256 costs little (332 bytes for any file up to 248) and hides the sizes of tiny configs and notes.
    public static let floorBytes: UInt64 = 256

    /// Padmé(L): E = ⌊log2 L⌋, S = ⌊log2 E⌋ + 1, round L up to a multiple of 2^(E−S).
    public static func padme(_ length: UInt64) -> UInt64 {
        guard length >= 2 else { return length }
        let e = UInt64(63 - length.leadingZeroBitCount)
        let s = UInt64(63 - e.leadingZeroBitCount) + 1
        let lastBits = e - s
        let mask: UInt64 = (1 << lastBits) - 1
        return (length + mask) & ~mask
    }

    /// Length of P′ (length prefix + data + padding) for a payload of `unpadded` = 8 + L bytes.
    public static func paddedLength(_ unpadded: UInt64, scheme: PaddingScheme) -> UInt64 {
        switch scheme {
        case .none: return unpadded
        case .padme: return max(floorBytes, padme(unpadded))
        }
    }
}
