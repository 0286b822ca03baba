public import ShadowCore
public import ShadowCrypto

/// One entry of a verified remote tree, decrypted: the name record and where its objects are.
public struct VerifiedEntry: Equatable, Sendable {
    public let record: NameRecord
    public let locator: Locator
    public let nameObject: ObjectID
    /// The content object's blob (regular files only).
    public let contentObject: ObjectID?
}

/// What a verified fetch yields: the head, the decrypted tree, and the per-device sequence numbers seen.
public struct VerifiedHistory: Sendable {
    public let head: ObjectID
    public let entries: [PlainPath: VerifiedEntry]
    public let deviceSequences: [String: UInt64]
    public let newCommits: Int
}

/// Checks everything the server sent before a byte of plaintext is touched (DESIGN.md rule 5):
/// the new head descends from the last verified head, every new commit is signed by the vault's root
/// key and carries metadata whose per-device sequence increases, and the tree holds only well-formed
/// ShadowSync objects whose name records authenticate at their own locators.
public struct HistoryVerifier {
    let keys: VaultKeys
    let store: VersionStore

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
        if let lastVerified {
            let descends: Bool
            do { descends = try store.isDescendant(head, of: lastVerified) } catch where error.code == .notFound || error.code == .repositoryFailure {
                descends = false
            }
            guard descends else {
                throw ShadowError(.historyRewritten,
                                  "the server's branch (\(head.short)) does not contain commit \(lastVerified.short), which this machine verified before: the server rolled back or rewrote history",
                                  advice: "nothing was changed locally; check the server, or push this machine's copy back with 'shadowsync sync' after restoring the repository")
            }
        }
        var sequences = knownSequences
        let fresh = try store.commits(from: head, excluding: lastVerified)
        for id in fresh {
            let info = try store.commit(id)
            switch signatureFault(info) {
            case .unsigned?:
                throw ShadowError(.signatureInvalid, "commit \(id.short) is not signed: it was not made by a ShadowSync writer of this vault (plain git push, or a server injecting commits)",
                                  advice: "nothing was changed locally; remove the commit on the server or restore the repository")
            case .badSignature?:
                throw ShadowError(.signatureInvalid, "commit \(id.short) has a signature that does not verify with this vault's root key: it was tampered with, or made by a read-only member or another vault",
                                  advice: "nothing was changed locally; remove the commit on the server or restore the repository")
            case nil: break
            }
            if keys.canDecrypt {
                let meta = try CommitMessage.parse(info.message, commit: id, keys: keys)
                let device = hexString(meta.deviceID)
                if let seen = sequences[device], meta.sequence <= seen {
                    throw ShadowError(.replayedCommit, "commit \(id.short) repeats sequence \(meta.sequence) of device \(device.prefix(8)) (already at \(seen)): the server replayed an old commit",
                                      advice: "nothing was changed locally; restore the repository on the server")
                }
                sequences[device] = meta.sequence
            }
        }
        let entries = keys.canDecrypt ? try decryptTree(of: head) : [:]
        return VerifiedHistory(head: head, entries: entries, deviceSequences: sequences, newCommits: fresh.count)
    }

    /// Why a commit's signature does not show a writer of this vault made it; nil when it does.
    enum SignatureFault { case unsigned, badSignature }

    func signatureFault(_ info: CommitInfo) -> SignatureFault? {
        guard let signatureText = info.signature, let signed = info.signedData else { return .unsigned }
        do {
            try Signatures.verify(try Signatures.parse(text: signatureText), of: signed, purpose: .commit, keys: keys)
        } catch {
            return .badSignature
        }
        return nil
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
        for id in commits {
            let info = try store.commit(id)
            switch signatureFault(info) {
            case .unsigned?: return (id, "is not signed")
            case .badSignature?: return (id, "has a signature that does not verify (an amended or rewritten commit)")
            case nil: break
            }
            if keys.canDecrypt {
                do { _ = try CommitMessage.parse(info.message, commit: id, keys: keys) } catch {
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
        var sawDescriptor = false
        for entry in try store.entries(ofTree: info.tree) {
            let path = String(decoding: entry.path, as: UTF8.self)
            guard entry.mode == 0o100644, Array(path.utf8) == entry.path else {
                throw ShadowError(.malformedObject, "commit \(commit.short) holds \(PlainPath.render(entry.path)) with mode \(String(entry.mode, radix: 8)): ShadowSync writes only 100644 files")
            }
            if path == VaultDescriptor.fileName {
                try VaultDescriptor.verify(try store.blob(entry.id, limit: 4096), keys: keys, commit: commit)
                sawDescriptor = true
                continue
            }
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
            }
        }
        guard sawDescriptor else {
            throw ShadowError(.malformedObject, "commit \(commit.short) has no vault.json: it is not a ShadowSync commit, or the server removed it")
        }
        let cipher = try NameCipher(keys: keys)
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
            out[record.path] = VerifiedEntry(record: record, locator: locator, nameObject: nameID, contentObject: content)
        }
        if let orphan = contents.keys.first {
            throw ShadowError(.malformedObject, "commit \(commit.short) holds a content object (\(orphan)) without a name record")
        }
        return out
    }
}
