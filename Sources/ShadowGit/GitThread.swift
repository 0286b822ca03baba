import Dispatch
@preconcurrency import Glibc
import Synchronization
internal import CGit2
internal import CShims
import ShadowCore

/// libgit2 lives on this one thread: its error state (git_error_last) is thread-local and its objects
/// must not be shared across threads. Every call into libgit2 goes through `run`, which blocks the caller
/// until the work is done; calls made from the git thread itself run inline.
final class GitThread: @unchecked Sendable {
    static let shared = GitThread()
    /// Set once `shared` exists, so waiting for it never creates it.
    static let created = Atomic(false)

    private let condition = ConditionLock()
    private var jobs: [Job] = []             // guarded by `condition`
    private let threadID = Mutex<pthread_t?>(nil)
    /// Signalled once libgit2 is initialised, or at once when the thread could not start.
    private let ready = DispatchSemaphore(value: 0)
    /// Set before `ready` is signalled when the thread could not start or libgit2 could not be loaded:
    /// every job then fails with it instead of running.
    private var startFailure: ShadowError?

    /// Does not wait for libgit2's start-up: `git_libgit2_init` parses the system's CA bundle (about
    /// 8 ms), which can overlap the caller's own start-up. Jobs queued meanwhile
    /// run after it, in order.
    private init() {
        // libgit2 1.5 aborts every SSH operation when HOME is unset, before any callback runs.
        // ShadowSync checks host keys itself, so any value works: the passwd home, else a path
        // that does not exist (a missing known_hosts there just means "unknown" to libssh2). Set here,
        // before the thread exists: setenv must not race another thread's getenv.
        if getenv("HOME").map({ $0.pointee == 0 }) ?? true {
            let home = getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } } ?? "/nonexistent"
            setenv("HOME", home, 1)
        }
        GitThread.created.store(true, ordering: .releasing)
        let me = UncheckedSendable(self)  // the shared instance lives as long as the process
        let started = startDetachedThread(name: "shadowsync-git") {
            me.value.threadID.withLock { $0 = pthread_self() }
            me.value.startFailure = GitThread.initialiseLibrary()
            me.value.ready.signal()
            me.value.loop()
        }
        if !started {
            startFailure = ShadowError(.ioFailure, "could not start the thread that runs git (the system is out of threads or memory)",
                                       advice: "close some programs and try again")
            ready.signal()
        }
    }

    /// Bytes of a pack libgit2 maps at once, and in all: reading every object of a 4 GiB file's packs
    /// otherwise left them all mapped, resident as far as they had been read (libgit2's defaults: 32 MiB
    /// windows, 8 GiB in all).
    static let packWindowBytes = 2 << 20
    static let mappedPackBytes = 8 << 20

    /// Once per process, before any other libgit2 call, on the thread that makes them all: loads
    /// libgit2 (CGit2.h: at start-up it cost every command ~5 ms) and starts it.
    private static func initialiseLibrary() -> ShadowError? {
        var message = [CChar](repeating: 0, count: 512)
        guard shadow_git2_load(&message, message.count) == 0 else {
            let detail = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return ShadowError(.notFound, "cannot load libgit2: \(detail)",
                               advice: "install the libgit2 this build was made for (Debian: apt-get install libgit2-1.5)")
        }
        _ = git2.git_libgit2_init()
        _ = shadow_git2_isolate_config()
        _ = shadow_git2_bound_pack_windows(GitThread.packWindowBytes, GitThread.mappedPackBytes)
        // No per-object fsync (GIT_OPT_ENABLE_FSYNC_GITDIR): 20k fsyncs made a 10k-file import 15x
        // slower than git. GitRepository flushes in batches instead (syncfs before and after every
        // ref update), which is git's core.fsyncMethod=batch idea.
        return nil
    }

    /// Waits until libgit2's start-up is over. A process that exits while it runs could tear down
    /// OpenSSL (an exit handler) under libssh2's initialisation.
    func waitUntilReady() {
        ready.wait()
        ready.signal()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.work?()
            // Drop the work (which holds the caller's non-escaping closure) before waking the caller.
            job.work = nil
            job.done.signal()
        }
    }

    private var onGitThread: Bool {
        threadID.withLock { id in id.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    func run<T>(_ body: () throws(ShadowError) -> T) throws(ShadowError) -> T {
        if onGitThread { return try body() }
        waitUntilReady()
        if let startFailure { throw startFailure }
        let box = ResultBox<T>()
        // The caller's progress observer follows its work onto this thread.
        let observer = TransferMeter.current
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            let job = Job {
                box.result = TransferMeter.observing(observer) { Result { () throws(ShadowError) -> T in try work.value() } }
            }
            condition.lock()
            jobs.append(job)
            condition.signal()
            condition.unlock()
            job.done.wait()
        }
        // The semaphore orders the write on the git thread before this read.
        switch box.result {
        case .success(let v)?: return v
        case .failure(let e)?: throw e
        case nil: preconditionFailure("git job did not run")
        }
    }
}

/// One unit of work for the git thread; `work` is cleared before `done` is signalled.
final class Job: @unchecked Sendable {
    var work: (() -> Void)?
    let done = DispatchSemaphore(value: 0)
    init(_ work: @escaping () -> Void) { self.work = work }
}

final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, ShadowError>?
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// libgit2's functions (CGit2.h), loaded by the git thread before it runs any job.
var git2: shadow_git2 { shadow_git2_api.pointee }

/// Turns a libgit2 return code into a ShadowError, reading git_error_last on the git thread.
func gitCheck(_ rc: Int32, _ what: String) throws(ShadowError) {
    guard rc < 0 else { return }
    throw gitError(rc, what)
}

func gitError(_ rc: Int32, _ what: String) -> ShadowError {
    let detail = git2.git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "error \(rc)"
    switch rc {
    case GIT_ENOTFOUND.rawValue:
        return ShadowError(.notFound, "\(what): \(detail)")
    case GIT_ENONFASTFORWARD.rawValue:
        return ShadowError(.nonFastForward, "\(what): the remote has commits this machine has not merged yet",
                           advice: "nothing to do: the next sync fetches, merges and pushes again")
    case GIT_EEXISTS.rawValue:
        return ShadowError(.alreadyExists, "\(what): \(detail)")
    default:
        return ShadowError(.repositoryFailure, "\(what): \(detail)")
    }
}
