import ShadowCore
import ShadowGit

/// Keeping a folder's repositories packed, as `git gc --auto` keeps a user's: without it every sync
/// pays for the packs and loose objects the earlier ones left (Docs/BENCHMARKS.md, `bench-history.sh`).
extension Workspace {
    /// Consolidates the folder's shadow repository and, when the remote is a bare repository on this
    /// machine, the remote too, each only when `ObjectConsolidation.Limits` are passed. An SSH server's
    /// own git packs its repository (Docs/OPERATIONS.md). Never throws: a consolidation that fails
    /// leaves every old file in place, and the next one tries again. Returns what to log.
    static func consolidateIfDue(_ config: FolderConfig) -> [String] {
        var places = [("shadow repository", config.shadow.description + "/.git")]
        if let address = try? RemoteAddress.parse(config.remote), address.kind == .local { places.append(("remote", address.path)) }
        var lines: [String] = []
        for (what, gitDir) in places {
            let started = monotonicSeconds()
            do throws(ShadowError) {
                guard let done = try ObjectConsolidation.consolidateIfDue(gitDir: gitDir) else { continue }
                let ms = Int((monotonicSeconds() - started) * 1000)
                lines.append("consolidated the \(what): \(done.objects) objects from \(done.packsBefore) pack(s) and \(done.looseBefore) loose object(s) into one pack in \(ms) ms")
            } catch {
                lines.append("cannot consolidate the \(what) (its files are unchanged; the next pass tries again): \(error.message)")
            }
        }
        return lines
    }
}
