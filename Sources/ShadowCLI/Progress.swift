import ShadowCore
import Synchronization
import ShadowAgent
import ShadowEngine

/// One line on standard error, redrawn in place, while a pass runs on a terminal: its phase (scanning,
/// encrypting with files and bytes done, rate and time left, committing, fetching, applying, pushing)
/// and how long it has taken; cleared when the pass ends. Redrawn at most every `interval` seconds
/// except at a change of phase.
final class ProgressLine: Sendable {
    /// Redraws per second a person can follow without the terminal becoming the bottleneck.
    static let interval = 0.25
    /// Fewer files than this finish encrypting before a file count would help.
    static let minimumFiles = 200

    private struct State {
        var lastDraw = 0.0
        var drawn = false
        var phase: String?
        /// When the fetch or push phase began (rate of the bytes moved).
        var transferStartedAt: Double?
    }
    private let state = Mutex(State())
    private let startedAt = monotonicSeconds()

    /// Options that draw the line when standard error is a terminal; `base` otherwise unchanged.
    func attach(_ base: SyncOptions) -> SyncOptions {
        guard standardErrorIsTerminal else { return base }
        var options = base
        options.onPhase = { [self] in phase($0) }
        options.onProgress = { [self] in draw($0) }
        options.onTransfer = { [self] in moved($0) }
        return options
    }

    /// A new phase: shown at once.
    func phase(_ phase: SyncPhase) {
        let name = phase == .committing ? "committing (encrypting changed files)" : phase.rawValue
        state.withLock { $0.phase = name; $0.transferStartedAt = phase == .pushing || phase == .fetching ? monotonicSeconds() : nil }
        show(name, force: true)
    }

    /// Bytes a fetch received or a push sent so far, with the rate since the phase began.
    func moved(_ t: TransferProgress) {
        let started = state.withLock { $0.transferStartedAt } ?? monotonicSeconds()
        let seconds = max(monotonicSeconds() - started, 0.001)
        let rate = Self.size(UInt64(Double(t.bytes) / seconds))
        let objects = t.totalObjects > 0 ? ", \(t.objects)/\(t.totalObjects) objects" : ""
        // The last report is always drawn: a quick local push shows at least what it wrote.
        let done = t.totalObjects > 0 && t.objects == t.totalObjects
        show(t.direction == .sent ? "pushing: \(Self.size(t.bytes)) sent, \(rate)/s\(objects)" : "fetching: \(Self.size(t.bytes)) received, \(rate)/s\(objects)",
             force: done)
    }

    func draw(_ p: SyncProgress) {
        guard p.totalFiles >= Self.minimumFiles else { return }
        let done = p.files == p.totalFiles
        if done {
            // Encrypted: the tree and the commit are written next, until the next phase.
            state.withLock { $0.phase = "committing" }
            show("encrypted \(p.totalFiles) files (\(Self.size(p.totalBytes))); committing", force: true)
            return
        }
        var text = "encrypting \(p.files)/\(p.totalFiles) files, \(Self.size(p.bytes)) of \(Self.size(p.totalBytes)), \(Self.size(UInt64(p.bytesPerSecond)))/s"
        if let left = p.secondsLeft { text += ", about \(Int(left.rounded(.up))) s left" }
        show(text, force: false)
    }

    /// The daemon's pass this `sync` waits for: its state and, while it encrypts, its progress.
    func draw(_ s: DaemonStatusReply) {
        show("daemon: " + (s.progress.map(Self.describe) ?? s.state), force: false)
    }

    private func show(_ text: String, force: Bool) {
        let now = monotonicSeconds()
        let due = state.withLock { s in
            guard force || now - s.lastDraw >= Self.interval else { return false }
            s.lastDraw = now
            s.drawn = true
            return true
        }
        guard due else { return }
        var err = StandardError()
        err.write("\r\u{1B}[K\(text) (\(Int(now - startedAt)) s)")
    }

    /// Clears the line, if one was drawn.
    func finish() {
        guard state.withLock({ $0.drawn }) else { return }
        var err = StandardError()
        err.write("\r\u{1B}[K")
    }

    /// A daemon's progress as `status` shows it: the phase, the commit's encryption once it has begun,
    /// and the fetch or push under way.
    static func describe(_ p: DaemonStatusReply.Progress) -> String {
        var parts = ["\(p.phase ?? "encrypting")\(p.phaseSeconds.map { " for \($0) s" } ?? "")"]
        if p.totalFiles > 0 {
            var e = "encrypted \(max(0, p.files))/\(max(0, p.totalFiles)) files, \(size(UInt64(max(0, p.bytes)))) of \(size(UInt64(max(0, p.totalBytes))))"
            if p.files < p.totalFiles {
                e += ", \(size(UInt64(max(0, p.bytesPerSecond))))/s\(p.secondsLeft.map { ", about \($0) s left" } ?? "")"
            }
            parts.append(e)
        }
        if let t = p.transfer {
            var m = "\(size(UInt64(max(0, t.bytes)))) \(t.direction), \(size(UInt64(max(0, t.bytesPerSecond))))/s"
            if t.totalObjects > 0 { m += ", \(t.objects)/\(t.totalObjects) objects" }
            if let left = t.secondsLeft { m += ", about \(left) s left" }
            parts.append(m)
        }
        return parts.joined(separator: "; ")
    }

    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        let tenths = Int((value * 10).rounded())  // one decimal, as "%.1f" would print it
        return unit == 0 ? "\(bytes) B" : "\(tenths / 10).\(tenths % 10) " + units[unit]
    }
}
