import Foundation
import Testing
@testable import ShadowAgent
import Synchronization

/// The daemon's change coalescer on a clock the test moves: no sleeps, exact times.
@Suite struct ChangeCoalescerTests {
    /// A machine's two clocks: the monotonic one the coalescer is given, and the wall clock an
    /// administrator or NTP may step.
    final class Clocks: Sendable {
        private let state = Mutex((monotonic: 1000.0, wall: 1_800_000_000.0))
        var monotonic: Double { state.withLock { $0.monotonic } }
        var wall: Double { state.withLock { $0.wall } }
        /// Time passes: both clocks advance.
        func advance(_ seconds: Double) { state.withLock { $0.monotonic += seconds; $0.wall += seconds } }
        /// The wall clock is set: only it moves.
        func stepWall(_ seconds: Double) { state.withLock { $0.wall += seconds } }
    }

    func coalescer(_ clocks: Clocks, quiet: Double = 1, maxDelay: Double = 10) -> ChangeCoalescer {
        ChangeCoalescer(quiet: quiet, maxDelay: maxDelay, clock: { clocks.monotonic })
    }

    @Test func nothingWaitsUntilAnEvent() {
        let clocks = Clocks()
        var c = coalescer(clocks)
        #expect(c.deadline == nil && !c.isPending)
        clocks.advance(100)
        let early1 = c.takeIfDue()
        #expect(!early1)
    }

    @Test func firesOnceTheQuietPeriodPassedAfterTheLastEvent() {
        let clocks = Clocks()
        var c = coalescer(clocks)
        c.noteEvent()
        #expect(c.deadline == 1001)
        clocks.advance(0.999)
        let early2 = c.takeIfDue()
        #expect(!early2)
        clocks.advance(0.001)
        let fired3 = c.takeIfDue()
        #expect(fired3)
        // Fired once: the burst is forgotten.
        #expect(c.deadline == nil)
        let again = c.takeIfDue()
        #expect(!again)
    }

    @Test func eachEventOfABurstRestartsTheQuietPeriod() {
        let clocks = Clocks()
        var c = coalescer(clocks)
        for _ in 0..<5 {
            c.noteEvent()
            clocks.advance(0.5)
            let early4 = c.takeIfDue()
        #expect(!early4)
        }
        #expect(c.deadline == 1000 + 2.0 + 1)  // the last event came at 1002.0
        clocks.advance(0.5)
        let fired5 = c.takeIfDue()
        #expect(fired5)
    }

    @Test func aBurstThatNeverPausesFiresAtTheMaximumDelay() {
        let clocks = Clocks()
        var c = coalescer(clocks, quiet: 1, maxDelay: 10)
        var firedAt: [Double] = []
        // An event every half second for 25 s: never quiet for 1 s.
        for _ in 0..<50 {
            c.noteEvent()
            if c.takeIfDue() { firedAt.append(clocks.monotonic) }
            clocks.advance(0.5)
        }
        // The first burst starts at 1000 and fires at 1010, taking that moment's event with it; the next
        // starts at 1010.5 and fires at 1020.5.
        #expect(firedAt == [1010, 1020.5])
        #expect(c.isPending)
    }

    @Test func aWallClockStepChangesNothing() {
        let clocks = Clocks()
        var c = coalescer(clocks, quiet: 1, maxDelay: 10)
        c.noteEvent()
        let deadline = c.deadline
        // An hour back (NTP correcting a fast clock): a wall-clock deadline would wait an hour longer.
        clocks.stepWall(-3600)
        #expect(c.deadline == deadline)
        clocks.advance(1)
        let fired6 = c.takeIfDue()
        #expect(fired6)

        c.noteEvent()
        let second = c.deadline
        // An hour forward (a resumed laptop's correction): a wall-clock deadline would fire at once.
        clocks.stepWall(3600)
        #expect(c.deadline == second)
        clocks.advance(0.5)
        let early7 = c.takeIfDue()
        #expect(!early7)
        clocks.advance(0.5)
        let fired8 = c.takeIfDue()
        #expect(fired8)
    }

    @Test func aReloadedQuietPeriodAppliesToTheWaitingBurst() {
        let clocks = Clocks()
        var c = coalescer(clocks, quiet: 5, maxDelay: 10)
        c.noteEvent()
        c.quiet = 1
        clocks.advance(1)
        let fired9 = c.takeIfDue()
        #expect(fired9)
    }
}
