public import ShadowCore
public import ShadowEngine
import ShadowGit
import ShadowSystem

/// `shadowsync forget`: signed history rewrites (FORMAT.md §5.4) and the space they give back.
extension Workspace {
    /// What `forget` would take out of history. Reads only; no lock beyond the folder's own.
    public func planForget(_ path: BytePath?, items: [String]) throws(ShadowError) -> ForgetPlan {
        let (config, engine) = try open(path)
        let paths = try items.map { (item) throws(ShadowError) in try folderRelative(item, folder: config.folder) }
        return try engine.planForget(paths)
    }

    /// What a retention policy would keep and squash.
    public func planRetention(_ path: BytePath?, policy: RetentionPolicy) throws(ShadowError) -> (kept: Int, squashed: Int) {
        let (_, engine) = try open(path)
        let plan = try engine.planRetention(policy, nowMillis: Workspace.nowMillis)
        return (plan.kept.count, plan.squashed.count)
    }

    /// Syncs, rewrites history without `items` (or by `policy`), pushes the rewrite over the server's
    /// head, then drops the replaced objects here and in a local bare remote. Refused while a daemon
    /// holds the folder: a rewrite is a person's one-off decision. Returns the report and what was reclaimed.
    public func forget(_ path: BytePath?, items: [String], policy: RetentionPolicy?) throws(ShadowError) -> (RewriteReport, [String]) {
        let config = try config(path)
        if (try? ControlClient.request(Daemon.socketPath(config), ControlRequest.ping.rawValue)) == "pong" {
            throw ShadowError(.locked, "the folder's daemon holds \(config.folder); forget runs only without it",
                              advice: "stop the daemon ('systemctl --user stop shadowsync@…', or end 'shadowsync run'), run forget, then start it again")
        }
        let (_, engine) = try open(path)
        _ = try engine.sync()
        var report: RewriteReport
        if let policy {
            report = try engine.applyRetention(policy, nowMillis: Workspace.nowMillis)
        } else {
            let paths = try items.map { (item) throws(ShadowError) in try folderRelative(item, folder: config.folder) }
            report = try engine.forget(paths)
        }
        var lines: [String] = []
        if report.head != nil {
            if let head = try? engine.head { _ = DoorbellService.ringOnce(config, keys: engine.readKeys, device: engine.deviceID, head: head) }
            lines = Workspace.reclaim(config, remoteToo: true)
        }
        return (report, lines)
    }

    /// Keeps only what the branches reach in the shadow repository (and, with `remoteToo`, a bare
    /// repository on this machine that is the remote): after a rewrite, the replaced history's objects
    /// leave the disk. Never throws; returns what to print or log.
    static func reclaim(_ config: FolderConfig, remoteToo: Bool) -> [String] {
        var places = [("shadow repository", config.shadow.description + "/.git")]
        if remoteToo, let address = try? RemoteAddress.parse(config.remote), address.kind == .local { places.append(("remote", address.path)) }
        var lines: [String] = []
        for (what, gitDir) in places {
            do throws(ShadowError) {
                guard let done = try ObjectConsolidation.reclaim(gitDir: gitDir) else { continue }
                lines.append("reclaimed the \(what): kept \(done.objects) objects, removed \(done.packsRemoved) pack(s) and \(done.looseRemoved) loose object(s)")
            } catch {
                lines.append("cannot reclaim the space of the \(what) (its files are unchanged): \(error.message)")
            }
        }
        return lines
    }
}
