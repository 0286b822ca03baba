public import ShadowCore
import ShadowSystem

/// A bare repository on this machine (the embedded default, a USB disk, a mounted share). Its head is
/// read in place, before a fetch copies anything; a pass with nothing to fetch answers from git's ref
/// files without loading libgit2; a fetch and a push each write one pack of stored objects
/// (LocalFetch.swift, LocalPush.swift).
public final class LocalBareRemote: Remote, @unchecked Sendable {
    let address: RemoteAddress
    let local: LocalRepository

    init(address: RemoteAddress, local: LocalRepository) {
        self.address = address
        self.local = local
    }

    /// Fetching changes nothing when the remote's branch is the commit the tracking ref already names:
    /// libgit2's fetch would negotiate, find nothing to transfer, and return that same commit.
    public func fetch() throws(ShadowError) -> ObjectID? {
        if let theirs = unchangedHead() { return theirs }
        let repository = try local.open()
        try requireBare()
        do throws(ShadowError) {
            try repository.requireBoundedObjects(inLocalRemote: address.path)
        } catch where error.code == .malformedObject {
            throw ShadowError(.malformedObject, "the remote repository at \(address.path) holds an object ShadowSync never writes (\(error.message)) in the history its signed head names: an object file there was altered; nothing was copied",
                              advice: "nothing was changed locally; restore the repository on the server (git fsck there names the damaged object)")
        }
        let path = address.path
        let (fetched, head) = try GitThread.shared.run { () throws(ShadowError) -> (fetched: Bool, head: ObjectID?) in
            try repository.fetchFromLocalBareRepository(at: path)
        }
        // Not a bare repository this can open: libgit2 fetches, and reports what is wrong with it.
        return fetched ? head : try repository.fetchOrigin(RemoteSession(address: address, settings: nil))
    }

    /// Reclaiming space after a rewrite removes what the branch does not reach: a pack this push wrote
    /// before the reclaim's listing, named by the branch only after its walk, would go. The push holds
    /// the repository's consolidation lock from its first object to the branch's move; taken before the
    /// git thread is, so a wait never blocks other git work.
    private func lockAgainstReclaim() throws(ShadowError) -> FileLock? {
        let packDirectory = (address.path.hasSuffix("/") ? String(address.path.dropLast()) : address.path) + "/objects/pack"
        guard RefFiles.isBareRepository(address.path) else { return nil }  // not a bare repository: libgit2 reports it
        return try ObjectConsolidation.lockForPush(packDirectory: packDirectory)
    }

    public func push(expecting head: ObjectID?) throws(ShadowError) {
        let repository = try local.open()
        try requireBare()
        CrashPoint.reached("git-push")
        let path = address.path
        let reclaimGuard = try lockAgainstReclaim()
        defer { withExtendedLifetime(reclaimGuard) {} }
        let pushed = try GitThread.shared.run { () throws(ShadowError) -> Bool in
            try repository.pushToLocalBareRepository(at: path, expecting: head)
        }
        // Not a bare repository this can open: libgit2 pushes, and reports what is wrong with it.
        if !pushed { try repository.pushOrigin(RemoteSession(address: address, settings: nil), expecting: head) }
    }

    public func push(expecting head: ObjectID, replacing old: ObjectID) throws(ShadowError) {
        let repository = try local.open()
        try requireBare()
        let path = address.path
        let reclaimGuard = try lockAgainstReclaim()
        defer { withExtendedLifetime(reclaimGuard) {} }
        let pushed = try GitThread.shared.run { () throws(ShadowError) -> Bool in
            try repository.pushToLocalBareRepository(at: path, expecting: head, replacing: old)
        }
        if !pushed { try repository.pushOrigin(RemoteSession(address: address, settings: nil), expecting: head, replacing: old) }
    }

    public func probe() throws(ShadowError) -> ObjectID? {
        let repository = try local.open()
        try requireBare()
        return try repository.probeOrigin(RemoteSession(address: address, settings: nil))
    }

    /// Nothing to read (nil) when the fetch would copy nothing, the tracking ref already naming that head.
    public func headBeforeFetch() throws(ShadowError) -> CommitInfo? {
        if unchangedHead() != nil { return nil }
        return try GitRepository.readHead(ofLocalRemote: address.path)
    }

    public func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]? {
        try local.open().topLevelBlob(name, ofTree: tree, limit: limit, inRepositoryAt: address.path)
    }

    public func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs? {
        try local.open().directoryBlobs(name, ofTree: tree, limit: limit, maximumCount: maximumCount, inRepositoryAt: address.path)
    }

    private func requireBare() throws(ShadowError) {
        let path = address.path
        try GitThread.shared.run { () throws(ShadowError) in try GitRepository.requireBare(localRemote: path) }
    }

    /// The remote's head when its files show it is the commit the tracking ref already names, read
    /// only while libgit2 has not opened the local repository.
    private func unchangedHead() -> ObjectID? {
        guard !local.isOpen(), RefFiles.isBareRepository(address.path),
              let theirs = RefFiles.loose(address.path + "/" + GitRepository.branch),
              let tracking = RefFiles.loose(local.gitDir + GitRepository.remoteTrackingBranch), theirs == tracking else { return nil }
        return theirs
    }
}
