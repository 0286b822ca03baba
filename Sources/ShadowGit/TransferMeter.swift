import Synchronization

/// What a fetch or push over SSH has moved so far, as libgit2 reports it (a push at most every half
/// second), for a progress line. One observer per process: the command line's line, or nothing.
public enum TransferMeter {
    public enum Direction: Sendable { case received, sent }

    private static let observer = Mutex<(@Sendable (Direction, UInt64) -> Void)?>(nil)

    /// `report` gets the bytes received by the fetch, or sent by the push, under way; nil stops reporting.
    public static func observe(_ report: (@Sendable (Direction, UInt64) -> Void)?) { observer.withLock { $0 = report } }

    /// On the git thread, from libgit2's transfer callbacks.
    static func moved(_ direction: Direction, _ bytes: UInt64) { observer.withLock { $0 }?(direction, bytes) }
}
