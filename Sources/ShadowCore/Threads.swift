#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Dispatch
import Synchronization
internal import CShims

// Threads without Foundation: `Thread` and `NSCondition` live in Foundation proper, whose libraries
// (with ICU) cost about 5 ms of dynamic linking at every start of the `shadowsync` binary
// (Docs/BENCHMARKS.md, `bench-sync-vs-git.sh`).

/// A thread that runs one piece of work and hands back its result when joined: for work split across
/// cores (the scan), where a thread pool or Dispatch would be more machinery than the job needs.
public final class WorkerThread<Result: Sendable> {
    private let box: ResultSlot<Result>
    private let thread: pthread_t
    private var started: Bool

    public init(_ body: @escaping @Sendable () -> Result) {
        let box = ResultSlot<Result>(body)
        self.box = box
        var thread = pthread_t()
        started = spawn(ThreadStart { box.value = box.body() }, detached: false, &thread)
        self.thread = thread
    }

    /// Waits for the thread and returns what it produced. If no thread could be started (out of
    /// resources), the work runs here instead: slower, never lost.
    public func join() -> Result {
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

/// Runs `start` on a new thread, joinable or detached; false (and nothing runs) when none could be made.
private func spawn(_ start: ThreadStart, detached: Bool, _ thread: inout pthread_t) -> Bool {
    let raw = Unmanaged.passRetained(start).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
    guard pthread_create(&thread, &attributes, { raw in
        Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, raw) == 0 else {
        Unmanaged<ThreadStart>.fromOpaque(raw).release()
        return false
    }
    return true
}

private final class ResultSlot<Result: Sendable>: @unchecked Sendable {  // written by one thread, read after its join
    let body: @Sendable () -> Result
    var value: Result?
    init(_ body: @escaping @Sendable () -> Result) { self.body = body }
}

/// Starts a named thread that nobody joins (an event loop, a watchdog). If the thread cannot be created
/// the error says so; the caller decides whether to go on without it.
@discardableResult
public func startDetachedThread(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    var thread = pthread_t()
    return spawn(ThreadStart {
        nameThisThread(name)
        body()
    }, detached: true, &thread)
}

/// A mutex with one condition variable (pthread), for the hand-offs between a worker thread and the
/// threads that feed it.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Only while locked: releases the lock until signalled (or spuriously), then holds it again.
    public func wait() { pthread_cond_wait(condition, mutex) }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// Names the calling thread for `ps -T` and `top -H` (prctl, through CShims: no file is written).
private func nameThisThread(_ name: String) {
    _ = shadow_shim_set_thread_name(name)
}

/// Seconds on the monotonic clock: for deadlines and intervals, which must not jump with the wall clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Cores this process may run on now (at least 1).
public func onlineProcessorCount() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Calls `body` for every index of 0..<count on up to `lanes` threads (the caller's among them) and
/// returns the results in index order. A lane takes the next index whenever it finishes one, so
/// items of uneven cost still share the cores evenly. `body` must be safe to run concurrently.
public func parallelMap<T>(_ count: Int, lanes: Int, _ body: (Int) -> T) -> [T] {
    let lanes = min(lanes, count)
    if lanes <= 1 { return (0..<count).map(body) }
    let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    slots.initialize(repeating: nil)
    defer { slots.deinitialize(); slots.deallocate() }
    let next = IndexDispenser()
    withoutActuallyEscaping(body) { body in
        let shared = SharedForLanes((body, slots))
        DispatchQueue.concurrentPerform(iterations: lanes) { _ in
            let (work, out) = shared.value
            var i = next.take()
            while i < count {
                out[i] = work(i)  // each index is written by exactly one lane
                i = next.take()
            }
        }
    }
    return slots.map { $0! }  // concurrentPerform returns after every lane has, so every slot is set
}

/// Hands out 0, 1, 2, ... to whichever lane asks first.
private final class IndexDispenser: Sendable {
    private let next = Atomic<Int>(0)
    func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Carries the work, the result slots (disjoint per index) and the dispenser into the lanes.
private struct SharedForLanes<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
