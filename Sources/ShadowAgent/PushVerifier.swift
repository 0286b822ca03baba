public import ShadowCore
public import ShadowCrypto
import ShadowEngine
import ShadowGit

/// The check behind Hooks/pre-receive: every update must be a fast-forward of `main` whose new commits
/// are signed by this vault's root key. Needs only a verify-only capability; decrypts nothing.
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
                if let old, try !repository.isDescendant(new, of: old) {
                    return "\(u.ref): \(new.short) does not descend from \(old.short): rewriting history is refused"
                }
                let verified = try HistoryVerifier(keys: keys, store: repository).verify(head: new, lastVerified: old, knownSequences: [:])
                _ = verified
            } catch {
                return "\(u.ref): \(error.message)"
            }
        }
        return nil
    }
}
