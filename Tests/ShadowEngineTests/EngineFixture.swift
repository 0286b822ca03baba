import ShadowCore
import ShadowCrypto
import ShadowSystem
import ShadowGit
@testable import ShadowEngine

/// One machine's engine in process under `dir/name`: its own folder, shadow work tree (a real libgit2
/// repository pointed at `remote`) and state, with an unwrapped key file for `keys` held by a device of its own.
func makeEngine(in dir: BytePath, _ name: String, keys shared: VaultKeys, remote: BytePath) throws -> SyncEngine {
    let keys = try shared.with(device: DeviceKeys.generate())
    let base = dir.appending(name)
    let location = FolderLocation(plain: base.appending("plain"), shadow: base.appending("shadow"), state: base.appending("state"))
    for d in [location.plain, location.shadow, location.state] { try FileSystem.createDirectories(d, mode: 0o700) }
    let repository = try GitRepository.createWorkTree(at: location.shadow)
    try repository.exclude("/" + FolderLocation.keyFileName)
    try repository.setRemote(url: remote.description)
    try VaultStore.create(keys, at: location.keyFile, protection: .none)
    return try SyncEngine(location: location, keys: keys, store: repository)
}
