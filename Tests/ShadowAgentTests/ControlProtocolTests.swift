import Foundation
import Testing
import ShadowCore
@testable import ShadowAgent
@testable import ShadowEngine

/// The daemon's status reply is what `status --json` prints and scripts read (Docs/OPERATIONS.md):
/// compact, keys sorted, a nil member left out, and it reads back to the same value.
@Suite struct ControlProtocolTests {
    func reply(doorbell: Bool) -> DaemonStatusReply {
        DaemonStatusReply(
            pid: 4242, folder: "/home/me/notes", remote: "ssh://me@host/srv/notes.git", state: "idle \"quoted\"\n",
            paused: false, degraded: false, degradedAdvice: nil, watches: 12, overflows: 0, pendingEvents: 3, passes: 7,
            commits: 2, conflicts: ["a.sync-conflict-20261123-101010-abcd.txt"], events: 40,
            progress: .init(phase: "pushing", phaseSeconds: 3, files: 5, totalFiles: 10, bytes: 1024, totalBytes: 4096, bytesPerSecond: 512, secondsLeft: nil,
                            transfer: .init(direction: "sent", bytes: 2048, objects: 2, totalObjects: 4, bytesPerSecond: 682, secondsLeft: 3)),
            head: nil, lastPush: "2026-11-23T12:00:00Z", lastFetch: nil, lastError: nil, lastErrorAt: nil, retryAt: nil,
            xmpp: doorbell ? .init(state: "online", connected: true, peersOnline: 1, connects: 2, doorbellsSent: 3, doorbellsReceived: 4,
                                   accepted: 4, alreadyKnown: 0,
                                   rejected: .init(forged: 2, replayed: 0, stale: 0, otherFolder: 1, malformed: 0, own: 0),
                                   jid: "me@example.org", lastError: nil, lastSent: nil, lastReceived: nil, reconnectAt: nil) : nil,
            alerts: [ServerAlert(kind: "withheld_commit", message: "m", advice: "a", device: "0a0b0c0d", since: "2026-11-23T11:00:00Z", commit: "c1")],
            devices: [DevicePush(device: "0a0b0c0d", lastPush: "2026-11-23T11:00:00Z", thisDevice: false)])
    }

    @Test func statusReplyIsCompactSortedAndReadsBack() throws {
        let text = jsonText(reply(doorbell: true))
        #expect(text == #"{"alerts":[{"advice":"a","commit":"c1","device":"0a0b0c0d","kind":"withheld_commit","message":"m","since":"2026-11-23T11:00:00Z"}],"#
            + #""commits":2,"conflicts":["a.sync-conflict-20261123-101010-abcd.txt"],"degraded":false,"#
            + #""devices":[{"device":"0a0b0c0d","last_push":"2026-11-23T11:00:00Z","this_device":false}],"events":40,"#
            + #""folder":"/home/me/notes","last_push":"2026-11-23T12:00:00Z","overflows":0,"passes":7,"paused":false,"pending_events":3,"#
            + #""pid":4242,"progress":{"bytes":1024,"bytes_per_second":512,"files":5,"phase":"pushing","phase_seconds":3,"seconds_left":null,"#
            + #""total_bytes":4096,"total_files":10,"#
            + #""transfer":{"bytes":2048,"bytes_per_second":682,"direction":"sent","objects":2,"seconds_left":3,"total_objects":4}},"#
            + #""remote":"ssh://me@host/srv/notes.git","state":"idle \"quoted\"\n","watches":12,"#
            + #""xmpp":{"accepted":4,"already_known":0,"connected":true,"connects":2,"doorbells_received":4,"doorbells_sent":3,"#
            + #""jid":"me@example.org","peers_online":1,"rejected":{"forged":2,"malformed":0,"other_folder":1,"own":0,"replayed":0,"stale":0},"#
            + #""state":"online"}}"#)
        let read = try #require(DaemonStatusReply(reply: text))
        #expect(jsonText(read) == text)
        #expect(read.xmpp?.rejected.byReason.filter { $0.count > 0 }.map(\.reason) == ["forged", "other_folder"])
    }

    @Test func withoutDoorbellTheMemberIsLeftOut() throws {
        let text = jsonText(reply(doorbell: false))
        #expect(!text.contains("xmpp") && !text.contains("\"head\""))
        #expect(DaemonStatusReply(reply: text)?.xmpp == nil)
    }

    @Test func anythingElseIsNotAStatus() {
        #expect(DaemonStatusReply(reply: "{\"error\": \"unknown request\"}") == nil)
        #expect(DaemonStatusReply(reply: "pong") == nil)
    }

    @Test func requestsAreTheWordsOnTheWire() {
        #expect(ControlRequest(rawValue: "status") == .status)
        #expect([ControlRequest.ping, .pause, .resume, .status].map(\.rawValue) == ["ping", "pause", "resume", "status"])
        #expect([ControlRequest.sync, .syncAllowingMassDelete, .lastPass].map(\.rawValue) == ["sync", "sync allow-mass-delete", "last-pass"])
    }

    /// A pass's result reads back as the daemon wrote it; a failed one carries its error, and exit status, along.
    @Test func passSummariesReadBack() throws {
        let failed = PassSummary(failed: ShadowError(.guardTripped, "14 of 14 files vanished", advice: "--allow-mass-delete"), pass: 4)
        let text = jsonText(failed)
        #expect(text.contains("\"pass\":4") && text.contains("\"retry_later\":[]"), "\(text)")
        let read = try JSONDecoder().decode(PassSummary.self, from: Data(text.utf8))
        #expect(read.pass == 4 && read.error?.shadowError.code == .guardTripped && read.error?.shadowError.advice == "--allow-mass-delete")
    }
}

/// A daemon's pass as `status` shows it: the commit phase reads `encrypting` until the last file, a
/// fetch or push starts its byte count afresh, and rates count from the phase's start.
@Suite struct PassProgressTests {
    @Test func phasesEncryptionAndTransfersAsStatusShowsThem() throws {
        var p = PassProgress(.scanning, at: 100)
        #expect(p.reply(now: 101).phase == "scanning" && p.reply(now: 101).transfer == nil && p.reply(now: 101).totalFiles == 0)
        p.enter(.committing, at: 102)
        var e = SyncProgress(totalFiles: 10, totalBytes: 1000, startedAt: 0)
        e.files = 4
        e.bytes = 400
        p.encrypted(e, at: 103)
        #expect(p.reply(now: 104).phase == "encrypting" && p.reply(now: 104).phaseSeconds == 1 && p.reply(now: 104).files == 4)
        e.files = 10
        e.bytes = 1000
        p.encrypted(e, at: 105)
        #expect(p.reply(now: 105).phase == "committing" && p.reply(now: 105).bytes == 1000)

        p.enter(.pushing, at: 110)
        p.moved(TransferProgress(.sent, bytes: 3000, objects: 1, totalObjects: 4))
        let t = try #require(p.reply(now: 112).transfer)
        #expect(t.direction == "sent" && t.bytes == 3000 && t.bytesPerSecond == 1500 && t.objects == 1 && t.totalObjects == 4)
        #expect(t.secondsLeft == 6, "a quarter of the objects in 2 s: 6 s left")
        p.enter(.fetching, at: 113)
        #expect(p.reply(now: 113).transfer == nil && p.reply(now: 113).phase == "fetching")
        #expect(p.reply(now: 113).totalFiles == 10, "the commit's encryption stays for the rest of the pass")
    }
}
