#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// errno → ShadowError, in one place, with what the user can do about each.
func systemError(_ what: String, _ path: BytePath?, errno code: Int32 = errno) -> ShadowError {
    let reason = String(cString: strerror(code))
    let subject = path.map { "\(what) \($0)" } ?? what
    switch code {
    case ENOSPC, EDQUOT:
        return ShadowError(.diskFull, "\(subject): no space left (\(reason))", advice: "free disk space; nothing was changed and the step will be retried")
    case EACCES, EPERM, EROFS:
        return ShadowError(.permissionDenied, "\(subject): \(reason)", advice: "check the owner and permissions of that path")
    case ENOENT, ENOTDIR:
        return ShadowError(.notFound, "\(subject): \(reason)")
    case EEXIST:
        return ShadowError(.alreadyExists, "\(subject): \(reason)")
    case ELOOP:
        return ShadowError(.invalidPath, "\(subject): is a symbolic link, which is never followed here")
    default:
        return ShadowError(.ioFailure, "\(subject): \(reason) (errno \(code))")
    }
}

/// errno mapping for the layers above, which call the system themselves only where a library needs
/// the descriptor (libgit2's object streams).
public enum SystemError {
    /// The error for the errno the failed call just left, mapped as every other in ShadowSystem.
    public static func last(_ what: String, _ path: BytePath?) -> ShadowError { systemError(what, path) }
}

/// Runs a system call, retrying on EINTR, mapping failure (-1) to a ShadowError.
@discardableResult
func retryingEINTR<T: FixedWidthInteger>(_ what: String, _ path: BytePath?, _ call: () -> T) throws(ShadowError) -> T {
    while true {
        let rc = call()
        if rc != -1 { return rc }
        let e = errno
        if e == EINTR { continue }
        throw systemError(what, path, errno: e)
    }
}
