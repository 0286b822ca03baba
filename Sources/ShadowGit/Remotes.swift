import Synchronization
public import ShadowCore

/// The transports a remote address can name. The one place that chooses: a new transport is its own
/// file (a `Remote`) and one case here.
enum GitRemotes {
    static func remote(for address: RemoteAddress, local: LocalRepository) -> any Remote {
        switch address.kind {
        case .local: LocalBareRemote(address: address, local: local)
        case .ssh: SSHRemote(address: address, local: local)
        }
    }
}

/// The repository a remote fetches into and pushes from, opened through libgit2 only when a step needs
/// it (see DeferredGitStore).
struct LocalRepository: Sendable {
    /// Its git directory, ending in "/".
    let gitDir: String
    /// Whether libgit2 has it open already; then every answer comes from libgit2.
    let isOpen: @Sendable () -> Bool
    let open: @Sendable () throws(ShadowError) -> GitRepository

    init(gitDir: String, isOpen: @escaping @Sendable () -> Bool, open: @escaping @Sendable () throws(ShadowError) -> GitRepository) {
        self.gitDir = gitDir
        self.isOpen = isOpen
        self.open = open
    }

    /// A repository already open.
    init(_ repository: GitRepository) {
        gitDir = repository.path.description + "/.git/"
        isOpen = { true }
        open = { () throws(ShadowError) in repository }
    }
}
