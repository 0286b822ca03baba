public import ShadowCore
public import ShadowCrypto
import ShadowEngine
import ShadowGit

/// The check behind Hooks/pre-receive: every update of `main` must be a fast-forward whose new commits
/// a writer of this vault signed, or a rewrite a writer signed that names the head it replaces
/// (FORMAT.md §5.4). Needs only a verify-only capability; decrypts nothing.
public enum PushVerifier {
    /// One line of a pre-receive hook's standard input: `<old> <new> <ref>`.
    public struct Update: Sendable {
        public let old: String
        public let new: String
        public let ref: String
    }

    public static func parse(_ text: String) throws(ShadowError) -> [Update] {
        var out: [Update] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let f = line.split(separator: " ")
            guard f.count == 3 else { throw ShadowError(.invalidArgument, "expected '<old> <new> <ref>' lines on standard input, got '\(line)'") }
            out.append(Update(old: String(f[0]), new: String(f[1]), ref: String(f[2])))
        }
        return out
    }

    /// Nil when every update is acceptable, else why the push must be refused.
    public static func check(_ updates: [Update], keys: VaultKeys) -> String? {
        let zero = String(repeating: "0", count: 40)
        let repository: GitRepository
        do { repository = try GitRepository.openFromEnvironment() } catch { return error.message }
        for u in updates {
            guard u.ref == ShadowRefs.main else { return "\(u.ref): only \(ShadowRefs.main) may be pushed to a ShadowSync repository" }
            guard u.new != zero else { return "\(u.ref): deleting the branch is refused" }
            guard let new = ObjectID(hex: u.new) else { return "\(u.ref): '\(u.new)' is not a commit id" }
            let old = u.old == zero ? nil : ObjectID(hex: u.old)
            do {
                let verifier = HistoryVerifier(keys: keys, store: repository)
                if let old, try !repository.isDescendant(new, of: old) {
                    // Only a rewrite a writer signed, naming the head it replaces, passes (FORMAT.md §5.4).
                    do { _ = try verifier.verifyReplacement(new: new, old: old) } catch where error.code == .historyRewritten {
                        return "\(u.ref): \(new.short) does not descend from \(old.short) and no rewrite a writer of this vault signed names it: rewriting history is refused"
                    }
                } else {
                    _ = try verifier.verify(head: new, lastVerified: old, knownSequences: [:])
                }
            } catch {
                return "\(u.ref): \(error.message)"
            }
        }
        return nil
    }
}
