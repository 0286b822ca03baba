import ShadowCore
import ShadowSystem

/// A folder's index read ahead on another thread, while the caller does what precedes taking the
/// folder's lock: parsing the command line, unlocking keys, reading state. In a 10k-file no-op sync
/// the read and check take 3.5 ms, and those steps 4.6 ms. `take`, under the lock, keeps
/// it only if it is the folder's index and the file is still the one read: every writer replaces the
/// file (temp and rename), so another process's write meanwhile shows as a different inode or times,
/// and the file is read again. Handed from the thread that starts it to the one that takes it; used by
/// one at a time.
public final class IndexPreload: @unchecked Sendable {
    private let worker: WorkerThread<Loaded>

    struct Loaded: Sendable {
        let path: BytePath?
        let index: SyncIndex?
        let stat: StatKey?
    }

    public convenience init(_ location: FolderLocation) {
        self.init(resolving: { location })
    }

    /// Finds the folder on the worker thread too (`resolve`: nil when there is none), then reads its index.
    public init(resolving resolve: @escaping @Sendable () -> FolderLocation?) {
        worker = WorkerThread {
            guard let path = resolve()?.indexFile else { return Loaded(path: nil, index: nil, stat: nil) }
            guard let (bytes, stat) = try? FileSystem.readFileAndStat(path, limit: SyncIndex.limitBytes) else {
                return Loaded(path: path, index: nil, stat: nil)
            }
            return Loaded(path: path, index: SyncIndex.load(bytes: bytes), stat: stat)
        }
    }

    /// The index of `location` as its file is now; call holding the folder's lock.
    func take(_ location: FolderLocation) -> SyncIndex? {
        let loaded = worker.join()
        let path = location.indexFile
        if loaded.path == path, let stat = loaded.stat, FileSystem.statKey(path) == stat { return loaded.index }
        return SyncIndex.load(path)
    }

    /// Waits until the read ahead is over (tests replace the file after it).
    func waitUntilRead() { _ = worker.join() }

    /// An engine that failed to open never took it: the thread is joined, not left behind.
    deinit { _ = worker.join() }
}
