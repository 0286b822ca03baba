public import ShadowCore
import ShadowSystem

/// Files holding secrets (an SSH private key, a passphrase, a password) follow the key file's rule:
/// one that group or others may read is refused, so a leak is noticed instead of used.
public enum SecretFiles {
    /// Throws `.keyFilePermissions` naming `path`, its mode and the fix when group or others may read it.
    /// The mode is the target's (a symlink is followed); a missing file is left for its reader to report.
    public static func requirePrivate(_ path: BytePath, _ what: String) throws(ShadowError) {
        guard let target = try? canonicalPath(path), let mode = try? FileSystem.permissions(of: target) else { return }
        guard mode & groupOrOtherBits == 0 else {
            throw ShadowError(.keyFilePermissions, "\(what) \(path) is accessible by other users (mode \(String(mode, radix: 8)))",
                              advice: "run: chmod 600 \(path)")
        }
    }

    /// Every permission bit of group and others.
    static let groupOrOtherBits: UInt32 = 0o077
}
