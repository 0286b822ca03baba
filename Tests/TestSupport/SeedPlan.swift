import Foundation

/// Which seeds and how many rounds a seeded suite runs: a few fast seeds by default, many more with
/// `SHADOWSYNC_LONG=1`, and exactly one with `SHADOWSYNC_SEED=n` (to replay a failure it printed).
public struct SeedPlan: Sendable {
    public let fastSeeds: [UInt64]
    public let fastRounds: Int
    public let longSeedCount: UInt64
    public let longRounds: Int

    public init(fastSeeds: [UInt64], fastRounds: Int, longSeedCount: UInt64, longRounds: Int) {
        self.fastSeeds = fastSeeds
        self.fastRounds = fastRounds
        self.longSeedCount = longSeedCount
        self.longRounds = longRounds
    }

    private static var long: Bool { ProcessInfo.processInfo.environment["SHADOWSYNC_LONG"] == "1" }

    public var seeds: [UInt64] {
        if let one = ProcessInfo.processInfo.environment["SHADOWSYNC_SEED"].flatMap(UInt64.init) { return [one] }
        return Self.long ? Array(1...longSeedCount) : fastSeeds
    }

    public var rounds: Int { Self.long ? longRounds : fastRounds }
}
