import Dispatch
@preconcurrency import Glibc
import Synchronization
import ShadowCore

/// Drops an SSH connection that has shown no progress for `stallSeconds`.
///
/// libgit2 1.5's SSH transport has no timeout of its own: a connection whose peer vanished (a laptop
/// moved to another network, a server that hung) leaves a fetch or push waiting in `recv` forever, and
/// an agent's passes with it. Its stream cannot be replaced safely either (the SSH transport reaches
/// into libgit2's own socket type). So this thread watches each SSH operation from outside. Progress
/// is any of: a libgit2 callback (host key, credentials, transfer, server messages); the git thread
/// using CPU (deflating a large object sends nothing for a while); the operation's TCP connection
/// receiving data or acknowledgements (the kernel's TCP_INFO; git's servers send keepalives while they
/// work). When none has been seen for `stallSeconds`, the operation's TCP connections are shut down;
/// libgit2 then fails the operation as if the network had dropped it, which the caller reports as
/// retryable. No libgit2 call is made here: only `shutdown(2)` on sockets the operation opened.
final class StallWatchdog: @unchecked Sendable {  // `watch` is guarded by `lock`
    static let shared = StallWatchdog()

    /// No progress for this long ends an SSH operation. Two minutes: far longer than any quiet phase of
    /// a working server (its host key, authentication and ref advertisement take seconds, and a
    /// transfer reports progress at least every half second, libgit2's own rate), and far shorter than
    /// TCP keepalive's default of two hours. SHADOWSYNC_STALL_SECONDS shortens it for tests.
    static let stallSeconds: Double = {
        if let text = getenv("SHADOWSYNC_STALL_SECONDS").map({ String(cString: $0) }), let value = Double(text), value > 0 { return value }
        return 120
    }()

    /// How often a running operation is looked at: a stall is noticed within this much of its limit.
    static let checkSeconds = min(1.0, stallSeconds / 4)

    /// The git thread using at least this share of a check's interval is working, not waiting.
    static let busyShare = 0.25

    private struct Watch {
        let port: Int
        /// The sockets this process had before the operation began: never touched.
        let before: Set<String>
        /// The git thread's CPU clock, and its reading at the last check.
        let cpuClock: clockid_t?
        var cpuSeconds: Double
        var lastProgress: Double
        var stalled = false
    }

    private let lock = Mutex<Watch?>(nil)
    private let wake = DispatchSemaphore(value: 0)
    private let started = Atomic(false)

    private init() {}

    /// Watches the operation about to start on this thread (the git thread), which connects to TCP `port`.
    func begin(port: Int) {
        let before = StallWatchdog.socketNames()
        var clock = clockid_t()
        let cpuClock = pthread_getcpuclockid(pthread_self(), &clock) == 0 ? clock : nil
        let watch = Watch(port: port, before: before, cpuClock: cpuClock, cpuSeconds: StallWatchdog.seconds(on: cpuClock),
                          lastProgress: monotonicSeconds())
        lock.withLock { $0 = watch }
        if started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            let me = UncheckedSendable(self)
            if !startDetachedThread(name: "shadowsync-stall", { me.value.loop() }) {
                started.store(false, ordering: .releasing)  // unwatched, as before this existed
            }
        }
        wake.signal()
    }

    /// A sign of life from the operation (any libgit2 callback).
    func progress() {
        lock.withLock { if $0 != nil { $0!.lastProgress = monotonicSeconds() } }
    }

    /// The operation is over; true if this watchdog cut it off.
    func end() -> Bool {
        lock.withLock { watch in defer { watch = nil }; return watch?.stalled ?? false }
    }

    private func loop() {
        while true {
            let active = lock.withLock { $0 != nil }
            if !active { wake.wait(); continue }
            usleep(useconds_t(StallWatchdog.checkSeconds * 1_000_000))
            // Under the lock: `end` cannot return, and a next operation cannot open its own connection
            // to the same port, while this one's are being shut down.
            lock.withLock { watch in
                guard var w = watch, !w.stalled else { return }
                let now = monotonicSeconds(), cpu = StallWatchdog.seconds(on: w.cpuClock)
                let connections = StallWatchdog.connections(to: w.port, sparing: w.before)
                if cpu - w.cpuSeconds >= StallWatchdog.busyShare * StallWatchdog.checkSeconds
                    || connections.contains(where: StallWatchdog.heardFromRecently) {
                    w.lastProgress = now
                }
                w.cpuSeconds = cpu
                if now - w.lastProgress >= StallWatchdog.stallSeconds {
                    w.stalled = true
                    for fd in connections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
                }
                watch = w
            }
        }
    }

    /// The link names ("socket:[inode]") of this process's open sockets.
    static func socketNames() -> Set<String> {
        Set(openSockets().map(\.name))
    }

    private static func openSockets() -> [(fd: Int32, name: String)] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        var out: [(Int32, String)] = []
        var target = [CChar](repeating: 0, count: 64)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            guard let fd = Int32(name) else { continue }
            let n = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            guard n > 0 else { continue }
            let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("socket:") { out.append((fd, link)) }
        }
        return out
    }

    /// The TCP connections to `port` opened since `sparing` was taken: the watched operation's. Shut
    /// down, a `recv` or `send` blocked on one returns at once, and libgit2 fails the operation.
    static func connections(to port: Int, sparing: Set<String>) -> [Int32] {
        openSockets().filter { !sparing.contains($0.name) && peerPort($0.fd) == port }.map(\.fd)
    }

    /// The connection received data or an acknowledgement within about one check's interval.
    static func heardFromRecently(_ fd: Int32) -> Bool {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return false }
        let recentMilliseconds = UInt32(checkSeconds * 1000) + 500
        return min(info.tcpi_last_data_recv, info.tcpi_last_ack_recv) < recentMilliseconds
    }

    /// A CPU clock's reading in seconds (0 without one).
    static func seconds(on clock: clockid_t?) -> Double {
        guard let clock else { return 0 }
        var ts = timespec()
        guard clock_gettime(clock, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The remote port of a connected TCP socket (IPv4 or IPv6), or nil.
    private static func peerPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        // sin_port and sin6_port both follow the 2-byte family, in network order.
        guard Int32(storage.ss_family) == AF_INET || Int32(storage.ss_family) == AF_INET6 else { return nil }
        return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self))) }
    }
}
