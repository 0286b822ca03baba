public import ShadowCore
public import ShadowEngine
public import ShadowCrypto
import ShadowSystem

extension Workspace {
    /// `shadowsync device list`: the devices the local history's head admits; nil before the first commit.
    public func devices(_ path: BytePath?) throws(ShadowError) -> [DeviceInfo]? {
        let (_, history) = try openHistory(path)
        guard let head = try history.head else { return nil }
        return try history.devices(head: head)
    }

    /// `shadowsync device rename NAME`: records the new name and publishes it with a sync pass (a signed
    /// name object in the next commit). A read-only machine cannot publish anything.
    public func renameDevice(_ path: BytePath?, to name: String, options: SyncOptions = SyncOptions()) throws(ShadowError) -> SyncReport {
        try DeviceName.validate(name)
        let (config, engine) = try open(path)
        guard !engine.readOnly else {
            throw ShadowError(.insufficientCapability, "this machine holds a read-only key: it cannot publish a name",
                              advice: "only read-write devices carry a name in the vault; rename a device on the machine it is")
        }
        try config.location.requestDeviceName(name)
        let report = try engine.sync(options: options)
        _ = Unmanaged.passRetained(engine)
        return report
    }
}

/// One device of `shadowsync device list --json`.
public struct DeviceInfoJSON: Encodable {
    public let device: DeviceInfo
    /// Names of the devices by id, for `admitted_by`.
    public let names: [[UInt8]: String]

    public init(_ device: DeviceInfo, names: [[UInt8]: String]) {
        self.device = device
        self.names = names
    }

    enum CodingKeys: String, CodingKey {
        case name, id, role, revoked
        case admittedBy = "admitted_by", admittedAt = "admitted_at", lastCommit = "last_commit", lastCommitAt = "last_commit_at"
        case thisDevice = "this_device"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(device.name, forKey: .name)
        try c.encode(hexString(device.id), forKey: .id)
        try c.encode(device.role.description, forKey: .role)
        try c.encode(device.admittedBy.map { names[$0] ?? String(hexString($0).prefix(8)) } ?? "vault key", forKey: .admittedBy)
        try c.encode(isoTime(device.admittedAtMillis), forKey: .admittedAt)
        try c.encode(device.lastCommit?.hex, forKey: .lastCommit)
        try c.encode(device.lastCommitMillis.map(isoTime), forKey: .lastCommitAt)
        try c.encode(device.revoked, forKey: .revoked)
        try c.encode(device.isThisDevice, forKey: .thisDevice)
    }
}

/// A new invite, as `shadowsync device invite` prints it.
public struct NewInvite: Sendable {
    /// The one-time invite string: a secret until it is used.
    public let text: String
    public let id: [UInt8]
    public let expiresAtMillis: UInt64
    /// The sync pass that published it (an unpublished invite cannot be used yet).
    public let report: SyncReport
}

extension Workspace {
    /// How long an invite stays usable unless told otherwise.
    public static let defaultInviteHours = 72
    /// The longest an invite may last: a year, which also keeps the expiry time far from overflowing.
    public static let maxInviteHours = 8760
    static let millisPerHour: UInt64 = 3_600_000

    /// `shadowsync device invite`: records a one-time invite in history (published by the sync pass this
    /// runs) and returns its string. Only a read-write device may invite.
    public func invite(_ path: BytePath?, role: DeviceRole, name: String?, hours: Int, options: SyncOptions = SyncOptions()) throws(ShadowError) -> NewInvite {
        if let name { try DeviceName.validate(name) }
        guard (1...Self.maxInviteHours).contains(hours) else {
            throw ShadowError(.invalidArgument, "an invite lasts from one hour to \(Self.maxInviteHours) hours (a year), not \(hours)")
        }
        let (config, engine) = try open(path)
        guard !engine.readOnly else {
            throw ShadowError(.insufficientCapability, "this is a read-only device: it cannot admit other devices",
                              advice: "run 'shadowsync device invite' on a read-write machine of the vault")
        }
        // The gift is the newest key epoch's secret: through the epoch chain it reaches every earlier one.
        let keys = engine.currentKeys
        let invite = InviteKeys.generate()
        let now = ShadowEngine.Clock.nowMillis()
        let expires = now + UInt64(hours) * Self.millisPerHour
        let record = try InviteRecord.make(invite: invite, role: role, name: name, inviter: try keys.requireDevice(), keys: keys,
                                           createdAtMillis: now, expiresAtMillis: expires)
        let file = config.shadow.appending(DevicePaths.invite(invite.id))
        try FileSystem.createDirectories(file.directory, mode: 0o755)
        try FileSystem.writeAtomically(record.bytes, to: file, mode: 0o644, durable: false)
        var publishing = options
        publishing.publishDevices = true
        let report = try engine.sync(options: publishing)
        _ = Unmanaged.passRetained(engine)
        return NewInvite(text: InviteText.encode(invite, rootPublicKey: keys.rootPublicKey), id: invite.id, expiresAtMillis: expires, report: report)
    }
}

/// What `shadowsync device revoke` did.
public struct Revocation: Sendable {
    public let id: [UInt8]
    /// The device's name, or the first 8 hex digits of its id.
    public let label: String
    /// The key epoch the revocation started.
    public let epoch: UInt32
    /// The device's record was signed with the vault key (it ran `init` or joined with a read-write
    /// key string), so it holds the vault secret: it derives the recovery key every epoch is sealed to
    /// and can admit new devices, and only a new vault shuts it out.
    public let holdsVaultKey: Bool
    /// The sync pass that published the revocation.
    public let report: SyncReport

    /// What is left to do after revoking a device that holds the vault key.
    public static let vaultKeyAdvice = "it holds the vault key (it ran 'init' or joined with a read-write key string): it still opens every new key epoch through the recovery key and can admit new devices with it; only a new vault shuts it out (OPERATIONS, \"A lost or stolen machine\")"
}

/// `shadowsync device revoke --json`.
public struct RevocationJSON: Encodable {
    public let revocation: Revocation

    public init(_ revocation: Revocation) { self.revocation = revocation }

    enum CodingKeys: String, CodingKey {
        case device, id, epoch
        case holdsVaultKey = "holds_vault_key", readsNewEpochs = "reads_new_epochs", advice, pass
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(revocation.label, forKey: .device)
        try c.encode(hexString(revocation.id), forKey: .id)
        try c.encode(revocation.epoch, forKey: .epoch)
        try c.encode(revocation.holdsVaultKey, forKey: .holdsVaultKey)
        try c.encode(revocation.holdsVaultKey, forKey: .readsNewEpochs)
        try c.encode(revocation.holdsVaultKey ? Revocation.vaultKeyAdvice : nil, forKey: .advice)
        try c.encode(PassSummary(revocation.report), forKey: .pass)
    }
}

extension Workspace {
    /// `shadowsync device revoke NAME`: records that a read-write device of this vault no longer
    /// accepts `name`'s signatures and starts a key epoch sealed to every other device (published with
    /// the sync pass this runs). `name` is a device name or at least 8 hex digits of its id.
    public func revokeDevice(_ path: BytePath?, _ name: String, options: SyncOptions = SyncOptions()) throws(ShadowError) -> Revocation {
        let (config, engine) = try open(path)
        guard !engine.readOnly else {
            throw ShadowError(.insufficientCapability, "this is a read-only device: it cannot revoke devices",
                              advice: "run 'shadowsync device revoke' on a read-write machine of the vault")
        }
        // Catch up first: the new key epoch then follows the newest history, which keeps the window in
        // which another device could start the same epoch number short.
        var report = try engine.sync(options: options)
        let keys = engine.currentKeys
        let me = try keys.requireDevice()
        guard let head = try engine.head else { throw ShadowError(.notFound, "this folder has no history yet: there is no device to revoke") }
        let history = History(keys: keys, store: try SSHSetup.repository(config), location: config.location)
        let devices = try history.devices(head: head)
        let lowered = name.lowercased()
        let matches = devices.filter { $0.name == name || (lowered.count >= 8 && hexString($0.id).hasPrefix(lowered)) }
        guard matches.count == 1, let target = matches.first else {
            let known = devices.map(\.label).joined(separator: ", ")
            throw ShadowError(.notFound, matches.isEmpty ? "no device named '\(name)' in this vault" : "'\(name)' names \(matches.count) devices",
                              advice: "'shadowsync device list' shows them (\(known)); give a name or at least 8 hex digits of an id")
        }
        guard target.id != me.id else {
            throw ShadowError(.invalidArgument, "this is the device you are on: revoke it from another read-write machine",
                              advice: "run 'shadowsync device revoke \(target.label)' on another machine of the vault")
        }
        guard !target.revoked else { throw ShadowError(.alreadyExists, "device \(target.label) is already revoked") }
        let revocation = try RevocationRecord.make(target.id, by: me, vaultID: keys.vaultID, atMillis: ShadowEngine.Clock.nowMillis())
        let file = config.shadow.appending(DevicePaths.revocation(target.id))
        try FileSystem.createDirectories(file.directory, mode: 0o755)
        try FileSystem.writeAtomically(revocation.bytes, to: file, mode: 0o644, durable: false)
        // What is written from now on is sealed under a key the revoked device never receives, unless it holds the vault secret.
        let epoch = try engine.startEpoch(revoking: target.id)
        var publishing = options
        publishing.publishDevices = true
        report = try engine.sync(options: publishing)
        _ = Unmanaged.passRetained(engine)
        // Only a holder of the vault secret can sign a record "admitted by the vault key"; that secret
        // also derives the recovery key every epoch is sealed to, so the new epoch does not shut it out.
        return Revocation(id: target.id, label: target.label, epoch: epoch, holdsVaultKey: target.admittedBy == nil, report: report)
    }

    /// `shadowsync key rotate [--reencrypt]`: starts a new key epoch sealed to every device not revoked
    /// (and the recovery key), published with a sync pass. With `reencrypt`, the same commit re-encrypts
    /// every entry of the folder under it; without, nothing already written changes (lazy rotation).
    public func rotateKey(_ path: BytePath?, reencrypt: Bool, options: SyncOptions = SyncOptions()) throws(ShadowError) -> (epoch: UInt32, report: SyncReport) {
        let (_, engine) = try open(path)
        guard !engine.readOnly else {
            throw ShadowError(.insufficientCapability, "this is a read-only device: it cannot start a key epoch",
                              advice: "run 'shadowsync key rotate' on a read-write machine of the vault")
        }
        _ = try engine.sync(options: options)
        let epoch = try engine.startEpoch(revoking: nil)
        var publishing = options
        publishing.publishDevices = true
        publishing.reencrypt = reencrypt
        let report = try engine.sync(options: publishing)
        _ = Unmanaged.passRetained(engine)
        return (epoch, report)
    }
}
