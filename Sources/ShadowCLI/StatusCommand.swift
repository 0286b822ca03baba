import ArgumentParser
import FoundationEssentials
import ShadowAgent
import ShadowCore
import ShadowEngine

struct StatusCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What is pending, what was verified, which conflict copies exist.",
                                                    discussion: "Exit status: 0 nothing needs you (pending changes included), 1 the folder needs attention (conflict copies to look at, a needed repair, or the daemon's last pass failed or it is degraded), 2 invalid state or input, 3 transient.")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false

    func run() throws {
        var attention = false
        try reporting { () throws(ShadowError) in
            // A running daemon holds the folder: ask it.
            if let reply = try? Workspace().askDaemon(folder.path, .status) {
                printDaemonStatus(reply, json: json)
                if let s = DaemonStatusReply(reply: reply), !s.conflicts.isEmpty || s.lastError != nil || s.degraded { attention = true }
                return
            }
            let (config, s) = try Workspace().folderStatus(folder.path)
            attention = !s.conflictCopies.isEmpty || s.needsRepair != nil
            if json {
                print(jsonText(FolderStatusJSON(config: config, status: s)))
                return
            }
            print("folder:   \(s.folder)\(s.readOnly ? " (read-only key)" : "")")
            print("remote:   \(config.remote)")
            print("device:   \(s.deviceName.map { "\($0) (\(s.deviceID))" } ?? s.deviceID)")
            print("head:     \(s.head?.short ?? "none")   verified remote: \(s.lastVerified?.short ?? "none")   last seen remote: \(s.remoteHead?.short ?? "none")")
            print(s.pending.isEmpty ? "pending:  nothing" : "pending:  \(s.pending.count) change(s)")
            for p in s.pending { print("  \(p)") }
            if !s.conflictCopies.isEmpty {
                print("conflict copies: \(s.conflictCopies.count)")
                for c in s.conflictCopies { print("  \(c)") }
            }
            if let problem = s.needsRepair {
                print("state:    needs repair: \(problem.message)")
                print("          what to do: \(problem.advice)")
                return
            }
            print(s.inSync ? "state:    in sync" : "state:    not in sync (run 'shadowsync sync')")
        }
        if attention { throw ExitCode(ExitStatus.needsHuman.rawValue) }
    }
}

func printDaemonStatus(_ reply: String, json: Bool) {
    if json { print(reply); return }
    guard let s = DaemonStatusReply(reply: reply) else { print(reply); return }
    print("folder:   \(s.folder)   (daemon pid \(s.pid))")
    print("remote:   \(s.remote)")
    print("state:    \(s.state)\(s.degraded ? "   DEGRADED: \(s.degradedAdvice ?? "never")" : "")")
    print("head:     \(s.head ?? "none")   last push: \(s.lastPush ?? "never")   last fetch: \(s.lastFetch ?? "never")")
    print("watching: \(s.watches) directories; \(s.pendingEvents) event(s) pending; \(s.overflows) overflow(s)")
    if let p = s.progress {
        func size(_ n: Int) -> String { ProgressLine.size(UInt64(max(0, n))) }
        print("progress: \(max(0, p.files))/\(max(0, p.totalFiles)) files, \(size(p.bytes)) of \(size(p.totalBytes)), "
              + "\(size(p.bytesPerSecond))/s\(p.secondsLeft.map { ", about \($0) s left" } ?? "")")
    }
    if !s.conflicts.isEmpty {
        print("conflict copies: \(s.conflicts.count)")
        for c in s.conflicts { print("  \(c)") }
    }
    if let e = s.lastError { print("last error: \(e) (at \(s.lastErrorAt ?? "never"); next try \(s.retryAt ?? "never"))") }
    if let x = s.xmpp {
        print("doorbell: \(x.state) as \(x.jid ?? "never"); \(x.peersOnline) peer(s) online; last sent \(x.lastSent ?? "never"), last received \(x.lastReceived ?? "never")")
        let dropped = x.rejected.byReason.compactMap { $0.count > 0 ? "\($0.count) \($0.reason)" : nil }
        if !dropped.isEmpty { print("          dropped doorbells: \(dropped.joined(separator: ", "))") }
        if let e = x.lastError { print("          \(e)\(x.reconnectAt.map { "; reconnecting at \($0)" } ?? "")") }
    } else {
        print("doorbell: not configured (xmpp.jid): other agents' changes arrive by polling")
    }
}
