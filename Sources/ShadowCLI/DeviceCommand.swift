import ArgumentParser
import ShadowAgent
import ShadowCore
import ShadowEngine
import ShadowCrypto

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "device", abstract: "The machines admitted to the vault.",
                                                    subcommands: [DeviceListCommand.self, DeviceRenameCommand.self, DeviceInviteCommand.self, DeviceRevokeCommand.self])
}

struct DeviceListCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every admitted device: name, id, role, who admitted it and when, its last commit.")

    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output.") var json = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            guard let devices = try Workspace().devices(folder.path) else { print("no history yet"); return }
            let names = Dictionary(devices.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
            if json {
                print(jsonText(devices.map { DeviceInfoJSON($0, names: names) }))
                return
            }
            for d in devices {
                let by = d.admittedBy.map { names[$0] ?? String(hexString($0).prefix(8)) } ?? "vault key"
                let last = d.lastCommit.map { "last commit \($0.short) at \(isoTime(d.lastCommitMillis ?? 0))" } ?? "no commit yet"
                print("\(d.label)\(d.isThisDevice ? " (this device)" : "")  \(hexString(d.id).prefix(16))  \(d.role)  admitted by \(by) at \(isoTime(d.admittedAtMillis))  \(last)\(d.revoked ? "  REVOKED" : "")")
            }
        }
    }
}

struct DeviceRenameCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Give this device a new name (published with a sync pass).")

    @Argument(help: "The new name: 1 to 63 bytes of printable text.") var name: String
    @OptionGroup var folder: FolderOption

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            let report = try Workspace().renameDevice(folder.path, to: name, options: line.attach(SyncOptions()))
            line.finish()
            printReport(report)
            print("this device is now named \(name)")
        }
    }
}

struct DeviceInviteCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Print a one-time invite another machine joins with ('join REPO DIR --invite INVITE'); this machine need not be online then.")

    @Flag(name: .long, help: "The new device may read, never write.") var readOnly = false
    @Option(name: .long, help: "The name the new device takes unless it gives its own.") var name: String?
    @Option(name: .long, help: "Hours the invite stays usable (default 72, at most 8760: a year).") var expiresHours: Int = Workspace.defaultInviteHours
    @OptionGroup var folder: FolderOption

    func validate() throws {
        guard (1...Workspace.maxInviteHours).contains(expiresHours) else {
            throw ValidationError("--expires-hours must be between 1 and \(Workspace.maxInviteHours) (a year)")
        }
    }

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            let made = try Workspace().invite(folder.path, role: readOnly ? .readOnly : .readWrite, name: name, hours: expiresHours,
                                              options: line.attach(SyncOptions()))
            line.finish()
            if let head = made.report.head { printError("published in commit \(head.short)") }
            printError("invite \(hexString(made.id).prefix(8)) for one \(readOnly ? "read-only" : "read-write") device, usable until \(isoTime(made.expiresAtMillis)); it is a secret until used:")
            print(made.text)
        }
    }
}

struct DeviceRevokeCommand: ParsableCommand, OpensRepositoryAtOnce {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Stop accepting a device's signatures (a lost or stolen machine), published with a sync pass.")

    @Argument(help: "The device's name, or at least 8 hex digits of its id ('shadowsync device list').") var name: String
    @OptionGroup var folder: FolderOption
    @Flag(name: .long, help: "Machine-readable output (holds_vault_key: whether the device keeps reading new key epochs).") var json = false

    func run() throws {
        try reporting { () throws(ShadowError) in
            let line = ProgressLine()
            defer { line.finish() }
            let revoked = try Workspace().revokeDevice(folder.path, name, options: json ? SyncOptions() : line.attach(SyncOptions()))
            line.finish()
            if json {
                print(jsonText(RevocationJSON(revoked)))
                return
            }
            printReport(revoked.report)
            let device = "device \(revoked.label) (\(hexString(revoked.id).prefix(16)))"
            if revoked.holdsVaultKey {
                print("revoked \(device): every machine and the server hook refuse its commits from now on, but what is written from now on is NOT hidden from it: \(Revocation.vaultKeyAdvice)")
                return
            }
            print("revoked \(device): every machine and the server hook refuse its commits from now on, and what is written from now on uses a new key epoch (\(revoked.epoch)) it never receives")
            printError("note: it can still decrypt what was written before the revocation; 'shadowsync key rotate --reencrypt' re-encrypts the current files under the new epoch (the history keeps the old versions); see OPERATIONS, \"A lost or stolen machine\"")
        }
    }
}
