/// SplitMix64: small, fast, and the same sequence on every machine for a seed, so a failing seed replays.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The fuzz suites' input mutator: a few random edits per input, seeded.
public struct Mutator {
    public var random: SeededRandom
    public init(state: UInt64) { random = SeededRandom(seed: state) }

    public mutating func next() -> UInt64 { random.next() }
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// One to four of: flip a bit, set a byte, truncate, extend, insert, delete, duplicate a range.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0...below(3) {
            switch below(7) {
            case 0 where !b.isEmpty: b[below(b.count)] ^= UInt8(1 << below(8))
            case 1 where !b.isEmpty: b[below(b.count)] = UInt8(truncatingIfNeeded: next())
            case 2: b = Array(b.prefix(below(b.count + 1)))
            case 3: b += (0...below(70)).map { _ in UInt8(truncatingIfNeeded: next()) }
            case 4: b.insert(UInt8(truncatingIfNeeded: next()), at: below(b.count + 1))
            case 5 where !b.isEmpty: b.remove(at: below(b.count))
            case 6 where b.count > 4:
                let s = below(b.count - 2), e = s + 1 + below(min(64, b.count - s - 1))
                b.insert(contentsOf: b[s..<e], at: below(b.count))
            default: b.append(0)
            }
        }
        return b
    }

    /// Text mutation: the bytes mutated, read back as UTF-8 (invalid sequences become U+FFFD).
    public mutating func mutate(_ text: String) -> String { String(decoding: mutate(Array(text.utf8)), as: UTF8.self) }
}

/// How many mutations each fuzz target gets in the fast suite.
public let fuzzIterations = 3000
