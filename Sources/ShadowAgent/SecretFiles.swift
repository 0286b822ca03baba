public import ShadowCore
import ShadowSystem
import Synchronization

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

extension SecretFiles {
    /// The folder's secret files that group or others may read, as warnings (what, path, mode, the fix).
    /// Commands that never read them still say so, so a leak is noticed before the day it is refused.
    static func openFileWarnings(_ config: FolderConfig) -> [String] {
        let secrets: [(ConfigKey, String)] = [(.passphraseFile, "the passphrase file"), (.sshKey, "the SSH key"),
                                              (.sshKeyPassphraseFile, "the SSH key's passphrase file"),
                                              (.xmppPasswordFile, "the XMPP password file"), (.xmppRoomPasswordFile, "the XMPP room password file")]
        return secrets.compactMap { key, what in
            guard let path = config.path(key) else { return nil }
            do throws(ShadowError) { try requirePrivate(path, what); return nil } catch {
                return "\(error.message) (\(key.rawValue) of \(config.folder)); it will be refused when needed — \(error.advice)"
            }
        }
    }
}

/// Warnings for the person at the command line (standard error), each said once per process. The
/// command line sets the handler; without one (the daemon, tests) they are dropped.
public enum Warnings {
    private static let handler = Mutex<(@Sendable (String) -> Void)?>(nil)
    private static let said = Mutex<Set<String>>([])

    public static func setHandler(_ handler: @escaping @Sendable (String) -> Void) { self.handler.withLock { $0 = handler } }

    static func emit(_ text: String) {
        guard said.withLock({ $0.insert(text).inserted }), let handler = handler.withLock({ $0 }) else { return }
        handler(text)
    }
}
