import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine

/// Runs a command body; a ShadowError becomes a message (what happened, what to do) and its exit status.
func reporting(_ body: () throws(ShadowError) -> Void) throws {
    do {
        try body()
    } catch {
        printError("error: \(error.message)")
        if !error.advice.isEmpty { printError("  what to do: \(error.advice)") }
        throw ExitCode(ExitStatus.of(error).rawValue)
    }
}

func printError(_ text: String) {
    var err = StandardError()
    print(text, to: &err)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        bytes.withUnsafeBytes { writeStandardError($0) }
    }
}

func printReport(_ report: SyncReport) { printReport(PassSummary(report)) }

func printReport(_ report: PassSummary) {
    for line in report.committed { print("committed \(line)") }
    for line in report.applied { print("applied   \(line)") }
    for c in report.conflicts { print("conflict  \(c)") }
    for line in report.retryLater { print("retry     \(line)") }
    for line in report.skipped { printError("skipped   \(line)") }
    if report.readOnly && !report.notPushed.isEmpty {
        print("read-only: \(report.notPushed.count) local change(s) are not pushed (this machine has a read-only key):")
        for line in report.notPushed { print("  \(line)") }
    }
    if let rewritten = report.followedRewrite?.prefix(12) { print("rewritten history from the server (signed by a writer of the vault): now on \(rewritten)") }
    if let refused = report.replacedRefused?.prefix(12) { print("replaced the server's refused head \(refused)") }
    if let head = report.head?.prefix(12) { print(report.pushed ? "pushed \(head)" : "in sync at \(head)") }
    if let doorbell = report.doorbell { print(doorbell) }
}
