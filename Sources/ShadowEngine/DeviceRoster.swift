public import ShadowCore
public import ShadowCrypto
import Synchronization

/// Where device records live in a tree (FORMAT.md §4.3, §4.4): `devices/<32 hex id>.r` and `.name`.
public enum DevicePaths {
    public static let directory = "devices"
    static let recordSuffix = ".r"
    static let nameSuffix = ".name"
    static let inviteSuffix = ".i"
    static let revocationSuffix = ".x"
    public static let epochSuffix = ".e"
    public static let grantSuffix = ".k"
    /// A vault holds at most this many device files (a few per device, one per device and key epoch):
    /// bounds what a reader loads.
    static let maximumFiles = 4096
    /// Every kind of device file is this size or smaller (an invite record, the largest, is 320 bytes).
    static let fileLimitBytes = 512

    public static func record(_ id: [UInt8]) -> String { "\(directory)/\(hexString(id))\(recordSuffix)" }
    public static func name(_ id: [UInt8]) -> String { "\(directory)/\(hexString(id))\(nameSuffix)" }
    public static func invite(_ id: [UInt8]) -> String { "\(directory)/\(hexString(id))\(inviteSuffix)" }
    public static func revocation(_ id: [UInt8]) -> String { "\(directory)/\(hexString(id))\(revocationSuffix)" }
    /// `devices/<8 hex digits of the epoch, most significant first>.e` (FORMAT.md §4.7).
    public static func epoch(_ epoch: UInt32) -> String { "\(directory)/\(epochHex(epoch))\(epochSuffix)" }
    /// `devices/<32 hex device id>-<8 hex epoch>.k` (FORMAT.md §4.8).
    public static func grant(_ device: [UInt8], epoch: UInt32) -> String { "\(directory)/\(hexString(device))-\(epochHex(epoch))\(grantSuffix)" }

    static func epochHex(_ epoch: UInt32) -> String {
        let digits = String(epoch, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func isHex<S: StringProtocol>(_ s: S, count: Int) -> Bool {
        s.count == count && s.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// True for a path a ShadowSync tree may hold under `devices/`.
    static func isDevicePath(_ path: String) -> Bool {
        guard path.hasPrefix(directory + "/") else { return false }
        let file = path.dropFirst(directory.count + 1)
        if file.hasSuffix(epochSuffix) { return isHex(file.dropLast(epochSuffix.count), count: 8) }
        if file.hasSuffix(grantSuffix) {
            let stem = file.dropLast(grantSuffix.count)
            let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
            return parts.count == 2 && isHex(parts[0], count: KeySizes.deviceID * 2) && isHex(parts[1], count: 8)
        }
        for suffix in [recordSuffix, nameSuffix, inviteSuffix, revocationSuffix] where file.hasSuffix(suffix) {
            return isHex(file.dropLast(suffix.count), count: KeySizes.deviceID * 2)
        }
        return false
    }
}

/// One admitted device as a tree shows it.
public struct AdmittedDevice: Sendable {
    public let record: DeviceRecord
    /// The blob of its record (a child commit must keep it unchanged).
    public let recordObject: ObjectID
    /// Its signed name object, if it has one (read with `DeviceName.open`).
    public let nameObject: [UInt8]?
    /// Its revocation, if a read-write device revoked it.
    public var revocation: RevocationRecord? = nil
    public var revocationObject: ObjectID? = nil

    public var id: [UInt8] { record.deviceID }
    public var isActive: Bool { revocation == nil }
}

/// The devices a tree admits (FORMAT.md §4.3): every record vouched for by the vault key or by an
/// admitted read-write device, every name signed by the device it names. A tree whose `devices/`
/// holds anything else is refused as a whole.
public struct DeviceRoster: Sendable {
    public let devices: [[UInt8]: AdmittedDevice]
    /// Invites a read-write device recorded, by invite id, with their blobs.
    public let invites: [[UInt8]: (record: InviteRecord, object: ObjectID)]
    /// The `devices/` tree it was read from (nil: the tree has none).
    public let tree: ObjectID?
    /// Key epochs after 0, by number (contiguous from 1), with their blobs (FORMAT.md §4.7).
    public var epochs: [UInt32: (record: EpochRecord, object: ObjectID)] = [:]
    /// Epoch grants by path (FORMAT.md §4.8), with their blobs.
    public var grants: [String: (grant: EpochGrant, object: ObjectID)] = [:]

    public static let empty = DeviceRoster(devices: [:], invites: [:], tree: nil)

    /// The newest key epoch of this tree (0 when none was started).
    public var newestEpoch: UInt32 { epochs.keys.max() ?? 0 }

    /// `keys` reaching every epoch of this tree that they can open (FORMAT.md §1d).
    public func keys(_ keys: VaultKeys) throws(ShadowError) -> VaultKeys {
        guard !epochs.isEmpty else { return keys }
        return try keys.reaching(epochs.values.map(\.record), grants: grants.values.map(\.grant))
    }

    /// Devices not revoked here that hold no grant of `epoch` (the ones a writer of that epoch seals it to).
    public func devicesLacking(epoch: UInt32) -> [AdmittedDevice] {
        devices.values.filter { $0.isActive && grants[DevicePaths.grant($0.id, epoch: epoch)] == nil }
            .sorted { hexString($0.id) < hexString($1.id) }
    }

    /// The device an invite admitted, if it was used.
    public func device(admittedBy invite: [UInt8]) -> AdmittedDevice? {
        devices.values.first { $0.record.admitter == .invite(invite) }
    }

    /// Checks a `devices/` directory read from a tree. `keys` gives the vault id and root key.
    public static func check(_ directory: DirectoryBlobs?, keys: VaultKeys) throws(ShadowError) -> DeviceRoster {
        guard let directory else { return .empty }
        var records: [[UInt8]: (DeviceRecord, ObjectID)] = [:]
        var names: [[UInt8]: [UInt8]] = [:]
        var inviteRecords: [[UInt8]: (InviteRecord, ObjectID)] = [:]
        var revocations: [[UInt8]: (RevocationRecord, ObjectID)] = [:]
        var epochFiles: [UInt32: (EpochRecord, ObjectID)] = [:]
        var grantFiles: [String: (EpochGrant, ObjectID)] = [:]
        for blob in directory.blobs {
            let path = DevicePaths.directory + "/" + String(decoding: blob.name, as: UTF8.self)
            guard Array(path.utf8) == Array(DevicePaths.directory.utf8) + [UInt8(ascii: "/")] + blob.name, DevicePaths.isDevicePath(path) else {
                throw ShadowError(.malformedObject, "\(DevicePaths.directory)/\(PlainPath.render(blob.name)) is not a ShadowSync device file")
            }
            if path.hasSuffix(DevicePaths.epochSuffix) {
                let record = try EpochRecord.parse(blob.bytes, vaultID: keys.vaultID)
                guard DevicePaths.epoch(record.epoch) == path else {
                    throw ShadowError(.malformedObject, "the epoch record at \(path) is for epoch \(record.epoch): the server moved it")
                }
                epochFiles[record.epoch] = (record, blob.id)
                continue
            }
            if path.hasSuffix(DevicePaths.grantSuffix) {
                let grant = try EpochGrant.parse(blob.bytes, vaultID: keys.vaultID)
                guard DevicePaths.grant(grant.deviceID, epoch: grant.epoch) == path else {
                    throw ShadowError(.malformedObject, "the epoch grant at \(path) is for another device or epoch: the server moved it")
                }
                grantFiles[path] = (grant, blob.id)
                continue
            }
            let hex = String(path.dropFirst(DevicePaths.directory.count + 1).prefix(KeySizes.deviceID * 2))
            let id = bytesFromHex(hex) ?? []
            if path.hasSuffix(DevicePaths.recordSuffix) {
                let record = try DeviceRecord.parse(blob.bytes, vaultID: keys.vaultID)
                guard record.deviceID == id else {
                    throw ShadowError(.malformedObject, "the device record at \(path) is for device \(hexString(record.deviceID)): the server moved it")
                }
                records[id] = (record, blob.id)
            } else if path.hasSuffix(DevicePaths.revocationSuffix) {
                let revocation = try RevocationRecord.parse(blob.bytes, vaultID: keys.vaultID)
                guard revocation.deviceID == id else {
                    throw ShadowError(.malformedObject, "the revocation at \(path) is for device \(hexString(revocation.deviceID)): the server moved it")
                }
                revocations[id] = (revocation, blob.id)
            } else if path.hasSuffix(DevicePaths.inviteSuffix) {
                let invite = try InviteRecord.parse(blob.bytes, vaultID: keys.vaultID)
                guard invite.inviteID == id else {
                    throw ShadowError(.malformedObject, "the invite record at \(path) is for invite \(hexString(invite.inviteID)): the server moved it")
                }
                inviteRecords[id] = (invite, blob.id)
            } else {
                guard try DeviceName.peek(blob.bytes).deviceID == id else {
                    throw ShadowError(.malformedObject, "the device name at \(path) names another device: the server moved it")
                }
                names[id] = blob.bytes
            }
        }
        // Vouched-for records, to a fixpoint: an admitter must itself be admitted, read-write, and earlier
        // in the chain (a cycle of devices vouching for each other never reaches the vault key).
        var admitted: [[UInt8]: AdmittedDevice] = [:]
        var invites: [[UInt8]: (record: InviteRecord, object: ObjectID)] = [:]
        func writer(_ id: [UInt8]) -> [UInt8]? { admitted[id].flatMap { $0.record.role == .readWrite ? $0.record.signingPublicKey : nil } }
        var progress = true
        while progress {
            progress = false
            for (id, (invite, object)) in inviteRecords where invites[id] == nil {
                guard let key = writer(invite.inviterID) else { continue }
                guard invite.isSigned(by: key) else {
                    throw ShadowError(.signatureInvalid, "invite \(hexString(id).prefix(8)) is not signed by the device it names as inviter: the server forged or altered it")
                }
                invites[id] = (invite, object)
                progress = true
            }
            for (id, (record, object)) in records where admitted[id] == nil {
                let key: [UInt8]?
                switch record.admitter {
                case .vaultKey: key = keys.rootPublicKey
                case .device(let by): key = writer(by)
                case .invite(let by):
                    guard let invite = invites[by]?.record else { key = nil; break }
                    guard invite.role == record.role, record.admittedAtMillis <= invite.expiresAtMillis else {
                        throw ShadowError(.signatureInvalid, "device \(hexString(id).prefix(8)) was admitted by invite \(hexString(by).prefix(8)) with another role or after it expired")
                    }
                    key = invite.signingPublicKey
                }
                guard let key else { continue }
                guard record.isSigned(by: key) else {
                    throw ShadowError(.signatureInvalid, "the record of device \(hexString(id).prefix(8)) is not signed by the \(record.admitter == .vaultKey ? "vault key" : "device it names as admitter"): the server forged or altered it")
                }
                admitted[id] = AdmittedDevice(record: record, recordObject: object, nameObject: nil)
                progress = true
            }
        }
        if let orphan = inviteRecords.keys.first(where: { invites[$0] == nil }) {
            throw ShadowError(.signatureInvalid, "invite \(hexString(orphan).prefix(8)) was made by no read-write device of this vault: the server forged it")
        }
        var used: Set<[UInt8]> = []
        for device in admitted.values {
            guard case .invite(let invite) = device.record.admitter else { continue }
            guard used.insert(invite).inserted else {
                throw ShadowError(.signatureInvalid, "invite \(hexString(invite).prefix(8)) admitted two devices: an invite admits one")
            }
        }
        if let orphan = records.keys.first(where: { admitted[$0] == nil }) {
            throw ShadowError(.signatureInvalid, "device \(hexString(orphan).prefix(8)) is admitted by no device of this vault: the server forged its record")
        }
        // A revocation counts when a read-write device of the tree signed it; a device revoked here stays
        // listed, and its records stay valid, but it signs nothing from this tree on.
        for (id, (revocation, object)) in revocations {
            guard admitted[id] != nil, let revoker = admitted[revocation.revokerID], revoker.record.role == .readWrite,
                  revocation.isSigned(by: revoker.record.signingPublicKey) else {
                throw ShadowError(.signatureInvalid, "the revocation of device \(hexString(id).prefix(8)) is not signed by a read-write device of this vault: the server forged it")
            }
            admitted[id]?.revocation = revocation
            admitted[id]?.revocationObject = object
        }
        for (id, bytes) in names {
            guard let device = admitted[id] else {
                throw ShadowError(.malformedObject, "a device name has no device record (\(hexString(id).prefix(8)))")
            }
            _ = try DeviceName.open(bytes, record: device.record, keys: try keys.attenuated(to: .verifyOnly))
            admitted[id] = AdmittedDevice(record: device.record, recordObject: device.recordObject, nameObject: bytes,
                                          revocation: device.revocation, revocationObject: device.revocationObject)
        }
        // Epochs: numbered 1, 2, … without a gap, each started by a read-write device of the tree; each
        // grant of an epoch that exists, to a device of the tree, by a read-write device of the tree.
        if let newest = epochFiles.keys.max(), epochFiles.count != Int(newest) {
            throw ShadowError(.malformedObject, "the key epochs of this tree have a gap (newest \(newest), \(epochFiles.count) records): the server removed one")
        }
        for (epoch, (record, _)) in epochFiles {
            guard let starter = admitted[record.starterID], starter.record.role == .readWrite, record.isSigned(by: starter.record.signingPublicKey) else {
                throw ShadowError(.signatureInvalid, "key epoch \(epoch) is not signed by a read-write device of this vault: the server forged it")
            }
        }
        for (path, (grant, _)) in grantFiles {
            guard epochFiles[grant.epoch] != nil, admitted[grant.deviceID] != nil, let granter = admitted[grant.granterID],
                  granter.record.role == .readWrite, grant.isSigned(by: granter.record.signingPublicKey) else {
                throw ShadowError(.signatureInvalid, "the epoch grant \(path) is not signed by a read-write device of this vault, or is for an unknown device or epoch: the server forged it")
            }
        }
        var roster = DeviceRoster(devices: admitted, invites: invites, tree: directory.tree)
        roster.epochs = epochFiles.mapValues { (record: $0.0, object: $0.1) }
        roster.grants = grantFiles.mapValues { (grant: $0.0, object: $0.1) }
        return roster
    }

    /// The read-write device whose key made `signature` over `content` (a commit body), if any.
    public func commitSigner(_ signature: [UInt8], of content: [UInt8]) -> AdmittedDevice? {
        devices.values.first { device in
            device.record.role == .readWrite && device.isActive
                && Signatures.isValid(signature, of: content, purpose: .commit, publicKey: device.record.signingPublicKey, vaultID: device.record.vaultID)
        }
    }

    /// The decrypted name of each device that has one (names sealed for another epoch are left out).
    public func names(keys: VaultKeys) -> [[UInt8]: DeviceName] {
        var out: [[UInt8]: DeviceName] = [:]
        for (id, device) in devices {
            if let bytes = device.nameObject, let name = try? DeviceName.open(bytes, record: device.record, keys: keys) { out[id] = name }
        }
        return out
    }

    /// Why the records `child` adds to `parents` are not acceptable, or nil: a device admitted (or an
    /// invite made, or a device revoked) in a commit must be vouched for by a device not revoked there.
    public static func additionsFault(_ child: DeviceRoster, parents: [DeviceRoster]) -> String? {
        func known(_ id: [UInt8]) -> Bool { parents.contains { $0.devices[id] != nil } }
        func active(_ id: [UInt8]) -> Bool { child.devices[id]?.isActive ?? false }
        for (id, device) in child.devices where !known(id) {
            switch device.record.admitter {
            case .vaultKey: continue
            case .device(let by) where !active(by): return "admits device \(hexString(id).prefix(8)) by revoked device \(hexString(by).prefix(8))"
            case .invite(let invite) where !(child.invites[invite].map { active($0.record.inviterID) } ?? false):
                return "admits device \(hexString(id).prefix(8)) by an invite of a revoked device"
            default: continue
            }
        }
        for (id, invite) in child.invites where !parents.contains(where: { $0.invites[id] != nil }) && !active(invite.record.inviterID) {
            return "records invite \(hexString(id).prefix(8)) of revoked device \(hexString(invite.record.inviterID).prefix(8))"
        }
        for (id, device) in child.devices {
            guard let revocation = device.revocation, !parents.contains(where: { $0.devices[id]?.revocation != nil }) else { continue }
            if !active(revocation.revokerID) { return "revokes device \(hexString(id).prefix(8)) by a revoked device" }
        }
        for (epoch, entry) in child.epochs where !parents.contains(where: { $0.epochs[epoch] != nil }) && !active(entry.record.starterID) {
            return "starts key epoch \(epoch) by revoked device \(hexString(entry.record.starterID).prefix(8))"
        }
        for (path, entry) in child.grants where !parents.contains(where: { $0.grants[path] != nil }) {
            if !active(entry.grant.granterID) { return "grants key epoch \(entry.grant.epoch) by revoked device \(hexString(entry.grant.granterID).prefix(8))" }
            if !active(entry.grant.deviceID) { return "grants key epoch \(entry.grant.epoch) to revoked device \(hexString(entry.grant.deviceID).prefix(8))" }
        }
        return nil
    }

    /// Why `child` cannot follow `parent`, or nil: a record once committed stays, byte for byte, and a
    /// device's name is only replaced by one of a higher sequence.
    public func successorFault(_ child: DeviceRoster) -> String? {
        for (id, invite) in invites where child.invites[id]?.object != invite.object {
            return "drops or changes invite \(hexString(id).prefix(8))"
        }
        for (epoch, entry) in epochs where child.epochs[epoch]?.object != entry.object {
            return "drops or changes key epoch \(epoch)"
        }
        for (path, entry) in grants where child.grants[path]?.object != entry.object {
            return "drops or changes the epoch grant \(path)"
        }
        for (id, device) in devices {
            guard let kept = child.devices[id], kept.recordObject == device.recordObject else {
                return "drops or changes the record of device \(hexString(id).prefix(8))"
            }
            if let revoked = device.revocationObject, kept.revocationObject != revoked {
                return "drops or changes the revocation of device \(hexString(id).prefix(8))"
            }
            if let before = device.nameObject {
                guard let after = kept.nameObject, let old = try? DeviceName.peek(before), let new = try? DeviceName.peek(after),
                      new.sequence >= old.sequence, new.sequence > old.sequence || before == after else {
                    return "replaces the name of device \(hexString(id).prefix(8)) with an older one"
                }
            }
        }
        return nil
    }
}

/// Rosters already checked, by their `devices/` tree id: history changes devices rarely, so a walk over
/// thousands of commits checks a handful of rosters.
final class RosterCache: Sendable {
    private let rosters = Mutex<[ObjectID: DeviceRoster]>([:])
    /// Keys opened for a roster's epochs, by its `devices/` tree id (unwrapping costs a key exchange).
    private let epochKeys = Mutex<[ObjectID: VaultKeys]>([:])

    func keys(_ roster: DeviceRoster, base: VaultKeys) throws(ShadowError) -> VaultKeys {
        guard let tree = roster.tree, !roster.epochs.isEmpty else { return base }
        if let known = epochKeys.withLock({ $0[tree] }) { return known }
        let opened = try roster.keys(base)
        epochKeys.withLock { cache in
            if cache.count >= RosterCache.capacity { cache.removeAll() }
            cache[tree] = opened
        }
        return opened
    }
    /// Rosters kept at most (each is a few KiB).
    static let capacity = 64

    func roster(_ tree: ObjectID, store: VersionStore, keys: VaultKeys, inLocalRemote: Bool = false) throws(ShadowError) -> DeviceRoster {
        let directory = inLocalRemote
            ? try store.remote().directoryBlobs(DevicePaths.directory, ofTree: tree, limit: DevicePaths.fileLimitBytes, maximumCount: DevicePaths.maximumFiles)
            : try store.directoryBlobs(DevicePaths.directory, ofTree: tree, limit: DevicePaths.fileLimitBytes, maximumCount: DevicePaths.maximumFiles)
        guard let directory else { return .empty }
        if let known = rosters.withLock({ $0[directory.tree] }) { return known }
        let roster = try DeviceRoster.check(directory, keys: keys)
        rosters.withLock { cache in
            if cache.count >= RosterCache.capacity { cache.removeAll() }
            cache[directory.tree] = roster
        }
        return roster
    }
}

/// One device as `shadowsync device list` shows it.
public struct DeviceInfo: Sendable {
    /// Its name, or nil when it has none this key can read.
    public let name: String?
    public let id: [UInt8]
    public let role: DeviceRole
    /// The admitting device's id, or nil for the vault key.
    public let admittedBy: [UInt8]?
    public let admittedAtMillis: UInt64
    /// Its newest commit in this history, and that commit's time (nil: none yet).
    public let lastCommit: ObjectID?
    public let lastCommitMillis: UInt64?
    /// Revoked devices stay listed; their signatures are refused from the revocation on.
    public let revoked: Bool
    /// This machine.
    public let isThisDevice: Bool

    /// The name, or the first 8 hex digits of the id.
    public var label: String { name ?? String(hexString(id).prefix(8)) }
}

extension History {
    /// The devices `head`'s tree admits, with their names and each one's newest commit.
    public func devices(head: ObjectID) throws(ShadowError) -> [DeviceInfo] {
        let roster = try HistoryVerifier(keys: keys, store: store).roster(of: head)
        let names = roster.names(keys: keys)
        var last: [[UInt8]: (ObjectID, UInt64)] = [:]
        if keys.canDecrypt {
            for commit in try store.commits(from: head, excluding: nil) {
                let meta = try CommitMessage.parse(try store.commit(commit).message, commit: commit, keys: keys)
                last[meta.deviceID] = (commit, meta.wallTimeMillis)  // parents come first: the newest stays
            }
        }
        return roster.devices.values.map { device in
            let record = device.record
            var by: [UInt8]?
            switch record.admitter {
            case .vaultKey: by = nil
            case .device(let id): by = id
            case .invite(let id): by = roster.invites[id]?.record.inviterID
            }
            return DeviceInfo(name: names[device.id]?.name, id: device.id, role: record.role, admittedBy: by,
                              admittedAtMillis: record.admittedAtMillis, lastCommit: last[device.id]?.0, lastCommitMillis: last[device.id]?.1,
                              revoked: !device.isActive, isThisDevice: keys.device?.id == device.id)
        }.sorted { ($0.admittedAtMillis, hexString($0.id)) < ($1.admittedAtMillis, hexString($1.id)) }
    }

    /// Device names by id as `head` shows them (for log and status).
    public func deviceNames(head: ObjectID) -> [[UInt8]: String] {
        guard let roster = try? HistoryVerifier(keys: keys, store: store).roster(of: head) else { return [:] }
        return roster.names(keys: keys).mapValues(\.name)
    }
}
