import Foundation
import Testing
import TestSupport

/// The tests' one child-process runner (TestSupport/TestProcess.swift): it must never deadlock on a
/// chatty child, must stop a hung one, and must pass input, environment and working directory.
@Suite struct ProcessRunnerTests {
    static let mebibyte = 1 << 20

    /// A child that fills its standard error before writing anything to standard output blocked a
    /// runner that read standard output to its end first; both are drained together now.
    @Test func aMebibyteOnStderrThenOnStdoutDoesNotHang() throws {
        let script = "head -c \(Self.mebibyte) /dev/zero | tr '\\0' e >&2; head -c \(Self.mebibyte) /dev/zero | tr '\\0' o"
        let r = try TestProcess.run("sh", ["-c", script], timeout: 60)
        #expect(!r.timedOut && r.status == 0, "\(r.status)")
        #expect(r.stderrBytes.count == Self.mebibyte && r.stderrBytes.allSatisfy { $0 == UInt8(ascii: "e") })
        #expect(r.stdoutBytes.count == Self.mebibyte && r.stdoutBytes.allSatisfy { $0 == UInt8(ascii: "o") })
        // And the other way round, interleaved in one pipe.
        let merged = try TestProcess.run("sh", ["-c", "head -c \(Self.mebibyte) /dev/zero; head -c \(Self.mebibyte) /dev/zero >&2"],
                                         stderr: .toStdout, timeout: 60)
        #expect(merged.status == 0 && merged.stdoutBytes.count == 2 * Self.mebibyte && merged.stderrBytes.isEmpty)
    }

    /// A mebibyte in on standard input while the child writes it back: neither side waits on the other.
    @Test func standardInputIsFedWhileOutputIsDrained() throws {
        let input = (0..<Self.mebibyte).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let r = try TestProcess.run("cat", stdin: input, timeout: 60)
        #expect(r.status == 0 && r.stdoutBytes == input)
        // A child that never reads its input still ends normally.
        let ignoring = try TestProcess.run("true", stdin: input, timeout: 60)
        #expect(ignoring.status == 0 && !ignoring.timedOut)
    }

    @Test func environmentAndWorkingDirectoryAreTheCallers() throws {
        let dir = NSTemporaryDirectory() + "shadowsync-runner-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try TestProcess.run("sh", ["-c", "printf '%s|%s|' \"$RUNNER_VALUE\" \"${HOME-unset}\"; pwd"],
                                    environment: ["RUNNER_VALUE": "given"], unset: ["HOME"], directory: dir)
        #expect(r.stdout == "given|unset|\(URL(fileURLWithPath: dir).resolvingSymlinksInPath().path)\n", "\(r.stdout)")
        let bare = try TestProcess.run("/usr/bin/env", inherit: false)
        #expect(bare.stdout.isEmpty, "\(bare.stdout)")
    }

    /// Past its timeout a child is killed with everything it started, and the outcome says so.
    @Test func aHungChildAndItsChildrenAreKilledAtTheTimeout() throws {
        let started = Date()
        let child = try TestProcess("sh", ["-c", "sleep 600 & echo \"started $!\"; sleep 600"])
        #expect(child.waitForOutput("\n", timeout: 20))
        let grandchild = try #require(child.stdoutSoFar.split(separator: " ").last.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let r = child.wait(timeout: 1)
        #expect(r.timedOut && r.status == 128 + SIGKILL, "\(r)")
        #expect(r.stderr.contains("killed"))
        #expect(Date().timeIntervalSince(started) < 20)
        // The background sleep (same process group) is gone too, or a zombie waiting for init to reap it.
        try eventually("the background sleep is gone") {
            let stat = (try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8)) ?? ""
            return stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        }
    }

    /// A background grandchild that keeps the output pipe open does not hold the caller past a short grace.
    @Test func anExitedChildWhoseOutputStaysOpenStillReturns() throws {
        let child = try TestProcess("sh", ["-c", "echo before; sleep 30 &"])
        let r = child.wait(timeout: 60)
        #expect(r.status == 0 && !r.timedOut && r.outputLeftOpen && r.stdout == "before\n", "\(r)")
        kill(-child.pid, SIGKILL)  // the grandchild, still in the child's process group
    }

    @Test func signalsEndAChildWithTheShellsStatus() throws {
        let child = try TestProcess("sleep", ["600"])
        #expect(child.isRunning)
        child.signal(SIGTERM)
        let r = child.wait(timeout: 20)
        #expect(r.status == 128 + SIGTERM && !r.timedOut && !child.isRunning)
        #expect(throws: TestProcessError.self) { try TestProcess("/no/such/program") }
    }
}
