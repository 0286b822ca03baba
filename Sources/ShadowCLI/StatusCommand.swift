import ArgumentParser
import FoundationEssentials
import ShadowAgent
import ShadowCore
import ShadowEngine

struct StatusCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What is pending, what was verified, which conflict copies exist.")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            // A running daemon holds the folder: ask it.
            if let reply = try? Workspace().askDaemon(folder.path, "status") {
                printDaemonStatus(reply, json: json)
                return
            }
            let (config, s) = try Workspace().folderStatus(folder.path)
            if json {
                print(JSON.object([
                    ("folder", .string(s.folder)), ("remote", .string(config.remote)), ("device", .string(s.deviceID)),
                    ("read_only", .bool(s.readOnly)), ("in_sync", .bool(s.inSync)),
                    ("head", s.head.map { .string($0.hex) } ?? .null),
                    ("last_verified", s.lastVerified.map { .string($0.hex) } ?? .null),
                    ("remote_head", s.remoteHead.map { .string($0.hex) } ?? .null),
                    ("pending", .array(s.pending.map { .string($0) })),
                    ("conflict_copies", .array(s.conflictCopies.map { .string($0) })),
                    ("sequence", .number(Double(s.sequence))),
                    ("needs_repair", s.needsRepair.map { .string($0.message) } ?? .null),
                ]).text)
                return
            }
            print("folder:   \(s.folder)\(s.readOnly ? " (read-only key)" : "")")
            print("remote:   \(config.remote)")
            print("device:   \(s.deviceID)")
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
    }
}

func printDaemonStatus(_ reply: String, json: Bool) {
    if json { print(reply); return }
    guard let o = try? JSONDecoder().decode(JSON.self, from: Data(reply.utf8)), case .object = o else { print(reply); return }
    func v(_ k: String) -> String { o[k]?.plain ?? "never" }
    print("folder:   \(v("folder"))   (daemon pid \(v("pid")))")
    print("remote:   \(v("remote"))")
    print("state:    \(v("state"))\(o["degraded"]?.bool == true ? "   DEGRADED: \(v("degraded_advice"))" : "")")
    print("head:     \(o["head"]?.plain ?? "none")   last push: \(v("last_push"))   last fetch: \(v("last_fetch"))")
    print("watching: \(v("watches")) directories; \(v("pending_events")) event(s) pending; \(v("overflows")) overflow(s)")
    if let p = o["progress"] {
        func n(_ k: String) -> UInt64 { p[k]?.number.map { UInt64(max(0, $0)) } ?? 0 }
        print("progress: \(n("files"))/\(n("total_files")) files, \(ProgressLine.size(n("bytes"))) of \(ProgressLine.size(n("total_bytes"))), "
              + "\(ProgressLine.size(n("bytes_per_second")))/s\(p["seconds_left"].map { ", about \($0.plain) s left" } ?? "")")
    }
    if case .array(let conflicts)? = o["conflicts"], !conflicts.isEmpty {
        print("conflict copies: \(conflicts.count)")
        for c in conflicts { print("  \(c.plain)") }
    }
    if let e = o["last_error"] { print("last error: \(e.plain) (at \(v("last_error_at")); next try \(v("retry_at")))") }
    if let x = o["xmpp"] {
        func w(_ k: String) -> String { x[k]?.plain ?? "never" }
        print("doorbell: \(w("state")) as \(w("jid")); \(w("peers_online")) peer(s) online; last sent \(w("last_sent")), last received \(w("last_received"))")
        if case .object(let r)? = x["rejected"] {
            let dropped = r.compactMap { k, n in (n.number ?? 0) > 0 ? "\(n.plain) \(k)" : nil }
            if !dropped.isEmpty { print("          dropped doorbells: \(dropped.joined(separator: ", "))") }
        }
        if let e = x["last_error"] { print("          \(e.plain)\(x["reconnect_at"].map { "; reconnecting at \($0.plain)" } ?? "")") }
    } else {
        print("doorbell: not configured (xmpp.jid): other agents' changes arrive by polling")
    }
}
