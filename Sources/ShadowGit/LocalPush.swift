#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CGit2
internal import CShims
import ShadowCore
import ShadowSystem

/// Pushing to a bare repository on this machine (the embedded default, a USB disk, a mounted share)
/// without libgit2's packbuilder, which re-deflates every object at zlib's default level: a quarter of
/// the first import of 10k files, 1.1 s against 0.5 s for this (Docs/BENCHMARKS.md). The objects the
/// remote lacks go into one pack of stored (uncompressed) objects, as staging writes them, since
/// ciphertext does not compress; then the remote's branch moves by compare-and-swap, as receive-pack
/// would move it. Hooks in the local repository do not run, as they never did with libgit2's local push.
extension GitRepository {
    /// Pushes `main` into the bare repository at `path`. False when `path` is not a bare repository
    /// this can open: the caller then pushes through libgit2, which reports what is wrong with it.
    /// Git thread only. `expected`: the local head the caller verified, which is what is pushed.
    func pushToLocalBareRepository(at path: String, expecting expected: ObjectID?, replacing old: ObjectID? = nil) throws(ShadowError) -> Bool {
        var remote: OpaquePointer?
        guard git2.git_repository_open_ext(&remote, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else { return false }
        defer { git2.git_repository_free(remote) }
        guard git2.git_repository_is_bare(remote) == 1, let gitDir = git2.git_repository_path(remote) else { return false }
        let remoteDir = String(cString: gitDir)

        var local = git_oid()
        try gitCheck(git2.git_reference_name_to_id(&local, handle, GitRepository.branch), "cannot read \(GitRepository.branch)")
        if let expected { try GitRepository.requireUnmoved(ObjectID(local), expected: expected) }
        var theirs = git_oid()
        let remoteHead: git_oid?
        switch git2.git_reference_name_to_id(&theirs, remote, GitRepository.branch) {
        case 0: remoteHead = theirs
        case GIT_ENOTFOUND.rawValue: remoteHead = nil
        case let rc: throw gitError(rc, "cannot read the remote's \(GitRepository.branch)")
        }
        if let old {
            // A signed rewrite replaces exactly the head it names, or nothing.
            guard let remoteHead, ObjectID(remoteHead) == old else {
                throw ShadowError(.nonFastForward, "the remote's \(GitRepository.branch) is no longer \(old.short), the head this rewrite replaces",
                                  advice: "nothing was replaced; sync, then run the command again")
            }
        } else if var base = remoteHead {
            if git2.git_oid_equal(&local, &base) == 1 { return true }
            // Fast-forward only; a head unknown here means someone pushed since the last fetch.
            guard git2.git_graph_descendant_of(handle, &local, &base) == 1 else {
                throw ShadowError(.nonFastForward, "the remote's \(GitRepository.branch) has commits this machine has not merged",
                                  advice: "nothing to do: the next sync fetches, merges and pushes again")
            }
        }

        var remoteODB: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&remoteODB, remote), "cannot open the remote's objects")
        defer { git2.git_odb_free(remoteODB) }
        var localODB: OpaquePointer?
        try gitCheck(git2.git_repository_odb(&localODB, handle), "cannot open the objects")
        defer { git2.git_odb_free(localODB) }

        // A refused head this push replaces may never have been fetched here: nothing can be hidden behind it.
        var known = remoteHead
        if old != nil, var head = remoteHead, git2.git_odb_exists_ext(localODB, &head, 0) != 1 { known = nil }
        var missing = try ObjectWalk(source: handle, target: remoteODB, objectLimit: nil).missing(newest: local, known: known.map { [$0] } ?? [])
        // Bytes written into the remote, as an SSH push reports the bytes it sent.
        var sent = TransferProgress(.sent, bytes: 0, objects: 0, totalObjects: missing.count)
        TransferMeter.moved(sent)
        if !missing.isEmpty, let localDir = git2.git_repository_path(handle) {
            let copied = copyWholePacks(from: String(cString: localDir) + "objects/pack", to: remoteDir + "objects/pack", needed: missing, progress: &sent)
            if !copied.isEmpty { missing.removeAll { copied.contains(ObjectID($0.0)) } }
        }
        if !missing.isEmpty {
            try ObjectWalk.writePack(missing, from: localODB, into: remoteDir + "objects/pack") { size in
                sent.bytes += UInt64(size)
                sent.objects += 1
                TransferMeter.moved(sent)
            }
        }
        // The pack durable before the branch names its objects, the branch durable before success.
        try FileSystem.flushFileSystem(holding: BytePath(remoteDir))
        CrashPoint.reached("git-push-objects")
        func moveBranch() -> Int32 {
            var ref: OpaquePointer?
            defer { git2.git_reference_free(ref) }
            if var expected = remoteHead {
                return git2.git_reference_create_matching(&ref, remote, GitRepository.branch, &local, 1, &expected, "shadowsync push")
            }
            return git2.git_reference_create(&ref, remote, GitRepository.branch, &local, 0, "shadowsync push")
        }
        var rc = moveBranch()
        let lockFile = remoteDir + GitRepository.branch + ".lock"
        if rc == GIT_ELOCKED.rawValue, RemoteRefLock.removeIfStale(lockFile, asideIn: remoteDir) { rc = moveBranch() }
        if rc == GIT_ELOCKED.rawValue {
            throw ShadowError(.remoteUnavailable, "the remote's \(GitRepository.branch) is locked (\(lockFile) exists): another machine is updating it, or an update was cut off",
                              advice: "nothing to do: the next sync tries again; a lock left by an update that was cut off is removed once it is \(RemoteRefLock.staleSeconds) s old")
        }
        if rc == GIT_EMODIFIED.rawValue || rc == GIT_EEXISTS.rawValue {
            throw ShadowError(.nonFastForward, "another machine moved the remote's \(GitRepository.branch) during this push",
                              advice: "nothing to do: the next sync fetches, merges and pushes again")
        }
        try gitCheck(rc, "cannot move the remote's \(GitRepository.branch)")
        try FileSystem.flushFileSystem(holding: BytePath(remoteDir))
        // As a push through libgit2 would: the tracking branch now names what the remote holds.
        var tracking: OpaquePointer?
        try gitCheck(git2.git_reference_create(&tracking, handle, GitRepository.remoteTrackingBranch, &local, 1, "shadowsync push"),
                     "cannot update \(GitRepository.remoteTrackingBranch)")
        git2.git_reference_free(tracking)
        return true
    }

    /// Copies into the remote every local pack whose objects the remote all needs: the first import's
    /// staging pack then reaches the remote by an in-kernel copy instead of being read object by object
    /// and written again, which was most of the push (Docs/BENCHMARKS.md). A pack holding even one object the
    /// push would not send stays here, so nothing leaves that a push would not have sent (a stray file
    /// staged but refused by the commit check, say). Copied, never hard-linked: a shared inode would let
    /// whoever can write the remote rewrite this machine's own objects. Returns the objects now in the
    /// remote; a pack that cannot be copied is left out, and the caller writes its objects itself.
    private func copyWholePacks(from localPackDir: String, to remotePackDir: String, needed: [(git_oid, PackWriter.Kind)],
                                progress: inout TransferProgress) -> Set<ObjectID> {
        let neededIDs = Set(needed.lazy.map { ObjectID($0.0) })
        var copied = Set<ObjectID>()
        for name in PackIndex.names(in: localPackDir) {
            let base = String(name.dropLast(PackIndex.indexSuffix.count))
            guard let ids = PackIndex.objectIDs(localPackDir + "/" + name), !ids.isEmpty,
                  ids.allSatisfy({ neededIDs.contains($0) && !copied.contains($0) }) else { continue }
            // The pack before its index: git and libgit2 see a pack only once its .idx exists.
            guard FileCopy.copyFile(localPackDir + "/" + base + ".pack", to: remotePackDir + "/" + base + ".pack"),
                  FileCopy.copyFile(localPackDir + "/" + name, to: remotePackDir + "/" + name) else { continue }
            copied.formUnion(ids)
            progress.bytes += FileSystem.statKey(BytePath(localPackDir + "/" + base + ".pack"))?.size ?? 0
            progress.objects += ids.count
            TransferMeter.moved(progress)
        }
        return copied
    }
}

/// Reads the object ids of a pack's index (gitformat-pack, "pack-*.idx files have the following
/// format", version 2, the only one libgit2 and git write).
enum PackIndex {
    static let indexSuffix = ".idx"
    static let magic: [UInt8] = [0xff, 0x74, 0x4f, 0x63]   // "\377tOc"
    /// Magic, version, then 256 four-byte fan-out counts; the sorted ids follow.
    static let idsOffset = 8 + 256 * 4
    static let idBytes = 20
    /// Larger indexes (tens of MiB: a million objects) are never read whole; such packs are not copied.
    static let maximumBytes = 64 << 20

    /// Index files in a pack directory, by name.
    static func names(in directory: String) -> [String] {
        let all = (try? FileSystem.list(BytePath(directory))) ?? []
        return all.map { String(decoding: $0, as: UTF8.self) }.filter { $0.hasPrefix("pack-") && $0.hasSuffix(indexSuffix) }.sorted()
    }

    /// The ids an index lists, or nil if it cannot be read or is not a version 2 index.
    static func objectIDs(_ path: String) -> [ObjectID]? {
        guard let bytes = try? FileSystem.readFile(BytePath(path), limit: maximumBytes), bytes.count >= idsOffset else { return nil }
        guard Array(bytes[0..<4]) == magic, bytes[4..<8].elementsEqual([0, 0, 0, 2]) else { return nil }
        let countAt = idsOffset - 4
        let count = Int(BigEndian.read(UInt32.self, bytes, at: countAt))
        guard idsOffset + count * idBytes <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { i in ObjectID(raw: UnsafeRawBufferPointer(rebasing: raw[idsOffset + i * idBytes ..< idsOffset + (i + 1) * idBytes])) }
        }
    }
}

/// A lock file that a ref update in the remote bare repository left behind when it was killed between
/// creating the lock and renaming it over the ref. Git never removes such a lock itself, so every
/// later push would fail until someone deleted it by hand. A ref update holds its lock for
/// microseconds; one older than `staleSeconds` belongs to no running update.
enum RemoteRefLock {
    /// Two minutes: far beyond any ref update, even on a machine stalled in swap or a paused process,
    /// and a cut-off update blocks the other machines for no longer than that.
    static let staleSeconds = 120

    /// Removes the lock at `path` if it is older than `staleSeconds`, and only that file: it is renamed
    /// aside first (into `directory`, the repository's own directory: a name under refs/ would look
    /// like a ref to git while it exists) and deleted only if the renamed file is the one judged stale
    /// (same inode). A lock created meanwhile (possible only once another machine removed the stale
    /// one at the same moment) is put back. True when the stale lock is gone.
    static func removeIfStale(_ path: String, asideIn directory: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, time(nil) - st.st_mtim.tv_sec >= staleSeconds else { return false }
        let aside = directory + "shadowsync-stale-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard rename(path, aside) == 0 else { return false }
        var moved = stat()
        if lstat(aside, &moved) == 0, moved.st_ino == st.st_ino, moved.st_dev == st.st_dev {
            unlink(aside)
            return true
        }
        _ = link(aside, path)  // a fresh lock back in place; fails only if yet another one exists
        unlink(aside)
        return false
    }
}
