public import ShadowCore
public import ShadowCrypto

/// One entry of a verified remote tree, decrypted: the name record and where its objects are.
public struct VerifiedEntry: Equatable, Sendable {
    public let record: NameRecord
    public let locator: Locator
    public let nameObject: ObjectID
    /// The content object's blob (regular files only).
    public let contentObject: ObjectID?
    /// A segmented file's segment objects by name (FORMAT.md §3a); empty for any other entry.
    public var segments: [String: ObjectID] = [:]

    public init(record: NameRecord, locator: Locator, nameObject: ObjectID, contentObject: ObjectID?, segments: [String: ObjectID] = [:]) {
        self.record = record
        self.locator = locator
        self.nameObject = nameObject
        self.contentObject = contentObject
        self.segments = segments
    }
}

/// What a verified fetch yields: the head, the decrypted tree, and the per-device sequence numbers seen.
public struct VerifiedHistory: Sendable {
    public let head: ObjectID
    public let entries: [PlainPath: VerifiedEntry]
    public let deviceSequences: [String: UInt64]
    /// Per device (hex id), the newest commit time (Unix milliseconds) among the new commits.
    public let deviceTimes: [String: UInt64]
    public let newCommits: Int
    /// The head replaced history this machine had verified, under a rewrite record (FORMAT.md §5.4):
    /// the whole history was verified from its root.
    public var rewrote = false
}

/// A rewrite commit met in a walk: the commit it names as replaced, and the tip of its rewritten line
/// (the rewrite commit above it whose own tree vouches for its signer, FORMAT.md §5.4).
struct RewriteSeen: Sendable {
    let commit: ObjectID
    let replaces: ObjectID
    let tip: ObjectID
}

/// Checks everything the server sent before a byte of plaintext is touched (DESIGN.md rule 5):
/// the new head descends from the last verified head, every new commit is signed by a read-write device
/// its own tree admits (FORMAT.md §4.3), keeps every device record of its parents, and carries metadata
/// that names that device with a per-device sequence that increases, and the tree holds only
/// well-formed ShadowSync objects whose name records authenticate at their own locators.
public struct HistoryVerifier {
    let keys: VaultKeys
    let store: VersionStore
    let rosters = RosterCache()
    /// The walk's bounds: `maximumNewCommits` and `maximumNewCommitBytes` (lowered only by tests).
    var newCommitLimit = HistoryVerifier.maximumNewCommits
    var newCommitBytesLimit = HistoryVerifier.maximumNewCommitBytes

    /// Name records are a few hundred bytes; anything big is not one.
    static let nameRecordLimitBytes = 64 * 1024
    /// The one `.gitattributes` ShadowSync commits: ciphertext is never converted by git.
    public static let gitattributes = Array("* binary\n".utf8)

    public init(keys: VaultKeys, store: VersionStore) {
        self.keys = keys
        self.store = store
    }

    /// Verifies `head` against `lastVerified` (nil on first join: trust on first use). Throws without side
    /// effects, with a message that says what the server did.
    public func verify(head: ObjectID, lastVerified: ObjectID?, knownSequences: [String: UInt64]) throws(ShadowError) -> VerifiedHistory {
        try requireSignedHead(head, firstContact: lastVerified == nil)
        if let lastVerified {
            let descends: Bool
            do { descends = try store.isDescendant(head, of: lastVerified) } catch where error.code == .notFound || error.code == .repositoryFailure {
                descends = false
            }
            if !descends { return try verifyRewrite(head: head, over: lastVerified, knownSequences: knownSequences) }
        }
        let (fresh, sequences, times, _) = keys.canDecrypt
            ? try walkNewCommits(from: head, known: lastVerified, knownSequences: knownSequences)
            : try verifyNewCommitsWithoutMetadata(head: head, lastVerified: lastVerified, knownSequences: knownSequences)
        let entries = keys.canDecrypt ? try decryptTree(of: head) : [:]
        return VerifiedHistory(head: head, entries: entries, deviceSequences: sequences, deviceTimes: times, newCommits: fresh)
    }

    /// A head that does not contain the last verified one (FORMAT.md §5.4, rule 6): accepted only when
    /// its whole history verifies from the root and one of its rewrite commits names `verified` (or a
    /// commit here that contains it) as replaced, under a rewritten line whose tip keeps every device
    /// file of `verified` (so a revocation this machine saw cannot be written away). Anything else is
    /// what it always was: a rollback or a fork.
    func verifyRewrite(head: ObjectID, over verified: ObjectID, knownSequences: [String: UInt64]) throws(ShadowError) -> VerifiedHistory {
        let rolledBack = ShadowError(.historyRewritten,
                                     "the server's branch (\(head.short)) does not contain commit \(verified.short), which this machine verified before, and no rewrite signed by a writer of this vault replaces it: the server rolled back or rewrote history",
                                     advice: "nothing was changed locally; check the server; once its repository is as it should be (restored from a backup, or a new one), run 'shadowsync resync': it verifies the server's history again and merges this folder onto it")
        let (fresh, sequences, times, rewrites) = keys.canDecrypt
            ? try walkNewCommits(from: head, known: nil, knownSequences: [:])
            : try verifyNewCommitsWithoutMetadata(head: head, lastVerified: nil, knownSequences: [:])
        guard try authorises(rewrites, over: verified) else { throw rolledBack }
        let entries = keys.canDecrypt ? try decryptTree(of: head) : [:]
        // A replay of a commit this machine verified on the old line stays a replay.
        var history = VerifiedHistory(head: head, entries: entries, deviceSequences: knownSequences.merging(sequences) { max($0, $1) },
                                      deviceTimes: times, newCommits: fresh)
        history.rewrote = true
        return history
    }

    /// True when one of `rewrites` replaces `verified` or a commit here that contains it, and the tip
    /// of its rewritten line keeps every device file of `verified`.
    func authorises(_ rewrites: [RewriteSeen], over verified: ObjectID) throws(ShadowError) -> Bool {
        guard !rewrites.isEmpty else { return false }
        let before = try roster(of: verified)
        for rewrite in rewrites {
            let covers = rewrite.replaces == verified || ((try? store.isDescendant(rewrite.replaces, of: verified)) ?? false)
            guard covers else { continue }
            if before.successorFault(try roster(of: rewrite.tip)) == nil { return true }
        }
        return false
    }

    /// The pre-receive hook's check of a push that replaces the branch's `old` head with `new`, which
    /// does not contain it. `old` may itself be a commit no writer made (pushed past the hook, or before
    /// it was installed): then the replacement must contain the newest first-parent ancestor of `old`
    /// that a writer made, and name `old` in a rewrite record.
    public func verifyReplacement(new: ObjectID, old: ObjectID) throws(ShadowError) -> VerifiedHistory {
        var base: ObjectID? = old
        var steps = 0
        while let candidate = base, steps < HistoryVerifier.maximumRefusedTip {
            guard let info = try? store.commit(candidate) else { base = nil; break }
            if signatureFault(info) == nil { break }
            base = info.parents.first
            steps += 1
        }
        guard let base, steps < HistoryVerifier.maximumRefusedTip else {
            throw ShadowError(.historyRewritten, "the branch's head \(old.short) and the \(HistoryVerifier.maximumRefusedTip) commits below it were made by no writer of this vault: a replacement cannot be checked against them",
                              advice: "restore the repository on the server, or move its main back to a commit a writer made")
        }
        if base == old { return try verify(head: new, lastVerified: old, knownSequences: [:]) }
        guard try store.isDescendant(new, of: base) else {
            return try verify(head: new, lastVerified: base, knownSequences: [:])
        }
        let named = try store.commits(from: new, excluding: base).contains { (try? store.commit($0)).flatMap { CommitMessage.rewriteRecord($0.message) } == old }
        guard named else {
            throw ShadowError(.historyRewritten, "\(new.short) does not contain the branch's head \(old.short) and names it in no rewrite record: rewriting history is refused",
                              advice: "sync with 'shadowsync sync --replace-refused', which names the refused head it replaces")
        }
        return try verify(head: new, lastVerified: base, knownSequences: [:])
    }

    /// A refused head is looked past for at most this many first parents (a push of refused commits
    /// deeper than that is not a replacement of one tip).
    static let maximumRefusedTip = 1000

    /// At most this many new commits are verified in one fetch: a million commits is decades of a busy
    /// vault; a server that sends more is refused before it can make the walk take minutes.
    public static let maximumNewCommits = 1_000_000
    /// At most this many bytes of new commit objects in one fetch (a genuine commit is under 1 KiB).
    public static let maximumNewCommitBytes = 1 << 30

    /// The commits reachable from `head` and not from `known`, walked parent by parent: each commit's
    /// size (from its object header), signature and metadata are checked before its parents are read,
    /// so nothing the server made up is ever walked, and the walk stops at `maximumNewCommits` and
    /// `maximumNewCommitBytes`. A commit whose device sequence is not above what verified history holds
    /// is either below `known` (reached through a merge: the walk stops there) or a replay.
    /// Returns the number of new commits, the per-device sequences and the newest time per device.
    func walkNewCommits(from head: ObjectID, known: ObjectID?, knownSequences: [String: UInt64]) throws(ShadowError)
        -> (count: Int, sequences: [String: UInt64], times: [String: UInt64], rewrites: [RewriteSeen]) {
        // Each commit with the tip of the rewritten line above it (nil: its child is an ordinary commit).
        var stack: [(ObjectID, ObjectID?)] = [(head, nil)], seen: Set<ObjectID> = [], bytes = 0
        var rewrites: [RewriteSeen] = []
        var sequences = knownSequences, times: [String: UInt64] = [:]
        var taken: [String: ObjectID] = [:]  // "device sequence" → commit, to refuse a sequence used twice
        var count = 0
        // Metadata is read with the keys of the head's epochs, which reach every earlier epoch (an old
        // commit's own tree may not hold the records a key of a later epoch needs to reach back).
        let headRoster = try roster(of: head)
        let reaching = try rosters.keys(headRoster, base: keys)
        while let (id, inheritedTip) = stack.popLast() {
            if id == known || !seen.insert(id).inserted { continue }
            let info = try store.commit(id)
            let replaces = CommitMessage.rewriteRecord(info.message)
            let tip = replaces == nil ? nil : inheritedTip ?? id
            let tipRoster = try tip.flatMap { (t) throws(ShadowError) -> DeviceRoster? in t == id ? nil : try self.roster(of: t) }
            bytes += info.message.utf8.count + (info.signature?.utf8.count ?? 0)
            guard count < newCommitLimit, bytes <= newCommitBytesLimit else {
                throw ShadowError(.malformedObject, "the server's branch (\(head.short)) brings more than \(newCommitLimit) new commits or \(newCommitBytesLimit >> 20) MiB of commit objects at once: more than ShadowSync verifies in one fetch",
                                  advice: "nothing was changed locally; the server is sending history no vault writer made: restore the repository on the server")
            }
            try requireSigned(info, firstContact: known == nil, vouchedBy: tipRoster)
            let roster = try requireDeviceRules(info)
            let meta: CommitMetadata
            do { meta = try CommitMessage.parse(info.message, commit: id, keys: reaching) } catch where error.code == .authenticationFailed {
                let held = reaching.read?.epoch ?? 0
                guard headRoster.newestEpoch > held else { throw error }
                if let me = keys.device.flatMap({ headRoster.devices[$0.id] }), let revocation = me.revocation {
                    throw ShadowError(.insufficientCapability, "this device was revoked by device \(hexString(revocation.revokerID).prefix(8)) at \(isoTime(revocation.revokedAtMillis)): it receives no key from key epoch \(held + 1) on (the vault is at key epoch \(headRoster.newestEpoch)), and no other machine accepts its changes",
                                      advice: "your files stay in the folder; to sync them again, join the vault anew on this machine with an invite from a remaining device")
                }
                throw ShadowError(.unsupportedVersion, "commit \(id.short) is sealed under a key epoch after \(held) (the vault is at key epoch \(headRoster.newestEpoch)), and this key holds no key for epochs after \(held): it was revoked before that epoch began, or no device has granted it the epoch yet",
                                  advice: "a device that was revoked never reads what was written after; otherwise sync a read-write device of the vault and try again")
            }
            let device = hexString(meta.deviceID)
            // A rewrite commit keeps the metadata of the commit it re-creates: its signer is the rewriting device.
            guard let signer = signer(of: info, in: roster) ?? tipRoster.flatMap({ signer(of: info, in: $0) }),
                  signer.id == meta.deviceID || replaces != nil else {
                throw ShadowError(.signatureInvalid, "commit \(id.short) names device \(device.prefix(8)) in its metadata but is signed by another device",
                                  advice: "nothing was changed locally; remove the commit on the server or restore the repository")
            }
            if let verified = knownSequences[device], meta.sequence <= verified {
                if let known, (try? store.isDescendant(known, of: id)) == true { continue }
                throw ShadowError(.replayedCommit, "commit \(id.short) repeats sequence \(meta.sequence) of device \(device.prefix(8)) (already at \(verified)): the server replayed an old commit",
                                  advice: "nothing was changed locally; restore the repository on the server")
            }
            if let other = taken.updateValue(id, forKey: "\(device) \(meta.sequence)"), other != id {
                throw ShadowError(.replayedCommit, "commits \(other.short) and \(id.short) both carry sequence \(meta.sequence) of device \(device.prefix(8)): the server replayed an old commit",
                                  advice: "nothing was changed locally; restore the repository on the server")
            }
            sequences[device] = max(sequences[device] ?? 0, meta.sequence)
            times[device] = max(times[device] ?? 0, meta.wallTimeMillis)
            count += 1
            if let replaces, let tip { rewrites.append(RewriteSeen(commit: id, replaces: replaces, tip: tip)) }
            stack.append(contentsOf: info.parents.map { ($0, tip) })
        }
        return (count, sequences, times, rewrites)
    }

    /// For each rewrite commit of `commits` (parents before children, as `LocalHistory.commits` lists
    /// them), the tip of its rewritten line: itself, or the tip of a rewrite commit it is a parent of.
    func rewriteTips(_ commits: [ObjectID]) throws(ShadowError) -> [ObjectID: (replaces: ObjectID, tip: ObjectID)] {
        var inherited: [ObjectID: ObjectID] = [:], tips: [ObjectID: (replaces: ObjectID, tip: ObjectID)] = [:]
        for id in commits.reversed() {
            let info = try store.commit(id)
            guard let replaces = CommitMessage.rewriteRecord(info.message) else { continue }
            let tip = inherited[id] ?? id
            tips[id] = (replaces, tip)
            for parent in info.parents where inherited[parent] == nil { inherited[parent] = tip }
        }
        return tips
    }

    /// The roster vouching for a rewrite commit's signer besides its own tree's: its tip's (nil for a tip
    /// or an ordinary commit).
    func vouchingRoster(_ id: ObjectID, tips: [ObjectID: (replaces: ObjectID, tip: ObjectID)]) throws(ShadowError) -> DeviceRoster? {
        guard let tip = tips[id]?.tip, tip != id else { return nil }
        return try roster(of: tip)
    }

    /// A verify-only key cannot read sequences: every new commit's signature is checked, found by git's
    /// walk (the pre-receive hook, which sees one push at a time).
    private func verifyNewCommitsWithoutMetadata(head: ObjectID, lastVerified: ObjectID?, knownSequences: [String: UInt64]) throws(ShadowError)
        -> (count: Int, sequences: [String: UInt64], times: [String: UInt64], rewrites: [RewriteSeen]) {
        let fresh = try store.commits(from: head, excluding: lastVerified)
        let tips = try rewriteTips(fresh)
        for id in fresh {
            let info = try store.commit(id)
            try requireSigned(info, firstContact: lastVerified == nil, vouchedBy: try vouchingRoster(id, tips: tips))
            _ = try requireDeviceRules(info)
        }
        return (fresh.count, knownSequences, [:], tips.map { RewriteSeen(commit: $0.key, replaces: $0.value.replaces, tip: $0.value.tip) })
    }

    /// The device rules between a commit and its parents (FORMAT.md §5.3, rules 3 and 4): every record,
    /// invite and revocation of a parent kept, and whatever the commit adds vouched for by a device not
    /// revoked in it. Returns the commit's roster.
    func requireDeviceRules(_ info: CommitInfo) throws(ShadowError) -> DeviceRoster {
        let roster = try rosters.roster(info.tree, store: store, keys: keys)
        var parentRosters: [DeviceRoster] = []
        for parent in info.parents {
            let parentRoster = try rosters.roster(try store.commit(parent).tree, store: store, keys: keys)
            if let fault = parentRoster.successorFault(roster) {
                throw ShadowError(.signatureInvalid, "commit \(info.id.short) \(fault): device records are never removed or rewritten, so the server or a device forged it",
                                  advice: "nothing was changed locally; remove the commit on the server or restore the repository")
            }
            parentRosters.append(parentRoster)
        }
        if let fault = DeviceRoster.additionsFault(roster, parents: parentRosters) {
            throw ShadowError(.signatureInvalid, "commit \(info.id.short) \(fault): a revoked device vouches for nobody",
                              advice: "nothing was changed locally; remove the commit on the server or restore the repository")
        }
        return roster
    }

    /// Checks the head alone, before anything walks its ancestry: its size from the object header, then
    /// its signature. A walk loads every commit it meets whole, so a huge or endless unsigned history
    /// from the server is refused here at the cost of one bounded read. A signed head's ancestry was
    /// verified by the writer that signed it. `firstContact`: this machine has verified nothing from this repository yet (a join), so a head of
    /// another vault means the wrong key rather than a server swapping repositories.
    public func requireSignedHead(_ head: ObjectID, firstContact: Bool) throws(ShadowError) {
        let info: CommitInfo
        do { info = try store.commit(head) } catch where error.code == .malformedObject {
            throw HistoryVerifier.serverHead(error)
        }
        try requireSigned(info, firstContact: firstContact)
    }

    /// `requireSignedHead` for a local-path remote's head, read in place before a fetch copies anything.
    public func requireSignedLocalRemoteHead(firstContact: Bool) throws(ShadowError) {
        let info: CommitInfo?
        do { info = try store.remote().headBeforeFetch() } catch where error.code == .malformedObject {
            throw HistoryVerifier.serverHead(error)
        }
        if let info { try requireSigned(info, firstContact: firstContact, inLocalRemote: true) }
    }

    /// The admitted device that signed `info`, if any.
    func signer(of info: CommitInfo, in roster: DeviceRoster) -> AdmittedDevice? {
        guard let text = info.signature, let signed = info.signedData, let signature = try? Signatures.parse(text: text) else { return nil }
        return roster.commitSigner(signature, of: signed)
    }

    /// The devices the tree of `commit` admits.
    public func roster(of commit: ObjectID) throws(ShadowError) -> DeviceRoster {
        try rosters.roster(try store.commit(commit).tree, store: store, keys: keys)
    }

    /// The keys reaching every key epoch `commit`'s tree holds (as far as this key opens them): what
    /// reads that commit, its ancestors, and their objects (FORMAT.md §1d).
    public func keys(at commit: ObjectID) throws(ShadowError) -> VaultKeys {
        try rosters.keys(try roster(of: commit), base: keys)
    }

    static func serverHead(_ error: ShadowError) -> ShadowError {
        ShadowError(.malformedObject, "the server's branch points at \(error.message)",
                    advice: "nothing was changed locally; the server holds a commit no ShadowSync writer made: remove it on the server (point main back at the last good commit) or restore the repository")
    }

    /// Throws unless a writer of this vault signed `info`. A commit of another vault (its `vault.json`
    /// names another vault id) is told apart from a tampered one before the server is blamed.
    func requireSigned(_ info: CommitInfo, firstContact: Bool, inLocalRemote: Bool = false, vouchedBy tipRoster: DeviceRoster? = nil) throws(ShadowError) {
        let id = info.id
        switch signatureFault(info, inLocalRemote: inLocalRemote, vouchedBy: tipRoster) {
        case .unsigned? where firstContact && lacksDescriptor(tree: info.tree, inLocalRemote: inLocalRemote):
            throw ShadowError(.notFound, "the repository is not a ShadowSync vault: its main branch holds commit \(id.short), made without ShadowSync (no signature, no vault.json)",
                              advice: "check the remote's path or URL: join the bare repository 'shadowsync init' created; nothing was changed locally")
        case .unsigned?:
            throw ShadowError(.signatureInvalid, "commit \(id.short) is not signed: it was not made by a ShadowSync writer of this vault (plain git push, or a server injecting commits)",
                              advice: "nothing was changed locally; remove the commit on the server or restore the repository")
        case .revoked(let device)?:
            let by = device.revocation.map { String(hexString($0.revokerID).prefix(8)) } ?? "?"
            throw ShadowError(.signatureInvalid, "commit \(id.short) is signed by device \(hexString(device.id).prefix(8)), which device \(by) revoked: its changes are refused",
                              advice: "nothing was changed locally; remove the commit on the server (point main back at the last good commit), or let a remaining device push over it after that")
        case .badSignature?, .roster?:
            let ours = hexString(keys.vaultID)
            if let theirs = vaultID(ofTree: info.tree, inLocalRemote: inLocalRemote), theirs != ours {
                if firstContact {
                    throw ShadowError(.wrongVault, "this key is for another vault (vault id \(ours)), the repository holds vault \(theirs)",
                                      advice: "check which key you used: export the key of the vault this repository holds ('shadowsync key export' on a machine of that vault), or point at that vault's repository; nothing was changed locally")
                }
                throw ShadowError(.wrongVault, "the server's branch holds another vault (vault id \(theirs)) than the one this machine syncs (vault id \(ours)): the server swapped the repository, or the remote setting points at another vault's",
                                  advice: "nothing was changed locally; check 'shadowsync config get remote', and restore this vault's repository on the server")
            }
            if case .roster(let error)? = signatureFault(info, inLocalRemote: inLocalRemote) {
                throw ShadowError(error.code, "commit \(id.short): \(error.message)",
                                  advice: "nothing was changed locally; remove the commit on the server or restore the repository")
            }
            throw ShadowError(.signatureInvalid, "commit \(id.short) has a signature that does not verify with the key of any read-write device its tree admits: it was tampered with, or made by a read-only or unknown device",
                              advice: "nothing was changed locally; remove the commit on the server or restore the repository")
        case nil: break
        }
    }

    /// True when the tree can be read and has no `vault.json` at its top: plain git, not a vault.
    func lacksDescriptor(tree: ObjectID, inLocalRemote: Bool) -> Bool {
        do {
            return try topLevelBlob(VaultDescriptor.fileName, ofTree: tree, limit: VaultDescriptor.limitBytes, inLocalRemote: inLocalRemote) == nil
        } catch {
            return false
        }
    }

    /// A blob at the top of `tree`, from the remote's own repository when `inLocalRemote` (its head read
    /// in place, before a fetch), from the local history otherwise.
    private func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int, inLocalRemote: Bool) throws(ShadowError) -> [UInt8]? {
        if inLocalRemote { return try store.remote().topLevelBlob(name, ofTree: tree, limit: limit) }
        return try store.topLevelBlob(name, ofTree: tree, limit: limit)
    }

    /// The vault id a commit's `vault.json` names, unverified (for telling a wrong key from tampering);
    /// nil when there is none or it cannot be read.
    func vaultID(ofTree tree: ObjectID, inLocalRemote: Bool) -> String? {
        guard let bytes = try? topLevelBlob(VaultDescriptor.fileName, ofTree: tree, limit: VaultDescriptor.limitBytes,
                                            inLocalRemote: inLocalRemote) else { return nil }
        let key = Array("\"vault_id\":\"".utf8), digits = KeySizes.vaultID * 2
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: key) }).map({ $0 + key.count }),
              start + digits <= bytes.count else { return nil }
        let hex = bytes[start..<(start + digits)]
        guard hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Why a commit's signature does not show a writer of this vault made it; nil when it does.
    enum SignatureFault { case unsigned, badSignature, roster(ShadowError), revoked(AdmittedDevice) }

    /// Checks the signature against the read-write devices the commit's own tree admits, and for a
    /// rewrite commit below the tip of its rewritten line, those of the tip's tree (`tipRoster`).
    func signatureFault(_ info: CommitInfo, inLocalRemote: Bool = false, vouchedBy tipRoster: DeviceRoster? = nil) -> SignatureFault? {
        guard info.signature != nil, info.signedData != nil else { return .unsigned }
        let roster: DeviceRoster
        do { roster = try rosters.roster(info.tree, store: store, keys: keys, inLocalRemote: inLocalRemote) } catch {
            return .roster(error)
        }
        guard signer(of: info, in: roster) == nil else { return nil }
        if let tipRoster, CommitMessage.rewriteRecord(info.message) != nil, signer(of: info, in: tipRoster) != nil { return nil }
        if let text = info.signature, let signed = info.signedData, let signature = try? Signatures.parse(text: text),
           let revoked = roster.devices.values.first(where: { !$0.isActive && Signatures.isValid(signature, of: signed, purpose: .commit, publicKey: $0.record.signingPublicKey, vaultID: keys.vaultID) }) {
            return .revoked(revoked)
        }
        return .badSignature
    }

    /// The first commit reachable from `head` and not from `base` that a writer of this vault did not
    /// make, with what is wrong with it; nil when every one is signed by the vault and carries its
    /// metadata. The push guard: commits this machine is about to publish pass the per-commit rules
    /// `verify` applies to fetched history. The tree's shape is not listed again: the signature covers
    /// the tree id and only ShadowSync's committer signs, so re-listing the whole tree at every push
    /// (a third of a one-file sync of 10k files, debug build) could find nothing the signature lets through.
    public func foreignCommit(head: ObjectID, base: ObjectID?) throws(ShadowError) -> (commit: ObjectID, fault: String)? {
        let commits: [ObjectID]
        do { commits = try store.commits(from: head, excluding: base) } catch where error.code == .notFound {
            return (head, "is not a commit of this repository's history")
        }
        let tips = try rewriteTips(commits)
        for id in commits {
            let info = try store.commit(id)
            switch signatureFault(info, vouchedBy: try vouchingRoster(id, tips: tips)) {
            case .unsigned?: return (id, "is not signed")
            case .badSignature?: return (id, "has a signature that does not verify with an admitted device's key (an amended or rewritten commit)")
            case .roster(let error)?: return (id, "holds device records that do not check: \(error.message)")
            case .revoked?: return (id, "is signed by this device after it was revoked")
            case nil: break
            }
            if keys.canDecrypt {
                do { _ = try CommitMessage.parse(info.message, commit: id, keys: try self.keys(at: head)) } catch {
                    return (id, "does not carry ShadowSync metadata")
                }
            }
        }
        return nil
    }

    /// Checks the tree's shape and opens every name record at its own locator.
    public func decryptTree(of commit: ObjectID) throws(ShadowError) -> [PlainPath: VerifiedEntry] {
        let info = try store.commit(commit)
        var names: [Locator: ObjectID] = [:]
        var contents: [Locator: ObjectID] = [:]
        var segments: [Locator: [String: ObjectID]] = [:]
        var sawDescriptor = false
        for entry in try store.entries(ofTree: info.tree) {
            let path = String(decoding: entry.path, as: UTF8.self)
            guard entry.mode == 0o100644, Array(path.utf8) == entry.path else {
                throw ShadowError(.malformedObject, "commit \(commit.short) holds \(PlainPath.render(entry.path)) with mode \(String(entry.mode, radix: 8)): ShadowSync writes only 100644 files")
            }
            if path == VaultDescriptor.fileName {
                try VaultDescriptor.verify(try store.blob(entry.id, limit: VaultDescriptor.limitBytes), keys: keys, commit: commit)
                sawDescriptor = true
                continue
            }
            if DevicePaths.isDevicePath(path) { continue }  // checked with the signature (DeviceRoster)
            if path == ".gitattributes" {
                guard try store.blob(entry.id, limit: 1024) == HistoryVerifier.gitattributes else {
                    throw ShadowError(.malformedObject, "commit \(commit.short) changes .gitattributes: the server tampered with it")
                }
                continue
            }
            guard let (locator, role) = Locator.parse(objectPath: path) else {
                throw ShadowError(.malformedObject, "commit \(commit.short) holds \(PlainPath.render(entry.path)), which is not a ShadowSync object")
            }
            switch role {
            case .name: names[locator] = entry.id
            case .content: contents[locator] = entry.id
            case .segment(let name): segments[locator, default: [:]][name] = entry.id
            }
        }
        guard sawDescriptor else {
            throw ShadowError(.malformedObject, "commit \(commit.short) has no vault.json: it is not a ShadowSync commit, or the server removed it")
        }
        let cipher = try NameCipher(keys: try keys(at: commit))
        var out: [PlainPath: VerifiedEntry] = [:]
        for (locator, nameID) in names {
            let record = try cipher.open(try store.blob(nameID, limit: HistoryVerifier.nameRecordLimitBytes), at: locator)
            let content = contents.removeValue(forKey: locator)
            if case .file = record.kind {
                guard content != nil else {
                    throw ShadowError(.malformedObject, "commit \(commit.short): the content of \(record.path) is missing")
                }
            } else if content != nil {
                throw ShadowError(.malformedObject, "commit \(commit.short): \(record.path) is not a file but has a content object")
            }
            let fileSegments = segments.removeValue(forKey: locator) ?? [:]
            if case .file = record.kind {} else if !fileSegments.isEmpty {
                throw ShadowError(.malformedObject, "commit \(commit.short): \(record.path) is not a file but has segment objects")
            }
            out[record.path] = VerifiedEntry(record: record, locator: locator, nameObject: nameID, contentObject: content,
                                             segments: fileSegments)
        }
        if let orphan = segments.keys.first(where: { contents[$0] == nil }) ?? segments.keys.first {
            throw ShadowError(.malformedObject, "commit \(commit.short) holds segment objects (\(orphan)) without a file that lists them")
        }
        if let orphan = contents.keys.first {
            throw ShadowError(.malformedObject, "commit \(commit.short) holds a content object (\(orphan)) without a name record")
        }
        return out
    }
}
