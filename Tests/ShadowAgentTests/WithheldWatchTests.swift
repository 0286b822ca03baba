import Testing
import ShadowCore
@testable import ShadowAgent

/// The rules that turn announced heads into `withheld_commit` alerts, on a clock the test drives.
@Suite struct WithheldWatchTests {
    let head = ObjectID(hex: String(repeating: "ab", count: 20))!
    let other = ObjectID(hex: String(repeating: "cd", count: 20))!
    var pushed: Announcement { Announcement(head: head, device: String(repeating: "12", count: 16), sentAt: 1_800_000_000, source: .pushed) }

    @Test func aHeadMissingFromAFetchStartedAfterTheGraceBecomesAnAlert() {
        var w = WithheldWatch()
        w.heard(pushed, at: 100, known: false)
        #expect(w.nextCheck(grace: 10) == 110)
        // A fetch that started before the grace period ran out (it may have raced the push) proves nothing.
        #expect(w.review(passStarted: 105, grace: 10) { _ in false }.raised.isEmpty)
        w.recheckRequested(now: 110, grace: 10)
        #expect(w.nextCheck(grace: 10) == nil, "one recheck per head")
        let raised = w.review(passStarted: 110, grace: 10) { _ in false }.raised
        #expect(raised.map(\.kind) == ["withheld_commit"])
        #expect(raised.first?.device == "12121212" && raised.first?.since == "2027-01-15T08:00:00Z" && raised.first?.commit == head.hex)
        #expect(raised.first?.message.contains("that device 12121212 pushed at 2027-01-15T08:00:00Z") == true)
        #expect(w.review(passStarted: 200, grace: 10) { _ in false }.raised.isEmpty, "raised once")
        #expect(w.alerts.count == 1 && w.announcedPushes == [pushed.device: 1_800_000_000_000])
        // The server shows it at last: the alert goes.
        let cleared = w.review(passStarted: 300, grace: 10) { $0 == head }.cleared
        #expect(cleared.map(\.commit) == [head.hex] && w.alerts.isEmpty && w.entries.isEmpty)
    }

    @Test func headsAlreadyHereOrFoundInTimeRaiseNothing() {
        var w = WithheldWatch()
        w.heard(pushed, at: 100, known: true)
        #expect(w.entries.isEmpty && w.announcedPushes.count == 1)
        w.heard(Announcement(head: other, device: pushed.device, sentAt: 1, source: .seen), at: 100, known: false)
        #expect(w.announcedPushes[pushed.device] == 1_800_000_000_000, "a head seen is not a push")
        w.drop([other])
        #expect(w.entries.isEmpty)
        w.heard(pushed, at: 100, known: false)
        #expect(w.review(passStarted: 101, grace: 10) { $0 == head } == ([], []))
        #expect(w.entries.isEmpty)
    }

    @Test func alertsOfAnEarlierRunAreKeptUntilTheirCommitArrives() {
        let alert = WithheldWatch.alert(for: pushed)
        var w = WithheldWatch(alerts: [alert])
        #expect(w.alerts == [alert] && w.nextCheck(grace: 10) == nil)
        #expect(w.review(passStarted: 0, grace: 10) { _ in false } == ([], []))
        #expect(w.review(passStarted: 0, grace: 10) { $0 == head }.cleared == [alert])
    }

    /// A device that keeps pushing while the server withholds: one alert for it, naming its newest
    /// head and dated from the first one the server did not show; cleared when the newest arrives.
    @Test func aDeviceThatKeepsPushingHasOneAlert() {
        var w = WithheldWatch()
        w.heard(pushed, at: 100, known: false)
        _ = w.review(passStarted: 110, grace: 10) { _ in false }
        let newer = Announcement(head: other, device: pushed.device, sentAt: pushed.sentAt + 60, source: .pushed)
        w.heard(newer, at: 170, known: false)
        #expect(w.entries.count == 1 && w.alerts.count == 1)
        #expect(w.alerts.first?.commit == other.hex && w.alerts.first?.since == "2027-01-15T08:00:00Z")
        // An older head arriving late changes nothing.
        w.heard(pushed, at: 180, known: false)
        #expect(w.entries.count == 1 && w.alerts.first?.commit == other.hex)
        #expect(w.review(passStarted: 200, grace: 10) { $0 == other }.cleared.count == 1 && w.alerts.isEmpty)
    }
}
