#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// The daemon's control socket: a Unix stream socket in the (0700) state directory, mode 0600. One
/// request line in, one reply out, then the connection closes. Owns the listening descriptor and
/// removes the socket file when it goes.
public final class ControlSocket {
    public let fd: Int32
    public let path: BytePath

    /// sun_path holds 108 bytes including the NUL (unix(7)).
    static let maxPathBytes = 107

    public init(path: BytePath) throws(ShadowError) {
        guard path.bytes.count <= ControlSocket.maxPathBytes else {
            throw ShadowError(.invalidArgument, "the control socket path \(path) is longer than \(ControlSocket.maxPathBytes) bytes",
                              advice: "use a shorter XDG_DATA_HOME")
        }
        // A socket file left by a killed daemon: remove it only if nobody answers on it.
        if FileSystem.exists(path) {
            if (try? ControlClient.request(path, "ping", timeoutMs: 500)) != nil {
                throw ShadowError(.locked, "another shadowsync daemon answers on \(path)")
            }
            _ = path.withCString { unlink($0) }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw systemError("cannot create the control socket", path) }
        var address = ControlSocket.address(path)
        let old = umask(0o177)  // the socket file is created 0600
        let bound = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard bound == 0, listen(fd, 16) == 0 else {
            let e = systemError("cannot listen on the control socket", path)
            close(fd)
            throw e
        }
        self.fd = fd
        self.path = path
    }

    deinit {
        close(fd)
        _ = path.withCString { unlink($0) }
    }

    static func address(_ path: BytePath) -> sockaddr_un {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &a.sun_path) { raw in
            for (i, b) in path.bytes.prefix(maxPathBytes).enumerated() { raw[i] = b }
        }
        return a
    }

    /// Answers one waiting client, if any: reads its request line and writes `reply(request)`.
    /// A slow or silent client cannot hold the daemon: reads and writes time out.
    public func serveOne(_ reply: (String) -> String) {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
        defer { close(client) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readLine(client) else { return }
        let bytes = Array((reply(request) + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}

/// The other end: `shadowsync status`, `pause`, `resume`.
public enum ControlClient {
    /// Requests longer than this are not ShadowSync's.
    static let maxRequestBytes = 4096

    public static func request(_ path: BytePath, _ line: String, timeoutMs: Int = 5000) throws(ShadowError) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw systemError("cannot create a socket", path) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int((timeoutMs % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = ControlSocket.address(path)
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            throw ShadowError(.notFound, "no shadowsync daemon runs for this folder", advice: "start one with 'shadowsync run'")
        }
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw ShadowError(.remoteUnavailable, "the daemon closed the control socket")
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        guard !out.isEmpty else { throw ShadowError(.remoteUnavailable, "the daemon did not answer in time") }
        return String(decoding: out, as: UTF8.self).trimmingSuffixNewline
    }
}

private func readLine(_ fd: Int32) -> String? {
    var out: [UInt8] = []
    var byte: UInt8 = 0
    while out.count < ControlClient.maxRequestBytes {
        let n = recv(fd, &byte, 1, 0)
        if n <= 0 { return out.isEmpty ? nil : String(decoding: out, as: UTF8.self) }
        if byte == UInt8(ascii: "\n") { return String(decoding: out, as: UTF8.self) }
        out.append(byte)
    }
    return nil
}

extension String {
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}

/// SIGTERM, SIGINT and SIGHUP turned into bytes on a pipe the daemon's poll loop reads (the self-pipe
/// trick: the handler only write(2)s, which is async-signal-safe).
public final class SignalPipe {
    public let fd: Int32
    private let writeEnd: Int32

    public init() throws(ShadowError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw systemError("cannot create the signal pipe", nil) }
        for f in fds {
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK)
        }
        fd = fds[0]
        writeEnd = fds[1]
        signalPipeWriteEnd = writeEnd
        for s in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = signalToPipe
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
        // A parent can hand us these signals blocked: posix_spawn keeps the spawning thread's mask, and
        // libdispatch worker threads block every signal. Blocked, SIGTERM would stay pending forever.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&wanted, s) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
    }

    deinit {
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s, SIG_DFL) }
        signalPipeWriteEnd = -1
        close(fd)
        close(writeEnd)
    }

    /// The signals received since the last call, in order.
    public func drain() -> [Int32] {
        var out: [Int32] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 { out.append(Int32(byte)) }
        return out
    }
}

nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

private func signalToPipe(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

/// poll(2) on several descriptors: the ones that are readable within `timeoutMs` (-1: wait forever).
public func waitReadable(_ fds: [Int32], timeoutMs: Int32) -> Set<Int32> {
    var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let n = poll(&polls, nfds_t(polls.count), timeoutMs)
    guard n > 0 else { return [] }
    return Set(polls.filter { $0.revents != 0 }.map(\.fd))
}
