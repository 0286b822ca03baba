#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A thread that runs one piece of work and hands back its result when joined: for work split across
/// cores (the scan), where a thread pool or Dispatch would be more machinery than the job needs.
final class WorkerThread<Result: Sendable> {
    private let box: ResultSlot<Result>
    private var thread = pthread_t()
    private var started: Bool

    init(_ body: @escaping @Sendable () -> Result) {
        let box = ResultSlot<Result>(body)
        self.box = box
        let start = Unmanaged.passRetained(ThreadStart { box.value = box.body() }).toOpaque()
        started = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, start) == 0
        if !started { Unmanaged<ThreadStart>.fromOpaque(start).release() }
    }

    /// Waits for the thread and returns what it produced. If no thread could be started (out of
    /// resources), the work runs here instead: slower, never lost.
    func join() -> Result {
        if started {
            pthread_join(thread, nil)  // orders the thread's write of `value` before this read
            started = false
        }
        if let value = box.value { return value }
        let value = box.body()
        box.value = value
        return value
    }
}

/// Not generic, so the C entry point can name it.
private final class ThreadStart {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

private final class ResultSlot<Result: Sendable>: @unchecked Sendable {  // written by one thread, read after its join
    let body: @Sendable () -> Result
    var value: Result?
    init(_ body: @escaping @Sendable () -> Result) { self.body = body }
}
