/// Turns a stream of change events into sync passes, the way Syncthing's watch aggregator does: a burst
/// is passed on once the folder has been quiet for `quiet` seconds after its last event, and a burst that
/// never pauses at the latest `maxDelay` seconds after its first. Times come from `clock`, a monotonic
/// clock, so a wall-clock step (NTP, a suspended laptop's correction) neither stretches nor collapses them.
struct ChangeCoalescer {
    /// Seconds of stillness after the last event before the burst is passed on.
    var quiet: Double
    /// Seconds after the first event by which a burst is passed on, quiet or not.
    var maxDelay: Double
    private let clock: @Sendable () -> Double
    private var firstEvent: Double?
    private var lastEvent: Double?

    init(quiet: Double, maxDelay: Double, clock: @escaping @Sendable () -> Double) {
        self.quiet = quiet
        self.maxDelay = maxDelay
        self.clock = clock
    }

    /// True while events wait to be passed on.
    var isPending: Bool { firstEvent != nil }

    /// When the waiting burst is due (on `clock`), or nil when nothing waits.
    var deadline: Double? {
        guard let firstEvent, let lastEvent else { return nil }
        return min(lastEvent + quiet, firstEvent + maxDelay)
    }

    /// Records that something changed now.
    mutating func noteEvent() {
        let now = clock()
        if firstEvent == nil { firstEvent = now }
        lastEvent = now
    }

    /// True, and the burst forgotten, when the waiting burst is due now.
    mutating func takeIfDue() -> Bool {
        guard let deadline, clock() >= deadline else { return false }
        firstEvent = nil
        lastEvent = nil
        return true
    }
}
