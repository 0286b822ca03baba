import Dispatch
@preconcurrency import Glibc
import ShadowAgent
import ShadowCore

/// `--open`: shows the page in the user's browser without putting the token in any command line
/// (`ps` shows those to every user): the browser opens a private file that forwards to the address.
enum Opener {
    static func open(_ url: String) {
        do {
            let directory = try UserDirectories.current().data
            let file = directory.appending("ui-open.html")
            let page = "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url=\(url)\"><title>ShadowSync</title><a href=\"\(url)\">ShadowSync</a>\n"
            try writePrivateFile(Array(page.utf8), to: file)
            spawn(["xdg-open", file.description])
        } catch {
            Array("shadowsync ui: cannot open a browser (\(error.message)); open the address above by hand\n".utf8).withUnsafeBytes { writeStandardError($0) }
        }
    }

    /// Starts `argv` without waiting for it (the address is printed anyway).
    static func spawn(_ argv: [String]) {
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        guard posix_spawnp(&pid, argv[0], nil, nil, cArgs, environ) == 0 else { return }
        let child = pid
        DispatchQueue.global().async { _ = waitpid(child, nil, 0) }  // reaped when it ends, not left a zombie
    }
}
