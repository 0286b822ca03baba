public import ShadowCore
import ShadowCrypto
import ShadowSystem

/// What `shadowsync status` shows, without touching the network.
public struct FolderStatus: Sendable {
    public let folder: String
    public let deviceID: String
    /// This device's name: as published in the local history, else as requested at init/join/rename.
    public let deviceName: String?
    public let readOnly: Bool
    public let head: ObjectID?
    /// Newest remote head verified or pushed by this machine.
    public let lastVerified: ObjectID?
    /// What the last fetch saw on the remote (not yet verified if it differs from lastVerified).
    public let remoteHead: ObjectID?
    /// Local changes the next sync would commit ("+ path", "M path", "- path").
    public let pending: [String]
    /// Conflict copies present in the folder.
    public let conflictCopies: [String]
    public let sequence: UInt64
    /// Set when the shadow repository holds a commit ShadowSync did not make: nothing syncs until `repair`.
    public let needsRepair: ShadowError?
    /// When each known device last pushed (device id in hex, Unix milliseconds): `SyncEngine.devicePushes`.
    public let devicePushes: [String: UInt64]
    /// Read without the vault key (it needs a passphrase nobody can type now): `pending` is unknown and
    /// empty, `readOnly` false, the device name the one requested, and `needsRepair` unchecked.
    public var keyLocked = false

    public var inSync: Bool {
        !keyLocked && needsRepair == nil && pending.isEmpty && head == lastVerified && (remoteHead == nil || remoteHead == head)
    }
}

extension SyncEngine {
    /// `scanning` false: what the last pass knew, without reading the folder (a daemon's `status`
    /// between passes: its watcher counts the changes since); `pending` is then empty.
    public func status(scanning: Bool = true) throws(ShadowError) -> FolderStatus {
        var repair = untrusted
        if repair == nil { repair = try foreignHistory(try head) }
        var pending: [String] = []
        if scanning {
            let (plan, _) = try scanLocal(options: SyncOptions(allowMassDelete: true))
            for item in plan.encrypt { pending.append("\(index.entries[item.path] == nil ? "+" : "M") \(item.path)") }
            for p in plan.records.keys { pending.append("\(index.entries[p] == nil ? "+" : "M") \(p)") }
            for p in plan.fileRecords.keys { pending.append("M \(p)") }
            for p in plan.deleted { pending.append("- \(p)") }
        }
        let published = try head.flatMap { History(keys: keys, store: store).deviceNames(head: $0)[state.deviceID] }
        return FolderStatus(folder: location.plain.description, deviceID: String(hexString(state.deviceID).prefix(8)),
                            deviceName: published ?? location.requestedDeviceName(), readOnly: readOnly,
                            head: try head, lastVerified: state.lastVerified,
                            remoteHead: try store.reference("refs/remotes/origin/main"),
                            pending: pending.sorted { $0.dropFirst(2) < $1.dropFirst(2) },
                            conflictCopies: conflictCopies().map(\.description), sequence: state.sequence,
                            needsRepair: repair, devicePushes: state.lastPushed)
    }

    /// A folder's status from its files alone, for when its key cannot be unlocked (`FolderStatus.keyLocked`):
    /// the agent state, the index and the branches; nothing is decrypted or verified, nothing written.
    public static func statusWithoutKey(location: FolderLocation, store: LocalHistory) throws(ShadowError) -> FolderStatus {
        let state = try FolderState.load(location.stateFile)
        var index = SyncIndex.load(location.indexFile) ?? SyncIndex()
        var status = FolderStatus(folder: location.plain.description, deviceID: String(hexString(state.deviceID).prefix(8)),
                                  deviceName: location.requestedDeviceName(), readOnly: false,
                                  head: try store.reference(ShadowRefs.main), lastVerified: state.lastVerified,
                                  remoteHead: try store.reference(ShadowRefs.remoteTracking), pending: [],
                                  conflictCopies: index.entries.keys.filter { ConflictNames.isConflictCopy($0) }.sorted().map(\.description),
                                  sequence: state.sequence, needsRepair: nil, devicePushes: state.lastPushed)
        status.keyLocked = true
        return status
    }

    /// Conflict copies the folder holds (synced ones; a copy made by the last apply is committed next pass).
    public func conflictCopies() -> [PlainPath] {
        index.entries.keys.filter { ConflictNames.isConflictCopy($0) }.sorted()
    }

    /// The conflict log of this machine, oldest first.
    public func conflictLog() -> [String] {
        guard let bytes = try? FileSystem.readFile(location.conflictLog, limit: 1 << 22) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
