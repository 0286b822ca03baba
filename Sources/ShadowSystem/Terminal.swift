#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// Asking the person at the terminal for a secret, with echo off. Reads /dev/tty, not stdin, so piped
/// input is never mistaken for a passphrase.
public enum Terminal {
    /// Longest secret read from the terminal.
    static let secretLimitBytes = 4096

    public static var isInteractive: Bool { isatty(0) == 1 && isatty(2) == 1 }

    public static func readSecret(prompt: String) throws(ShadowError) -> [UInt8] {
        let tty = try Descriptor.open(BytePath("/dev/tty"), flags: O_RDWR | O_NOCTTY)
        var saved = termios()
        guard tcgetattr(tty.fd, &saved) == 0 else { throw systemError("cannot read the terminal settings of", BytePath("/dev/tty")) }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(tty.fd, TCSAFLUSH, &quiet)
        defer {
            _ = tcsetattr(tty.fd, TCSAFLUSH, &saved)
            _ = Array("\n".utf8).withUnsafeBytes { Glibc.write(tty.fd, $0.baseAddress!, $0.count) }
        }
        _ = Array(prompt.utf8).withUnsafeBytes { Glibc.write(tty.fd, $0.baseAddress!, $0.count) }
        var out: [UInt8] = []
        var byte: UInt8 = 0
        while out.count < secretLimitBytes {
            let n = Glibc.read(tty.fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 10 { break }
            out.append(byte)
        }
        return out
    }
}

/// Absolute, symlink-free form of an existing path (realpath).
public func canonicalPath(_ path: BytePath) throws(ShadowError) -> BytePath {
    guard let resolved = path.withCString({ realpath($0, nil) }) else { throw systemError("cannot resolve", path) }
    defer { free(resolved) }
    return BytePath(bytes: Array(UnsafeBufferPointer(start: resolved, count: strlen(resolved)).map { UInt8(bitPattern: $0) }))
}

/// The current working directory.
public func currentDirectory() throws(ShadowError) -> BytePath {
    guard let cwd = getcwd(nil, 0) else { throw systemError("cannot read the current directory", nil) }
    defer { free(cwd) }
    return BytePath(bytes: Array(UnsafeBufferPointer(start: cwd, count: strlen(cwd)).map { UInt8(bitPattern: $0) }))
}

/// An environment variable, nil when unset or empty.
public func environment(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    let s = String(cString: v)
    return s.isEmpty ? nil : s
}

/// The user's home: $HOME, or the passwd entry when HOME is unset (cron, systemd units without a user
/// session), so SSH settings and known_hosts still resolve. Nil only when neither exists.
public func homeDirectory() -> BytePath? {
    if let h = environment("HOME"), h.hasPrefix("/") { return BytePath(h) }
    return passwdEntry { $0.pw_dir.flatMap { $0.pointee != 0 ? BytePath(String(cString: $0)) : nil } }
}

/// Reads this user's passwd entry with getpwuid_r: `sync` looks up its folder on two threads at once
/// (Workspace.prefetch), and getpwuid's one static buffer is not safe for that.
private func passwdEntry<T>(_ read: (passwd) -> T?) -> T? {
    var buffer = [CChar](repeating: 0, count: passwdBufferBytes)
    return buffer.withUnsafeMutableBufferPointer { strings -> T? in
        var entry = passwd(), result: UnsafeMutablePointer<passwd>?
        guard let base = strings.baseAddress, getpwuid_r(getuid(), &entry, base, strings.count, &result) == 0, result != nil else { return nil }
        return read(entry)  // its strings point into `strings`, valid only here
    }
}

/// Room for one passwd entry's strings: glibc suggests 1024 bytes (sysconf(_SC_GETPW_R_SIZE_MAX));
/// sixteen times that leaves room for long GECOS fields. A larger entry reads as none (ERANGE).
private let passwdBufferBytes = 16 * 1024

/// This machine's host name (the default name of a new device), nil when it has none.
public func hostName() -> String? {
    var buffer = [CChar](repeating: 0, count: Int(HOST_NAME_MAX) + 1)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
    let name = String(cString: buffer)
    return name.isEmpty ? nil : name
}

/// The login name (for an SSH URL without `user@`): $USER, else the passwd entry.
public func userName() -> String? {
    if let u = environment("USER") { return u }
    return passwdEntry { $0.pw_name.map { String(cString: $0) } }
}
