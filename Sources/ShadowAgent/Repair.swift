public import ShadowCore
public import ShadowEngine

extension Workspace {
    /// `shadowsync repair`: the shadow repository back on the last commit ShadowSync made, after git was
    /// run there by hand. The folder itself is not touched; the next sync commits and pushes it.
    public func repair(_ path: BytePath?) throws(ShadowError) -> (FolderConfig, RepairReport) {
        let (config, engine) = try open(path)
        return (config, try engine.repair())
    }
}
