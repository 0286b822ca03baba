import Testing
@testable import ShadowEngine

/// The wait between two push attempts after lost races: random (so agents that met at the server fall
/// out of step), under a ceiling that doubles with each lost race up to `pushRetryMaximumSeconds`.
@Suite struct PushRetryTests {
    @Test func theWaitIsRandomAndItsCeilingGrowsUpToTheMaximum() {
        let samples = 200
        for lost in 1...20 {
            let ceiling = min(SyncEngine.pushRetryMaximumSeconds, SyncEngine.pushRetryBaseSeconds * Double(1 << lost))
            let waits = (0..<samples).map { _ in SyncEngine.pushRetryDelay(afterLosing: lost) }
            #expect(waits.allSatisfy { $0 >= 0 && $0 <= ceiling }, "lost \(lost): \(waits.max() ?? -1) > \(ceiling)")
            // Spread over the range, not one value: two agents drawing are almost never in step.
            #expect(Set(waits).count > samples / 2)
            #expect(waits.max()! > ceiling / 2, "lost \(lost): the waits stay far below the ceiling")
        }
        #expect(SyncEngine.pushRetryDelay(afterLosing: 40) <= SyncEngine.pushRetryMaximumSeconds)
        #expect(SyncOptions().maxPushAttempts >= 10, "ten agents pushing at once need at least ten rounds")
    }
}
