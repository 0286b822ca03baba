#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore
import ShadowCrypto
import ShadowSystem

/// Where one synced folder lives on this machine.
public struct FolderLocation: Sendable {
    /// The plaintext folder the user edits.
    public let plain: BytePath
    /// The shadow ciphertext tree: a git work tree holding only encrypted objects (and the excluded key file).
    public let shadow: BytePath
    /// Agent state: index, journal, lock, device identity. Never synced.
    public let state: BytePath

    public init(plain: BytePath, shadow: BytePath, state: BytePath) {
        self.plain = plain
        self.shadow = shadow
        self.state = state
    }

    /// The key config file sits at the shadow root; it is excluded from git and refused before every commit.
    public static let keyFileName = "shadowsync.key"
    public var keyFile: BytePath { shadow.appending(FolderLocation.keyFileName) }
    var indexFile: BytePath { state.appending("index") }
    var stateFile: BytePath { state.appending("state") }
    var journalFile: BytePath { state.appending("journal") }
    public var lockFile: BytePath { state.appending("lock") }
    var conflictLog: BytePath { state.appending("conflicts.log") }
}

/// Small durable facts about this agent and what it has verified. Text, one fact per line.
struct FolderState: Sendable {
    /// Random, made once per folder and machine; appears only inside encrypted commit metadata.
    var deviceID: [UInt8]
    /// The last sequence number this device used (each commit takes the next; never reused).
    var sequence: UInt64 = 0
    /// The newest remote head this machine verified or pushed: the server must never go behind it.
    var lastVerified: ObjectID?
    /// Per-device sequence numbers seen in verified history (replay detection).
    var peers: [String: UInt64] = [:]
    /// Per device (hex id), the newest time (Unix milliseconds) of its commits seen in verified history,
    /// or of this device's own last push: when each device last pushed, as far as this machine knows.
    var lastPushed: [String: UInt64] = [:]

    func encode() -> [UInt8] {
        var text = "device \(hexString(deviceID))\nsequence \(sequence)\nverified \(lastVerified?.hex ?? "-")\n"
        for (device, seq) in peers.sorted(by: { $0.key < $1.key }) { text += "peer \(device) \(seq)\n" }
        for (device, millis) in lastPushed.sorted(by: { $0.key < $1.key }) { text += "pushed \(device) \(millis)\n" }
        return Array(text.utf8)
    }

    static func decode(_ bytes: [UInt8]) throws(ShadowError) -> FolderState {
        var state = FolderState(deviceID: [])
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            switch (f.first, f.count) {
            case ("device", 2):
                guard let d = bytesFromHex(f[1]), d.count == KeySizes.deviceID else { throw corrupt("device") }
                state.deviceID = d
            case ("sequence", 2):
                guard let s = UInt64(f[1]) else { throw corrupt("sequence") }
                state.sequence = s
            case ("verified", 2):
                if f[1] != "-" {
                    guard let v = ObjectID(hex: f[1]) else { throw corrupt("verified") }
                    state.lastVerified = v
                }
            case ("peer", 3):
                guard let s = UInt64(f[2]) else { throw corrupt("peer") }
                state.peers[f[1]] = s
            case ("pushed", 3):
                guard let t = UInt64(f[2]) else { throw corrupt("pushed") }
                state.lastPushed[f[1]] = t
            default: throw corrupt(String(line.prefix(20)))
            }
        }
        guard state.deviceID.count == KeySizes.deviceID else { throw corrupt("device") }
        return state
    }

    private static func corrupt(_ what: String) -> ShadowError {
        ShadowError(.malformedObject, "the folder state file is damaged (\(what))",
                    advice: "restore it from a backup, or join the folder again into a new directory")
    }

    static func load(_ path: BytePath) throws(ShadowError) -> FolderState {
        try decode(try FileSystem.readFile(path, limit: 1 << 20))
    }

    func save(_ path: BytePath) throws(ShadowError) {
        try FileSystem.writeAtomically(encode(), to: path, mode: 0o600)
    }
}

enum Clock {
    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func nowMillis() -> UInt64 { UInt64(max(0, nowNs() / 1_000_000)) }
}
