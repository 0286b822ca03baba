public import ShadowCore
import ShadowCrypto

/// What `resync` did besides the pass it ends with.
public struct ResyncReport: Sendable {
    /// The pass that merged this folder's files onto the server's history and pushed them.
    public var pass: SyncReport
    /// The server's head adopted (verified from its root, as a join does); nil when the server was empty
    /// and this machine's history was pushed there instead.
    public var adopted: ObjectID?
    /// This machine's branch before the resync.
    public var previousHead: ObjectID?
    /// Commits of that branch the server lacked that went back to it unchanged: the server's history
    /// was an older state of this machine's (a server restored from a backup).
    public var restored = 0
    /// Commits of that branch the server's history lacks that are not re-created on the server (the
    /// server's history went another way): their files are in the folder, and the pass commits whatever
    /// differs as this machine's changes.
    public var leftOut = 0
    /// A revocation, key epoch or grant of this machine's old head that the adopted history lacks,
    /// described for a person (made here and never pushed, so left out with those commits); nil when none.
    public var leftOutDeviceChange: String?
}

extension SyncEngine {
    /// `shadowsync resync`: forgets what this machine verified on the server, verifies the server's
    /// history from its root as a join would, and merges this folder's files onto it as local changes:
    /// a file that differs keeps both versions (one as a conflict copy), a file the server lacks is
    /// added, nothing is deleted. An empty server receives this machine's history as it is.
    ///
    /// The recovery after a fork, a move to another repository, or a server restored from a backup:
    /// cases where the server's history no longer contains the head this machine verified, so no
    /// ordinary pass may take it. Deciding to trust the server's history again is the user's, never a
    /// daemon's.
    public func resync(options: SyncOptions = SyncOptions()) throws(ShadowError) -> ResyncReport {
        guard lock != nil else {
            throw ShadowError(.invalidArgument, "this folder was opened to look at, without its lock: it cannot resync",
                              advice: "this is a bug in ShadowSync; run 'shadowsync resync' again")
        }
        let previous = try head
        // First contact again: what this machine verified before says nothing about this history.
        try verifier.requireSignedLocalRemoteHead(firstContact: true)
        let fetched = try retrying(options) { () throws(ShadowError) in try store.remote().fetch() }
        var report = ResyncReport(pass: SyncReport(), adopted: fetched, previousHead: previous)
        guard let remote = fetched else {
            // An empty repository: this machine's history, every commit signed by a device of the vault,
            // becomes the server's. The push guard checks each commit again before it leaves.
            state.lastVerified = nil
            try state.save(location.stateFile)
            report.pass = try sync(options: options)
            return report
        }
        // Verified with no known head and no known sequences, exactly as a join verifies; nothing local
        // changes before it passes.
        let verified = try verifier.verify(head: remote, lastVerified: nil, knownSequences: [:])
        var behind = false
        if let previous { behind = try store.isDescendant(previous, of: remote) }
        // Adopting a history that forgets a revocation or key epoch this machine verified would take a
        // revoked device's commits and seal under an epoch the tree lacks. An older state of this branch
        // is exempt: nothing of it is applied, and this machine's history (with those records) goes back.
        if !behind, let known = state.lastVerified {
            try requireDeviceFilesKept(of: known, by: remote)
        }
        if let previous, behind {
            // The server holds an older state of this branch: the commits it lost go back as they are
            // (each signed by a device of the vault, checked again by the push guard).
            report.restored = (try? store.commits(from: previous, excluding: remote).count) ?? 0
            state.peers.merge(verified.deviceSequences) { max($0, $1) }
            state.lastPushed.merge(verified.deviceTimes) { max($0, $1) }
            state.lastVerified = remote
            try state.save(location.stateFile)
            untrusted = nil
            report.pass = try sync(options: options)
            return report
        }
        if let previous {
            report.leftOut = (try? store.commits(from: previous, excluding: remote).count) ?? 0
            let mine = try verifier.roster(of: previous)
            report.leftOutDeviceChange = mine.lostProtection(in: try verifier.roster(of: remote), names: mine.names(keys: keys))
        }
        // The journal first: a run killed from here on finishes the apply onto an empty index (every
        // file here taken as never synced), exactly what this does.
        try JournalPhase.apply(target: remote, from: nil).save(location.journalFile)
        index = SyncIndex()
        try index.save(location.indexFile)
        copyLineage = [:]
        untrusted = nil
        state.peers = verified.deviceSequences
        state.lastPushed.merge(verified.deviceTimes) { max($0, $1) }
        // A sequence is never reused, whatever the adopted history holds of this device.
        state.sequence = max(state.sequence, verified.deviceSequences[hexString(state.deviceID)] ?? 0)
        state.lastVerified = remote
        try state.save(location.stateFile)
        try store.checkout(remote)
        try store.setReference(ShadowRefs.main, to: remote, expecting: previous)
        // An epoch started on the line left out is not in this tree: write under the tree's newest.
        try adoptEpochsReplacing(at: remote)
        var pass = SyncReport()
        // Every file here that differs from the server's version is kept: the newer keeps the path, the
        // other becomes a conflict copy that the pass below commits.
        let keptBoth = try applyToPlaintext(verified.entries.mapValues { SyncedEntry($0.record) }, target: remote, report: &pass,
                                            existing: .newer)
        try commitKeptVersions(keptBoth, options: options, report: &pass)
        var after = try sync(options: options)
        after.applied = pass.applied + after.applied
        after.conflicts = pass.conflicts + after.conflicts
        after.committed = pass.committed + after.committed
        report.pass = after
        return report
    }

    /// Throws unless the tree of `remote` keeps every revocation, key epoch and epoch grant of the tree
    /// of `verified` (the newest head this machine verified on the server) byte for byte. A device record
    /// or name a fork left out weakens nothing, so only these are required.
    func requireDeviceFilesKept(of verified: ObjectID, by remote: ObjectID) throws(ShadowError) {
        let before = try verifier.roster(of: verified), after = try verifier.roster(of: remote)
        guard let lost = before.lostProtection(in: after, names: before.names(keys: keys)) else { return }
        throw ShadowError(.historyRewritten,
                          "the server's history (head \(remote.short)) \(lost), which this machine verified in commit \(verified.short): it serves an old or forged history (a revoked device may have written to it); nothing was changed here",
                          advice: "restore the server from a machine that has that history: for example create a fresh bare repository, run 'shadowsync config set remote NEW' and 'shadowsync resync' on this machine (its history goes there), then the same two commands on each other machine")
    }
}

extension DeviceRoster {
    /// What `later` lacks, or holds another version of, among this roster's revocations, key epochs and
    /// epoch grants, described for a person; nil when it keeps them all.
    func lostProtection(in later: DeviceRoster, names: [[UInt8]: DeviceName]) -> String? {
        func label(_ id: [UInt8]) -> String {
            let short = String(hexString(id).prefix(8))
            return names[id].map { "\($0.name) (\(short))" } ?? short
        }
        func verb(_ present: Bool) -> String { present ? "holds another version of" : "lacks" }
        for (id, device) in devices.sorted(by: { hexString($0.key) < hexString($1.key) }) {
            guard let revocation = device.revocationObject, later.devices[id]?.revocationObject != revocation else { continue }
            return "\(verb(later.devices[id]?.revocationObject != nil)) the revocation of device \(label(id))"
        }
        for (epoch, entry) in epochs.sorted(by: { $0.key < $1.key }) where later.epochs[epoch]?.object != entry.object {
            return "\(verb(later.epochs[epoch] != nil)) key epoch \(epoch)"
        }
        for (path, entry) in grants.sorted(by: { $0.key < $1.key }) where later.grants[path]?.object != entry.object {
            return "\(verb(later.grants[path] != nil)) the grant of key epoch \(entry.grant.epoch) to device \(label(entry.grant.deviceID))"
        }
        return nil
    }
}
