public import ShadowCore

/// What `repair` did to the shadow repository.
public struct RepairReport: Sendable {
    /// The commit the branch, the shadow tree and the index are back on.
    public var head: ObjectID?
    /// Commits taken off the branch (the foreign ones and any made on top of them), oldest first.
    public var dropped: [ObjectID] = []
    /// False when the shadow repository held nothing foreign: only its tree was checked out again.
    public var wasNeeded = false
    /// True when the index was rebuilt: the next pass reads every file of the folder once.
    public var rebuiltIndex = false
}

/// The shadow repository is the agent's alone. It is an ordinary git work tree, so someone can run git
/// there; a commit made that way is unsigned (or, amended, carries a signature that no longer verifies),
/// and pushing it would make every other machine refuse the server's history. So nothing is pushed
/// that this machine cannot verify as made by a writer of the vault, and the error blames this machine.
extension SyncEngine {
    /// Refuses when the commits between `base` (what the remote holds) and `head` include one that a
    /// writer of this vault did not make.
    func requireOwnCommits(head: ObjectID, base: ObjectID?) throws(ShadowError) {
        guard let (commit, fault) = try verifier.foreignCommit(head: head, base: base) else { return }
        throw foreignCommitError(commit, fault: fault)
    }

    /// At the start of a pass: the branch still holds only commits the agent can vouch for. Checked only
    /// when the branch is not where the agent left it, or has commits not yet pushed: a no-op pass reads
    /// two refs and nothing more.
    func checkOwnHistory() throws(ShadowError) {
        if let untrusted { throw untrusted }
        if let error = try foreignHistory(try head) {
            untrusted = error
            throw error
        }
    }

    /// The error for a branch holding a foreign commit, nil when it holds none.
    func foreignHistory(_ current: ObjectID?) throws(ShadowError) -> ShadowError? {
        guard let current, current != index.head || current != state.lastVerified else { return nil }
        return try verifier.foreignCommit(head: current, base: state.lastVerified).map { foreignCommitError($0.commit, fault: $0.fault) }
    }

    func foreignCommitError(_ commit: ObjectID, fault: String) -> ShadowError {
        SyncEngine.foreignCommitError(commit, fault: fault, location: location)
    }

    static func foreignCommitError(_ commit: ObjectID, fault: String, location: FolderLocation) -> ShadowError {
        ShadowError(.foreignLocalCommit,
                    "the shadow repository at \(location.shadow) has a commit ShadowSync did not make (\(commit.short) \(fault); someone ran git there?): this machine's branch was not pushed, and the server is not to blame",
                    advice: "run 'shadowsync repair --folder \(location.plain)': it puts the shadow repository back on the last commit ShadowSync made and discards what was done there by hand; every file of the folder is kept and synced by the next pass")
    }

    /// Why the branch needs `repair`, nil when it does not (what `status` shows).
    public var needsRepair: ShadowError? { untrusted }

    /// Puts the shadow repository back on the newest commit this machine can vouch for: the index's
    /// commit when it and everything below it down to the last verified head were made by ShadowSync,
    /// else the last verified head itself. Checks that commit's tree out (hand edits in the shadow tree
    /// are discarded) and rebuilds the index when it described another commit. The plaintext folder is
    /// not touched: it is the truth, and the next pass commits whatever in it differs.
    public func repair() throws(ShadowError) -> RepairReport {
        var report = RepairReport()
        let current = try head
        let verified = state.lastVerified
        var target = verified
        if let indexed = index.head, try verifier.foreignCommit(head: indexed, base: verified) == nil {
            var containsVerified = true
            if let verified, indexed != verified { containsVerified = try store.isDescendant(indexed, of: verified) }
            if containsVerified { target = indexed }
        }
        guard let target else {
            throw ShadowError(.notFound, "this machine has no commit of its own to go back to: nothing was ever pushed or verified here",
                              advice: "remove the folder's configuration and join the vault again, or run 'shadowsync init' anew")
        }
        report.wasNeeded = untrusted != nil || current != target
        if let current, current != target {
            report.dropped = (try? store.commits(from: current, excluding: target)) ?? []
            try store.setReference(ShadowRefs.main, to: target, expecting: current)
        }
        try store.checkout(target)
        if index.head != target {
            try rebuildIndex(from: target)
            report.rebuiltIndex = true
        }
        // A killed pass's journal: an apply of a commit still on the branch is finished as usual; any
        // other step was about the history just dropped, and its shadow objects were checked out away.
        if case .apply(let applied, _)? = try? JournalPhase.load(location.journalFile), applied == target {
            untrusted = nil
            try recover()
        } else {
            try JournalPhase.idle.save(location.journalFile)
            untrusted = nil
        }
        report.head = target
        return report
    }
}

extension History {
    /// Refuses to show the history of a branch holding a commit ShadowSync did not make, blaming this
    /// machine: its commits above the last verified head are checked as a push would check them.
    func requireOwnCommits(head: ObjectID) throws(ShadowError) {
        guard let location else { return }
        var base = (try? FolderState.load(location.stateFile))?.lastVerified
        if base == nil { base = try store.reference(ShadowRefs.remoteTracking) }
        guard let (commit, fault) = try HistoryVerifier(keys: keys, store: store).foreignCommit(head: head, base: base) else { return }
        throw SyncEngine.foreignCommitError(commit, fault: fault, location: location)
    }
}
