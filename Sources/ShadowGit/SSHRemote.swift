@preconcurrency import Glibc
internal import CGit2
public import ShadowCore

/// A repository on a server, reached over SSH through libgit2 and libssh2 (SSH.swift: keys and host-key
/// checks; StallWatchdog.swift: a stalled connection is cut). Nothing can be read in place: the head is
/// checked once fetched, before the history walk.
public final class SSHRemote: Remote, @unchecked Sendable {
    let address: RemoteAddress
    let local: LocalRepository

    init(address: RemoteAddress, local: LocalRepository) {
        self.address = address
        self.local = local
    }

    public func fetch() throws(ShadowError) -> ObjectID? {
        let (repository, session) = try connection()
        return try repository.fetchOrigin(session)
    }

    public func push(expecting head: ObjectID?) throws(ShadowError) {
        let (repository, session) = try connection()
        CrashPoint.reached("git-push")
        try repository.pushOrigin(session, expecting: head)
    }

    public func push(expecting head: ObjectID, replacing old: ObjectID) throws(ShadowError) {
        let (repository, session) = try connection()
        try repository.pushOrigin(session, expecting: head, replacing: old)
    }

    public func probe() throws(ShadowError) -> ObjectID? {
        let (repository, session) = try connection()
        return try repository.probeOrigin(session)
    }

    public func headBeforeFetch() throws(ShadowError) -> CommitInfo? { nil }

    public func topLevelBlob(_ name: String, ofTree tree: ObjectID, limit: Int) throws(ShadowError) -> [UInt8]? {
        throw ShadowError(.invalidArgument, "the remote \(address.url) is not a local path")
    }

    public func directoryBlobs(_ name: String, ofTree tree: ObjectID, limit: Int, maximumCount: Int) throws(ShadowError) -> DirectoryBlobs? {
        throw ShadowError(.invalidArgument, "the remote \(address.url) is not a local path")
    }

    /// The local repository and a session carrying its SSH settings (which the agent sets on it).
    private func connection() throws(ShadowError) -> (GitRepository, RemoteSession) {
        let repository = try local.open()
        guard let settings = repository.ssh else {
            throw ShadowError(.invalidArgument, "the remote \(address.url) is reached over SSH but no SSH settings were given")
        }
        return (repository, RemoteSession(address: address, settings: settings))
    }

    // MARK: Probing a server without a repository (trust-host)

    /// Connects to `host:port` only far enough to see its host key; nothing is authenticated or sent.
    public static func probeHostKey(host: String, port: Int, user: String) throws(ShadowError) -> HostKey {
        let address = try RemoteAddress.parse("ssh://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/shadowsync-probe")
        return try GitThread.shared.run { () throws(ShadowError) -> HostKey in
            let session = RemoteSession(address: address, settings: nil)
            session.stopAfterHostKey = true
            var remote: OpaquePointer?
            try gitCheck(git2.git_remote_create_detached(&remote, address.url), "cannot describe \(address.url)")
            defer { git2.git_remote_free(remote) }
            var callbacks = git_remote_callbacks()
            _ = git2.git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
            session.install(&callbacks)
            let rc = session.network { git2.git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil) }
            if let key = session.presentedKey { return key }
            throw session.failure(rc < 0 ? rc : GIT_ERROR.rawValue, "cannot read the host key of \(address.knownHostsName)")
        }
    }
}
