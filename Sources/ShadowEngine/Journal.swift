import ShadowCore
import ShadowSystem

/// The phase a sync pass is in, written before each step that changes the shadow tree, the branch or
/// the plaintext, so a run killed at any point knows what to finish or undo (DESIGN.md, crash safety).
enum JournalPhase: Equatable, Sendable {
    case idle
    /// Writing objects for a local commit on top of `parent`.
    case commit(parent: ObjectID?)
    /// Writing objects for a merge on top of `parent`.
    case merge(parent: ObjectID?)
    /// The branch is (or is about to be) at `target`; the plaintext is being brought to it.
    case apply(target: ObjectID, from: ObjectID?)

    func encode() -> [UInt8] {
        switch self {
        case .idle: return Array("idle\n".utf8)
        case .commit(let p): return Array("commit \(p?.hex ?? "-")\n".utf8)
        case .merge(let p): return Array("merge \(p?.hex ?? "-")\n".utf8)
        case .apply(let t, let f): return Array("apply \(t.hex) \(f?.hex ?? "-")\n".utf8)
        }
    }

    static func decode(_ bytes: [UInt8]) throws(ShadowError) -> JournalPhase {
        let f = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        func oid(_ s: String) throws(ShadowError) -> ObjectID? {
            if s == "-" { return nil }
            guard let o = ObjectID(hex: s) else { throw ShadowError(.malformedObject, "the journal is damaged") }
            return o
        }
        switch (f.first, f.count) {
        case ("idle", 1): return .idle
        case ("commit", 2): return .commit(parent: try oid(f[1]))
        case ("merge", 2): return .merge(parent: try oid(f[1]))
        case ("apply", 3):
            guard let t = try oid(f[1]) else { break }
            return .apply(target: t, from: try oid(f[2]))
        default: break
        }
        throw ShadowError(.malformedObject, "the journal is damaged")
    }

    static func load(_ path: BytePath) throws(ShadowError) -> JournalPhase {
        guard FileSystem.exists(path) else { return .idle }
        return try decode(try FileSystem.readFile(path, limit: 4096))
    }

    func save(_ path: BytePath) throws(ShadowError) {
        try FileSystem.writeAtomically(encode(), to: path, mode: 0o600)
    }
}
