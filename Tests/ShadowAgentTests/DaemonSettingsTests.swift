import Foundation
import Testing
@testable import ShadowAgent
import ShadowCore
import Synchronization

/// SIGHUP replaces the daemon's configuration on the main thread while the worker runs hooks with it:
/// every hook must see one whole configuration, and a reload must take effect for the next hook.
@Suite struct DaemonSettingsTests {
    /// A hooks directory whose on-commit hook appends its directory's tag and the event's items to `log`.
    func hooksDirectory(_ root: URL, tag: String, log: URL) throws -> String {
        let dir = root.appendingPathComponent(tag)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let hook = dir.appendingPathComponent("on-commit")
        try "#!/bin/sh\necho \"\(tag) $SHADOWSYNC_ITEMS\" >> '\(log.path)'\n".write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        return dir.path
    }

    func config(hooks: String) -> FolderConfig {
        FolderConfig(name: "t", values: ["folder": "/f", "shadow": "/s", "state": "/st", "remote": "/r",
                                         "hooks.dir": hooks, "sync.quiet-ms": hooks.hasSuffix("A") ? "1000" : "2000"])
    }

    func waitUntilIdle(_ runner: HookRunner) {
        let deadline = monotonicSeconds() + 20
        while runner.runningCount > 0 && monotonicSeconds() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    }

    @Test func reloadingWhileHooksFireIsRaceFree() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shadowsync-reload-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: root) }
        let log = root.appendingPathComponent("hooks.log")
        let a = config(hooks: try hooksDirectory(root, tag: "A", log: log))
        let b = config(hooks: try hooksDirectory(root, tag: "B", log: log))
        let settings = DaemonSettings(a)
        let runner = HookRunner(log: { _ in })
        let fires = 40

        // The reloading thread alternates the two configurations until every hook has been fired.
        let done = Box(false), reloads = Box(0)
        let reloader = Thread {
            var n = 0
            while !done.value.withLock({ $0 }) {
                settings.replace(with: n % 2 == 0 ? b : a)
                n += 1
            }
            reloads.value.withLock { $0 = n }
        }
        reloader.start()
        for i in 0..<fires {
            let snapshot = settings.snapshot
            // A snapshot is one configuration: its timing belongs to its own hooks directory.
            #expect(snapshot.timing.quiet == (snapshot.config.value(.hooksDir)!.hasSuffix("A") ? 1.0 : 2.0))
            runner.fire(.commit, ["pass \(i)"], head: nil, config: settings.config)
        }
        done.value.withLock { $0 = true }
        while reloads.value.withLock({ $0 }) == 0 { Thread.sleep(forTimeInterval: 0.001) }
        waitUntilIdle(runner)

        // The last reload wins: the next hook runs from its directory.
        settings.replace(with: b)
        runner.fire(.commit, ["after reload"], head: nil, config: settings.config)
        waitUntilIdle(runner)

        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == fires + 1)
        for i in 0..<fires { #expect(lines.contains("A pass \(i)") || lines.contains("B pass \(i)"), "pass \(i)") }
        #expect(lines.contains("B after reload"))
        #expect(runner.runningCount == 0)
    }
}

/// A lock-protected value a test's threads share.
final class Box<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ initial: T) { value = Mutex(initial) }
}
