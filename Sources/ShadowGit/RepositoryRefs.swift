@preconcurrency import Glibc
internal import CGit2
internal import CShims
public import ShadowCore

/// References: read, and moved only from the value the caller expects.
extension GitRepository {
    /// The commit a reference points at, or nil if it does not exist.
    public func reference(_ name: String) throws(ShadowError) -> ObjectID? {
        try GitThread.shared.run { () throws(ShadowError) -> ObjectID? in
            var oid = git_oid()
            let rc = git2.git_reference_name_to_id(&oid, handle, name)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try gitCheck(rc, "cannot read \(name)")
            return ObjectID(oid)
        }
    }

    /// Points `name` at `id`, only if it still points at `expected` (nil: must not exist yet), so two
    /// writers can never silently overwrite each other's ref update.
    public func setReference(_ name: String, to id: ObjectID, expecting expected: ObjectID?) throws(ShadowError) {
        // Objects first, then the ref, each durable before the next step relies on it.
        try flushToDisk()
        defer { try? flushToDisk() }
        CrashPoint.reached("git-ref")
        defer { CrashPoint.reached("git-ref-moved") }
        try GitThread.shared.run { () throws(ShadowError) in
            var oid = id.gitOID
            var ref: OpaquePointer?
            let rc: Int32
            if var old = expected?.gitOID {
                rc = git2.git_reference_create_matching(&ref, handle, name, &oid, 1, &old, "shadowsync")
            } else {
                rc = git2.git_reference_create(&ref, handle, name, &oid, 0, "shadowsync")
            }
            defer { git2.git_reference_free(ref) }
            try gitCheck(rc, "cannot move \(name) to \(id.short)")
        }
    }
}
