#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// Runs a shell command and returns what it printed on standard output: how a passphrase reaches
/// ShadowSync from a keyring or an askpass program (`passphrase-command`, like gocryptfs -extpass)
/// without ever sitting in a file or on a command line. Standard input and error stay ours, so the
/// program can prompt at the terminal; the caller wipes the returned bytes.
public enum CommandOutput {
    /// The shell that interprets the command string.
    static let shell = "/bin/sh"

    /// Runs `/bin/sh -c command` and returns its standard output, refusing more than `limit` bytes or
    /// an exit status other than 0. `what` names the command in messages (never its output).
    public static func run(_ command: String, limit: Int, what: String) throws(ShadowError) -> [UInt8] {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw systemError("cannot create a pipe for", BytePath(shell)) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(shell), strdup("-c"), strdup(command), nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, shell, &actions, nil, &argv, environ)
        close(writeEnd)
        guard rc == 0 else {
            close(readEnd)
            throw ShadowError(.ioFailure, "cannot start \(what): \(String(cString: strerror(rc)))", advice: "check that \(shell) exists")
        }
        var output: [UInt8] = []
        output.reserveCapacity(limit + 1)
        var buffer = [UInt8](repeating: 0, count: 512)
        defer { for i in buffer.indices { buffer[i] = 0 } }
        var tooLong = false
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count + n > limit { tooLong = true; continue }  // keep draining so the child can exit
            output.append(contentsOf: buffer[0..<n])
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f, code = (status >> 8) & 0xff
        guard signal == 0, code == 0, !tooLong else {
            for i in output.indices { output[i] = 0 }
            if tooLong {
                throw ShadowError(.invalidArgument, "\(what) printed more than \(limit) bytes: that is not a passphrase",
                                  advice: "make it print only the passphrase (one line)")
            }
            let how = signal == 0 ? "exited with status \(code)" : "was killed by signal \(signal)"
            throw ShadowError(.wrongPassphrase, "\(what) \(how), so no passphrase was read",
                              advice: "run the command by hand to see why it fails; its standard output must be the passphrase")
        }
        return output
    }
}
