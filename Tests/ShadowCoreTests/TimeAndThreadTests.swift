import Testing
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ShadowCore

@Suite struct TimeAndThreadTests {
    @Test func isoTimeIsUTCToTheSecond() {
        #expect(isoTime(0) == "1970-01-01T00:00:00Z")
        #expect(isoTime(1_795_435_200_999) == "2026-11-23T12:00:00Z")
    }

    /// Worker threads return their own results; the condition lock hands work between threads.
    @Test func threadsHandBackResultsAndWakeWaiters() {
        let workers = (0..<4).map { n in WorkerThread { (0...n * 1000).reduce(0, +) } }
        #expect(workers.map { $0.join() } == [0, 500_500, 2_001_000, 4_501_500])

        final class Box: @unchecked Sendable { var value = 0 }  // guarded by `lock`
        let lock = ConditionLock(), box = Box()
        final class Name: @unchecked Sendable { var text = "" }  // guarded by `lock`
        let name = Name()
        #expect(startDetachedThread(name: "test-thread-with-a-long-name") {
            // What ps -T shows: the name, cut to the kernel's 15 bytes.
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            lock.withLock { name.text = comm; box.value = 7; lock.broadcast() }
        })
        let deadline = monotonicSeconds() + 10
        let seen = lock.withLock { () -> Int in
            while box.value == 0 && monotonicSeconds() < deadline { lock.wait() }
            return box.value
        }
        #expect(seen == 7)
        #expect(lock.withLock { name.text } == "test-thread-wit\n")
    }

    /// Every index once, results in index order, whatever the lanes; uneven work still completes.
    @Test func parallelMapKeepsOrderAndRunsEachIndexOnce() {
        let counts = ConditionLock()
        var seen = [Int](repeating: 0, count: 1000)
        let squares = parallelMap(1000, lanes: 4) { i -> Int in
            if i % 97 == 0 { usleep(2000) }  // a few slow items
            counts.withLock { seen[i] += 1 }
            return i * i
        }
        #expect(squares == (0..<1000).map { $0 * $0 })
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(parallelMap(0, lanes: 4) { $0 }.isEmpty)
        #expect(parallelMap(3, lanes: 1) { $0 + 1 } == [1, 2, 3])
        #expect(parallelMap(2, lanes: 8) { $0 } == [0, 1])
    }
}
