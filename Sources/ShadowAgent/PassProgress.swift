import ShadowCore
import ShadowEngine

/// What a daemon's pass is doing now, for `status` and the web interface: its phase and, while it
/// encrypts or moves bytes, how far it has got. Nil between passes.
struct PassProgress: Sendable {
    /// `scanning`, `encrypting`, `committing`, `fetching`, `applying` or `pushing`.
    var phase: String
    /// Monotonic seconds when the phase began.
    var phaseStartedAt: Double
    /// The commit's encryption, once it has begun in this pass.
    var encryption: SyncProgress?
    /// The fetch or push under way, once it has moved something.
    var transfer: TransferProgress?

    init(_ phase: SyncPhase, at now: Double) {
        self.phase = phase.rawValue
        phaseStartedAt = now
    }

    /// A new step of the pass: a fetch or push starts its byte count afresh.
    mutating func enter(_ phase: SyncPhase, at now: Double) {
        self.phase = phase.rawValue
        phaseStartedAt = now
        transfer = nil
    }

    /// Files encrypted so far: the commit phase is `encrypting` until the last one, then `committing`
    /// (the tree and the commit are written).
    mutating func encrypted(_ p: SyncProgress, at now: Double) {
        let name = p.files < p.totalFiles ? "encrypting" : SyncPhase.committing.rawValue
        if name != phase { phase = name; phaseStartedAt = now }
        encryption = p
    }

    mutating func moved(_ t: TransferProgress) { transfer = t }

    /// The reply's form of it, with rates since the phase began.
    func reply(now: Double) -> DaemonStatusReply.Progress {
        let e = encryption
        let seconds = max(0, now - phaseStartedAt)
        return DaemonStatusReply.Progress(
            phase: phase, phaseSeconds: Int(seconds),
            files: e?.files ?? 0, totalFiles: e?.totalFiles ?? 0, bytes: Int(e?.bytes ?? 0), totalBytes: Int(e?.totalBytes ?? 0),
            bytesPerSecond: Int(e?.bytesPerSecond ?? 0), secondsLeft: e?.secondsLeft.map { Int($0.rounded(.up)) },
            transfer: transfer.map { t in
                let rate = seconds > 0 ? Double(t.bytes) / seconds : 0
                // The share of objects moved is the only measure of the whole a transport gives before the end.
                let share = t.totalObjects > 0 ? Double(t.objects) / Double(t.totalObjects) : 0
                let left = share > 0 && share < 1 ? seconds * (1 - share) / share : nil
                return DaemonStatusReply.Progress.Transfer(direction: t.direction.rawValue, bytes: Int(t.bytes), objects: t.objects,
                                                           totalObjects: t.totalObjects, bytesPerSecond: Int(rate),
                                                           secondsLeft: left.map { Int($0.rounded(.up)) })
            })
    }
}
