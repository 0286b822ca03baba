#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore
public import ShadowCrypto
import ShadowSystem
import ShadowGit

/// Small system helpers the command line needs, so it imports no file-system target itself.
public func writeStandardError(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    _ = Glibc.write(2, base, bytes.count)
}

public func currentDirectory() throws(ShadowError) -> BytePath {
    try ShadowSystem.currentDirectory()
}

/// A path given on the command line as a path inside `folder`: absolute, or relative to the working
/// directory when that is inside the folder, else relative to the folder's root. "." and ".." are
/// resolved lexically, so the file need not exist (restoring a deleted one).
public func folderRelative(_ argument: String, folder: BytePath) throws(ShadowError) -> PlainPath {
    let cwd = try ShadowSystem.currentDirectory()
    let base = cwd.bytes == folder.bytes || cwd.bytes.starts(with: folder.bytes + [UInt8(ascii: "/")]) ? cwd : folder
    let absolute = argument.hasPrefix("/") ? Array(argument.utf8) : base.bytes + [UInt8(ascii: "/")] + Array(argument.utf8)
    var parts: [[UInt8]] = []
    for c in absolute.split(separator: UInt8(ascii: "/")) {
        if c.elementsEqual([UInt8(ascii: ".")]) { continue }
        if c.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) { _ = parts.popLast(); continue }
        parts.append(Array(c))
    }
    let full = [UInt8(ascii: "/")] + Array(parts.joined(separator: [UInt8(ascii: "/")]))
    let root = folder.bytes
    guard full.count > root.count + 1, full.starts(with: root + [UInt8(ascii: "/")]) else {
        throw ShadowError(.invalidPath, "\(argument) is not inside the folder \(folder)")
    }
    return try PlainPath(bytes: Array(full.dropFirst(root.count + 1)))
}

extension Workspace {
    /// The keys of a configured folder, without taking its lock (key export).
    public func folderKeys(_ path: BytePath?) throws(ShadowError) -> VaultKeys {
        try keys(of: try config(path))
    }
}

/// True when both standard input and standard error are a terminal (a person can answer a question).
public var isInteractiveTerminal: Bool { Terminal.isInteractive }

/// All of standard input (a hook's ref updates), bounded.
public func readStandardInput(limit: Int = 1 << 20) throws(ShadowError) -> String {
    String(decoding: try FileSystem.readStandardInput(limit: limit), as: UTF8.self)
}

/// True when standard error is a terminal (a progress line can be redrawn there).
public var standardErrorIsTerminal: Bool { isatty(2) == 1 }

/// Writes a file only this user may read (0600, atomically), creating its directory (0700) if needed.
public func writePrivateFile(_ bytes: [UInt8], to path: BytePath) throws(ShadowError) {
    try FileSystem.createDirectories(path.directory, mode: 0o700)
    try FileSystem.writeAtomically(bytes, to: path, mode: 0o600, durable: false)
}

/// Replaces this process with the executable `name` installed beside it (`shadowsync ui` runs
/// `shadowsync-ui`, which alone links the web server); returns only when that fails.
public func execSibling(_ name: String, arguments: [String]) -> ShadowError {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return ShadowError(.notFound, "cannot find where this program is installed (/proc/self/exe)") }
    let own = BytePath(bytes: buffer[0..<n].map { UInt8(bitPattern: $0) })
    let sibling = own.directory.appending(name)
    let argv = ([sibling.description] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    _ = sibling.withCString { execv($0, argv) }
    let code = errno
    return ShadowError(.notFound, "cannot run \(sibling): \(String(cString: strerror(code)))",
                       advice: "install \(name) in the same directory as shadowsync (swift build puts them side by side)")
}

/// Writes bytes to standard output as they are (a file's old version may be any bytes), all of them.
public func writeStandardOutput(_ bytes: [UInt8]) {
    fflush(stdout)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }  // a closed pipe (`| head`): nothing more to do
        offset += n
    }
}
