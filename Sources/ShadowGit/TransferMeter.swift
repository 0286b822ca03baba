import Synchronization

/// What a push over SSH has sent so far, as libgit2 reports it (at most every half second), for a
/// progress line. One observer per process: the command line's line, or nothing.
public enum TransferMeter {
    private static let observer = Mutex<(@Sendable (UInt64) -> Void)?>(nil)

    /// `report` gets the bytes sent by the push under way; nil stops reporting.
    public static func observe(_ report: (@Sendable (UInt64) -> Void)?) { observer.withLock { $0 = report } }

    /// On the git thread, from libgit2's push callback.
    static func sent(_ bytes: UInt64) { observer.withLock { $0 }?(bytes) }
}
