import Testing
import TestSupport
import Foundation

@Suite struct CLITests {
    @Test func selfcheckPassesEveryCheckOnThisMachine() throws {
        let r = try Binaries.run("shadowsync", ["selfcheck"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("ok   ") }.count == 6)
        #expect(!r.stdout.contains("FAIL"))
        #expect(r.stdout.contains("a wrong passphrase is refused: refused: wrong passphrase"))
        #expect(r.stdout.contains("byte-identical, non-UTF-8 and 255-byte names included"))
        #expect(r.stdout.contains("selfcheck passed: 6 checks"))
    }

    /// The man page and completions in Docs/ are generated from the command line; regenerating them
    /// from this build must give the checked-in files byte for byte (else: run Docs/generate-cli-docs.py).
    @Test func manPageAndCompletionsMatchTheCommandLine() throws {
        let root = FileManager.default.currentDirectoryPath
        let out = NSTemporaryDirectory() + "shadowsync-clidocs-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try TestProcess.run("python3", [root + "/Docs/generate-cli-docs.py", Binaries.url(of: "shadowsync").path, out])
        #expect(r.status == 0, "\(r.stderr)")
        for file in ["man/shadowsync.1", "completions/shadowsync.bash", "completions/_shadowsync", "completions/shadowsync.fish"] {
            let fresh = try String(contentsOfFile: out + "/" + file, encoding: .utf8)
            let committed = try String(contentsOfFile: root + "/Docs/" + file, encoding: .utf8)
            #expect(fresh == committed, "Docs/\(file) is stale: run python3 Docs/generate-cli-docs.py")
        }
        // Every command the binary knows is documented, and the page says how each exits.
        let page = try String(contentsOfFile: out + "/man/shadowsync.1", encoding: .utf8)
        for command in ["init", "join", "sync", "status", "log", "restore", "conflicts", "decrypt", "fsck", "key export",
                        "run", "pause", "resume", "trust-host", "config", "doctor", "verify-push", "selfcheck", "repair", "ui"] {
            #expect(page.contains(".SS shadowsync " + command + "\n"), "man page lacks \(command)")
        }
        #expect(page.contains(".SH EXIT STATUS"))
    }

    @Test func unknownCommandIsAUsageError() throws {
        let r = try Binaries.run("shadowsync", ["no-such-command"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Unexpected argument") || r.stderr.contains("no-such-command"))
    }
}

/// The memory bound of streaming encryption, in a process of its own so that nothing else shares its RSS.
@Suite struct BenchmarkProcessTests {
    /// Target: streaming a 1 GiB file stays under 32 MiB peak RSS.
    static let peakLimitMiB = 32.0

    @Test func oneGiBFileStaysUnder32MiBPeakRSS() throws {
        let r = try Binaries.run("shadowsync-bench", ["crypto", "--size-mib", "1", "--file-gib", "1", "--rounds", "1"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        guard let line = r.stdout.split(separator: "\n").first(where: { $0.contains("peak RSS of the process") }),
              let range = line.range(of: #"(VmHWM) after the file phase: "#) else {
            Issue.record("no RSS line in: \(r.stdout)")
            return
        }
        let figure = Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? .infinity
        #expect(figure > 1 && figure < BenchmarkProcessTests.peakLimitMiB, "peak RSS \(figure) MiB")
        #expect(r.stdout.contains("raw XChaCha20-Poly1305"))
    }
}

/// The step-by-step examples of Docs/OPERATIONS.md run as written.
@Suite struct ExampleScriptTests {
    /// Examples/notes-history.sh, the notes walkthrough of OPERATIONS.md, runs as written.
    @Test func notesWalkthroughRunsAsDocumented() throws {
        let r = try Binaries.run("/bin/bash", [SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Examples/notes-history.sh").path,
                                               Binaries.url(of: "shadowsync").path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("shopping.restored-"), "\(r.stdout)")
        #expect(r.stdout.components(separatedBy: "# Shopping\n- milk\n").count == 4, "the first version, shown, restored and recovered: \(r.stdout)")
        #expect(r.stdout.contains("@@ -1,2 +1,2 @@\n # Shopping\n-- milk\n+- bread\n"), "the diff since the first version: \(r.stdout)")
        #expect(r.stdout.contains("recovered/ideas/garden.md\nrecovered/shopping.md\n"), "\(r.stdout)")
        #expect(r.stdout.contains("shdw <shdw@invalid> Shdw-Meta: "), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("notes walkthrough finished\n"))
    }

    /// Examples/vps-walkthrough.sh, the VPS and git-only storage setups, against a private sshd.
    @Test(.enabled(if: SSHServer.available)) func vpsWalkthroughRunsAsDocumented() throws {
        let r = try Binaries.run("/bin/bash", [SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Examples/vps-walkthrough.sh").path,
                                               Binaries.url(of: "shadowsync").path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(!r.stdout.contains("FAIL"), "\(r.stdout)")
        #expect(r.stdout.contains("ok   login and repository"), "\(r.stdout)")
        #expect(r.stdout.contains("first note\nadded on the desktop\n"), "\(r.stdout)")
        #expect(r.stdout.contains("read-only: 1 local change(s) are not pushed"), "\(r.stdout)")
        #expect(r.stdout.contains("the laptop still has: added on the desktop"), "\(r.stdout)")
        #expect(r.stdout.contains("push refused") && r.stdout.contains("is not signed"), "\(r.stdout)")
        #expect(r.stdout.contains("only git-upload-pack and git-receive-pack"), "\(r.stdout)")
        #expect(r.stdout.contains("joined over the git-only account: added on the desktop"), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("vps walkthrough finished\n"))
    }
}
