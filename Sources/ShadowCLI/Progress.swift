import ShadowCore
import Synchronization
import ShadowAgent
import ShadowEngine

/// A progress line on standard error while a commit encrypts many files (a first import): files and
/// bytes done, rate and ETA. Only on a terminal, redrawn at most every `interval` seconds.
final class ProgressLine: Sendable {
    /// Redraws per second a person can follow without the terminal becoming the bottleneck.
    static let interval = 0.25
    /// Fewer files than this finish before a progress line would help.
    static let minimumFiles = 200
    private let lastDraw = Mutex(0.0)

    /// Options that show progress when standard error is a terminal; `base` otherwise unchanged.
    static func options(_ base: SyncOptions = SyncOptions()) -> SyncOptions {
        guard standardErrorIsTerminal else { return base }
        var options = base
        let line = ProgressLine()
        options.onProgress = { line.draw($0) }
        return options
    }

    func draw(_ p: SyncProgress) {
        guard p.totalFiles >= Self.minimumFiles else { return }
        let done = p.files == p.totalFiles
        let now = monotonicSeconds()
        let due = lastDraw.withLock { last in
            guard done || now - last >= Self.interval else { return false }
            last = now
            return true
        }
        guard due else { return }
        var text = "encrypting \(p.files)/\(p.totalFiles) files, \(Self.size(p.bytes)) of \(Self.size(p.totalBytes)), \(Self.size(UInt64(p.bytesPerSecond)))/s"
        if let left = p.secondsLeft, !done { text += ", about \(Int(left.rounded(.up))) s left" }
        var err = StandardError()
        err.write("\r\u{1B}[K" + text + (done ? "\n" : ""))
    }

    /// The daemon's pass this `sync` waits for: its state and, while it encrypts, its progress.
    func draw(_ s: DaemonStatusReply) {
        let now = monotonicSeconds()
        let due = lastDraw.withLock { last in
            guard now - last >= Self.interval else { return false }
            last = now
            return true
        }
        guard due else { return }
        var err = StandardError()
        err.write("\r\u{1B}[Kdaemon: \(s.state)" + (s.progress.map { ", " + Self.describe($0) } ?? ""))
    }

    /// Clears a line drawn by `draw`.
    func finish() {
        guard lastDraw.withLock({ $0 }) > 0 else { return }
        var err = StandardError()
        err.write("\r\u{1B}[K")
    }

    /// A daemon's progress as `status` shows it.
    static func describe(_ p: DaemonStatusReply.Progress) -> String {
        "\(max(0, p.files))/\(max(0, p.totalFiles)) files, \(size(UInt64(max(0, p.bytes)))) of \(size(UInt64(max(0, p.totalBytes)))), "
            + "\(size(UInt64(max(0, p.bytesPerSecond))))/s\(p.secondsLeft.map { ", about \($0) s left" } ?? "")"
    }

    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        let tenths = Int((value * 10).rounded())  // one decimal, as "%.1f" would print it
        return unit == 0 ? "\(bytes) B" : "\(tenths / 10).\(tenths % 10) " + units[unit]
    }
}
