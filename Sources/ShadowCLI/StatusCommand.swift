import ArgumentParser
import FoundationEssentials
import ShadowAgent
import ShadowCore
import ShadowEngine

struct StatusCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What is pending, what was verified, which conflict copies exist; every folder when run outside one.",
                                                    discussion: "Outside a synced folder (or with --all) every configured folder is listed. The report is the same with and without a running daemon (--json: Docs/OPERATIONS.md \"Status schema\"); status never waits for the folder's lock. A running daemon answers for its folder (no key, no scan, its pass's phase and transfer under 'progress'); without one, the list of every folder never asks for a passphrase: a key only a terminal could unlock is shown as 'key locked'. Exit status: 0 nothing needs you (pending changes included), 1 a folder needs attention (conflict copies to look at, a needed repair, a server alert, or the daemon's last pass failed or it is degraded), 2 invalid state or input, 3 transient.")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "List every configured folder, even inside one.") var all = false
    @Flag(name: .long, help: "Machine-readable output (one schema with and without a daemon).") var json = false

    func validate() throws {
        if all && folder.folder != nil { throw ValidationError("--all and --folder exclude each other") }
    }

    func run() throws {
        var attention = false
        try reporting { () throws(ShadowError) in
            let workspace = try Workspace()
            // Outside every folder, and with no --folder: the list of all of them.
            let listAll = all || (folder.path == nil && !workspace.currentDirectoryIsInAFolder())
            if listAll {
                let reports = try workspace.statusReports()
                attention = reports.contains { $0.attention }
                if json { print(StatusList(folders: reports).json); return }
                printFolderList(reports)
                return
            }
            let report = try workspace.statusReport(folder.path)
            attention = report.attention
            if json { print(report.json); return }
            printStatus(report)
        }
        if attention { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}

/// One line per folder, then how to see one in full.
func printFolderList(_ reports: [StatusReport]) {
    guard !reports.isEmpty else {
        print("no synced folders on this machine (set one up with 'shadowsync init' or 'shadowsync join')")
        return
    }
    for r in reports {
        var summary: String
        if let e = r.error {
            summary = "cannot read: \(e)"
        } else {
            var parts = [r.running ? "daemon \(r.state)" : "no daemon"]
            if r.needsRepair != nil { parts.append("NEEDS REPAIR") } else if r.unfinished != nil { parts.append("unfinished: run 'shadowsync sync'") }
            else if r.keyLocked { parts.append("key locked: pending changes unknown") }
            else { parts.append(r.inSync ? "in sync" : "not in sync") }
            if let p = r.progress { parts.append(ProgressLine.describe(p)) }
            if !r.pending.isEmpty { parts.append("\(r.pending.count) pending") }
            if !r.conflictCopies.isEmpty { parts.append("\(r.conflictCopies.count) conflict cop\(r.conflictCopies.count == 1 ? "y" : "ies")") }
            if !r.alerts.isEmpty { parts.append("\(r.alerts.count) ALERT(S)") }
            if r.lastError != nil { parts.append("last pass failed") }
            parts.append("head \(r.head.map { String($0.prefix(12)) } ?? "none")")
            summary = parts.joined(separator: ", ")
        }
        print("\(r.attention ? "!" : " ") \(r.folder)  \(summary)")
    }
    print("details: shadowsync status --folder DIR")
}

func printStatus(_ s: StatusReport) {
    print("folder:   \(s.folder)\(s.readOnly ? " (read-only key)" : "")\(s.pid.map { "   (daemon pid \($0))" } ?? "")")
    print("remote:   \(s.remote)")
    print("device:   \(s.deviceName.map { "\($0) (\(s.device))" } ?? s.device)")
    print("head:     \(s.head.map { String($0.prefix(12)) } ?? "none")   verified remote: \(s.lastVerified.map { String($0.prefix(12)) } ?? "none")   last seen remote: \(s.remoteHead.map { String($0.prefix(12)) } ?? "none")")
    if s.keyLocked {
        print("pending:  unknown (key locked: the key file needs a passphrase; run 'shadowsync status' in the folder on a terminal, or give it a passphrase-file)")
    } else {
        print(s.pending.isEmpty ? "pending:  nothing" : "pending:  \(s.pending.count) change(s)")
    }
    for p in s.pending { print("  \(p)") }
    if !s.conflictCopies.isEmpty {
        print("conflict copies: \(s.conflictCopies.count)")
        for c in s.conflictCopies { print("  \(c)") }
    }
    printDevices(s.devices)
    printAlerts(s.alerts)
    if s.running {
        print("daemon:   \(s.state)\(s.degraded == true ? "   DEGRADED: \(s.degradedAdvice ?? "")" : "")   last push: \(s.lastPush ?? "never")   last fetch: \(s.lastFetch ?? "never")")
        print("watching: \(s.watches ?? 0) directories; \(s.pendingEvents ?? 0) event(s) pending; \(s.overflows ?? 0) overflow(s)")
        if let p = s.progress { print("progress: \(ProgressLine.describe(p))") }
        if let e = s.lastError { print("last error: \(e) (at \(s.lastErrorAt ?? "never"); next try \(s.retryAt ?? "at the next change, poll or 'shadowsync resume'"))") }
        if let x = s.xmpp {
            print("doorbell: \(x.state) as \(x.jid ?? "never"); \(x.peersOnline) peer(s) online; last sent \(x.lastSent ?? "never"), last received \(x.lastReceived ?? "never")")
            let dropped = x.rejected.byReason.compactMap { $0.count > 0 ? "\($0.count) \($0.reason)" : nil }
            if !dropped.isEmpty { print("          dropped doorbells: \(dropped.joined(separator: ", "))") }
            if let e = x.lastError { print("          \(e)\(x.reconnectAt.map { "; reconnecting at \($0)" } ?? "")") }
        } else {
            print("doorbell: not configured (xmpp.jid): other agents' changes arrive by polling")
        }
    } else {
        print("daemon:   not running (start one with 'shadowsync run', or see Docs/OPERATIONS.md for systemd)")
    }
    if let problem = s.needsRepair {
        print("state:    needs repair: \(problem)")
        print("          what to do: \(s.needsRepairAdvice ?? "run 'shadowsync repair'")")
        return
    }
    if let unfinished = s.unfinished {
        print("state:    \(unfinished)")
        print("          what to do: run 'shadowsync sync --folder \(s.folder)' to finish")
        return
    }
    print(s.inSync ? "state:    in sync" : "state:    not in sync (run 'shadowsync sync')")
}

/// One line per known device: when it last pushed.
func printDevices(_ devices: [DevicePush]) {
    guard !devices.isEmpty else { return }
    print("devices:  " + devices.map { "\($0.device)\($0.thisDevice ? " (this machine)" : "") last pushed \($0.lastPush)" }.joined(separator: "\n          "))
}

/// Alerts first name what the server did, then what to do.
func printAlerts(_ alerts: [ServerAlert]) {
    for a in alerts {
        print("ALERT:    \(a.message)")
        print("          what to do: \(a.advice)")
    }
}
