public import ShadowCore
public import ShadowEngine
import ShadowSystem

extension Workspace {
    /// `shadowsync resync`: verify the server's history from its root and merge this folder onto it
    /// (`SyncEngine.resync`). Refused while the folder's daemon runs: trusting the server's history
    /// again is a person's one-off decision, never a daemon's pass.
    public func resync(_ path: BytePath?, options: SyncOptions) throws(ShadowError) -> (ResyncReport, PassSummary) {
        let config = try config(path)
        if (try? ControlClient.request(Daemon.socketPath(config), ControlRequest.ping.rawValue)) == "pong" {
            throw ShadowError(.locked, "the folder's daemon holds \(config.folder); resync runs only without it",
                              advice: "stop the daemon ('systemctl --user stop shadowsync@…', or end 'shadowsync run'), run 'shadowsync resync', then start it again")
        }
        let (_, engine) = try open(path)
        let report = try engine.resync(options: options)
        // The alerts were about the history this machine forgot.
        try? ServerAlertFile.save([], config)
        var summary = PassSummary(report.pass)
        if summary.pushed { summary.doorbell = ringAfterPush(config, engine)?.description }
        _ = Workspace.consolidateIfDue(config)
        return (report, summary)
    }
}
