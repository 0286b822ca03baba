/// How far one fetch or push has got: what a progress line and a daemon's `status` show.
public struct TransferProgress: Sendable, Equatable {
    public enum Direction: String, Sendable { case received, sent }
    public var direction: Direction
    /// Bytes received or sent so far.
    public var bytes: UInt64
    /// Objects moved so far and in all; 0 when the transport does not tell.
    public var objects: Int
    public var totalObjects: Int

    public init(_ direction: Direction, bytes: UInt64, objects: Int = 0, totalObjects: Int = 0) {
        self.direction = direction
        self.bytes = bytes
        self.objects = objects
        self.totalObjects = totalObjects
    }
}

/// Reports a fetch's or push's progress to whoever started it. The observer is scoped to the calling
/// thread (`observing`), and the git thread carries it into the work it runs for that caller, so two
/// folders syncing in one process (daemons in tests, the web interface) never see each other's bytes.
public enum TransferMeter {
    public typealias Observer = @Sendable (TransferProgress) -> Void

    @TaskLocal private static var observer: Observer?

    /// Runs `body` with `report` told about every transfer it starts; nil keeps the observer already in place.
    public static func observing<T, E: Error>(_ report: Observer?, _ body: () throws(E) -> T) throws(E) -> T {
        guard let report else { return try body() }
        let result = $observer.withValue(report) { Result { () throws(E) -> T in try body() } }
        return try result.get()
    }

    /// The observer in place on this thread: what a worker thread carries into the work it runs for it.
    public static var current: Observer? { observer }

    /// Called by a transport as bytes move (at most a few times a second, or once per object).
    public static func moved(_ progress: TransferProgress) { observer?(progress) }
}
