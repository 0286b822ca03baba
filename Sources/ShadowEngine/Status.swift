public import ShadowCore
import ShadowCrypto
import ShadowSystem

/// What `shadowsync status` shows, without touching the network.
public struct FolderStatus: Sendable {
    public let folder: String
    public let deviceID: String
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

    public var inSync: Bool { needsRepair == nil && pending.isEmpty && head == lastVerified && (remoteHead == nil || remoteHead == head) }
}

extension SyncEngine {
    public func status() throws(ShadowError) -> FolderStatus {
        var repair = untrusted
        if repair == nil { repair = try foreignHistory(try head) }
        let (plan, _) = try scanLocal(options: SyncOptions(allowMassDelete: true))
        var pending: [String] = []
        for item in plan.encrypt { pending.append("\(index.entries[item.path] == nil ? "+" : "M") \(item.path)") }
        for p in plan.records.keys { pending.append("\(index.entries[p] == nil ? "+" : "M") \(p)") }
        for p in plan.fileRecords.keys { pending.append("M \(p)") }
        for p in plan.deleted { pending.append("- \(p)") }
        return FolderStatus(folder: location.plain.description, deviceID: String(hexString(state.deviceID).prefix(8)), readOnly: readOnly,
                            head: try head, lastVerified: state.lastVerified,
                            remoteHead: try store.reference("refs/remotes/origin/main"),
                            pending: pending.sorted { $0.dropFirst(2) < $1.dropFirst(2) },
                            conflictCopies: conflictCopies().map(\.description), sequence: state.sequence,
                            needsRepair: repair, devicePushes: state.lastPushed)
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
