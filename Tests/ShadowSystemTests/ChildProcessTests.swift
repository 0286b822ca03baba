import Testing
import Glibc
import ShadowCore
@testable import ShadowSystem

@Suite struct ChildProcessTests {
    func script(_ root: BytePath, _ name: String, _ body: String) throws -> BytePath {
        let path = root.appending(name)
        try FileSystem.writeAtomically(Array("#!/bin/sh\n\(body)\n".utf8), to: path, mode: 0o755)
        return path
    }

    func waitForExit(_ child: ChildProcess, seconds: Double = 10) -> Int32? {
        let deadline = monotonicSeconds() + seconds
        while monotonicSeconds() < deadline {
            if let status = child.poll() { return status }
            pause(seconds: 0.02)
        }
        return nil
    }

    @Test func exitStatusAndEnvironment() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "child-test-")
        defer { try? FileSystem.removeTree(root) }
        let out = root.appending("out")
        let child = try ChildProcess(executable: try script(root, "hook", "printf '%s' \"$GREETING\" > \(out); exit 7"),
                                     environment: ["GREETING": "hello hook", "PATH": "/usr/bin:/bin"])
        #expect(waitForExit(child) == 7)
        #expect(String(decoding: try FileSystem.readFile(out, limit: 100), as: UTF8.self) == "hello hook")
    }

    @Test func stoppingTheGroupStopsWhatTheChildStarted() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "child-test-")
        defer { try? FileSystem.removeTree(root) }
        let pidFile = root.appending("grandchild")
        let child = try ChildProcess(executable: try script(root, "slow", "sleep 600 & echo $! > \(pidFile); wait"),
                                     environment: ["PATH": "/usr/bin:/bin"])
        var grandchild: Int32?
        let deadline = monotonicSeconds() + 10
        while grandchild == nil && monotonicSeconds() < deadline {
            grandchild = (try? FileSystem.readFile(pidFile, limit: 32)).flatMap { Int32(String(decoding: $0, as: UTF8.self).filter(\.isNumber)) }
            pause(seconds: 0.02)
        }
        let sleeper = try #require(grandchild)
        func running() -> Bool {
            guard let stat = try? FileSystem.readFile(BytePath("/proc/\(sleeper)/stat"), limit: 1024) else { return false }
            return !String(decoding: stat, as: UTF8.self).contains(") Z ")
        }
        #expect(running())
        child.signalGroup(SIGTERM)
        #expect(waitForExit(child) == 128 + SIGTERM)
        // The background `sleep` got the signal too. Its parent is gone, so it is init's to reap: a
        // zombie counts as ended.
        let gone = monotonicSeconds() + 10
        while running() && monotonicSeconds() < gone { pause(seconds: 0.02) }
        #expect(!running())
    }
}
