public import ShadowCore
import ShadowCrypto

/// An old version of one path: a file's bytes or a symlink's target (`show`, `diff`).
public enum OldVersion: Sendable, Equatable {
    case file([UInt8])
    case symlink(String)
    case directory
}

extension History {
    /// Seconds in a day, for `yesterday` and `N days ago`.
    static let secondsPerDay: UInt64 = 86_400

    /// The commit a revision names, as `restore --at`, `show --at` and `diff --at` take it:
    /// * a commit id from `log` (4 to 40 hex digits);
    /// * `HEAD`, `main` or `@`: the local branch;
    /// * any of these followed by `~N` (or `^`): N commits back along first parents, so a merge's own
    ///   line of history is followed, as `log` lists it;
    /// * a moment: `YYYY-MM-DD` (the end of that day, UTC), `YYYY-MM-DDTHH:MM[:SS]` (UTC), `today`
    ///   (now), `yesterday` (the end of yesterday, UTC), `N days ago`, `N hours ago`: the newest commit on
    ///   the first-parent line made at or before it, by the time its device recorded in it.
    /// `nowMillis`: the current time (Unix milliseconds).
    public func resolveRevision(_ text: String, nowMillis: UInt64) throws(ShadowError) -> ObjectID {
        let revision = text.trimmedWhitespace
        guard let head = try head else {
            throw ShadowError(.notFound, "the folder has no history yet", advice: "run 'shadowsync sync' first")
        }
        // Steps back along first parents: "REV~N", "REV^", "REV~".
        if let tilde = revision.lastIndex(where: { $0 == "~" || $0 == "^" }), tilde != revision.startIndex {
            let base = String(revision[..<tilde])
            let countText = revision[revision.index(after: tilde)...]
            guard let steps = countText.isEmpty ? 1 : Int(countText), steps >= 0 else {
                throw Self.badRevision(text)
            }
            var commit = try resolveRevision(base, nowMillis: nowMillis)
            for n in 0..<steps {
                guard let parent = try store.commit(commit).parents.first else {
                    throw ShadowError(.notFound, "'\(text)' goes back further than the history: it has only \(n) commit(s) before \(base)",
                                      advice: "see 'shadowsync log' for the commits there are")
                }
                commit = parent
            }
            return commit
        }
        if ["head", "main", "@"].contains(revision.lowercased()) { return head }
        if let moment = Self.moment(revision, nowMillis: nowMillis) {
            return try commit(atOrBefore: moment, from: head, named: text)
        }
        guard (4...40).contains(revision.count), revision.allSatisfy(\.isHexDigit) else { throw Self.badRevision(text) }
        return try store.resolve(revision.lowercased())
    }

    static func badRevision(_ text: String) -> ShadowError {
        ShadowError(.invalidArgument, "'\(text)' is not a revision",
                    advice: "give a commit id from 'shadowsync log', HEAD~N, a date (2026-11-01, 2026-11-01T14:30), 'yesterday' or 'N days ago'")
    }

    /// The newest commit on the first-parent line from `head` whose recorded time is at or before `moment`.
    func commit(atOrBefore moment: UInt64, from head: ObjectID, named text: String) throws(ShadowError) -> ObjectID {
        var commit: ObjectID? = head
        var oldest: UInt64?
        while let current = commit {
            let info = try store.commit(current)
            let time = try CommitMessage.parse(info.message, commit: current, keys: keys).wallTimeMillis
            if time <= moment { return current }
            oldest = time
            commit = info.parents.first
        }
        throw ShadowError(.notFound, "nothing was synced at \(isoTime(moment)) ('\(text)'): the oldest commit is from \(oldest.map(isoTime) ?? "never")",
                          advice: "give a later time, or a commit id from 'shadowsync log'")
    }

    /// A moment a revision names, in Unix milliseconds; nil when it names none.
    static func moment(_ text: String, nowMillis: UInt64) -> UInt64? {
        let lower = text.lowercased()
        let dayMillis = secondsPerDay * 1000
        switch lower {
        case "now", "today": return nowMillis
        case "yesterday": return nowMillis / dayMillis * dayMillis - 1
        default: break
        }
        let words = lower.split(separator: " ")
        if words.count == 3, words[2] == "ago", let n = UInt64(words[0]) {
            let unit: UInt64
            switch words[1] {
            case "day", "days": unit = dayMillis
            case "hour", "hours": unit = 3_600_000
            case "minute", "minutes": unit = 60_000
            case "second", "seconds": unit = 1000
            default: return nil
            }
            return nowMillis > n * unit ? nowMillis - n * unit : 0
        }
        return parseUTC(text)
    }

    /// `YYYY-MM-DD` (its last millisecond) or `YYYY-MM-DDTHH:MM[:SS][Z]`, UTC; nil for anything else.
    static func parseUTC(_ text: String) -> UInt64? {
        var t = text
        if t.hasSuffix("Z") { t.removeLast() }
        let parts = t.split(separator: "T", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].count == 4, date[1].count == 2, date[2].count == 2,
              let y = Int64(date[0]), let m = Int64(date[1]), let d = Int64(date[2]), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var seconds: Int64 = 86_399, extraMillis: Int64 = 999  // a date alone: the end of that day
        if parts.count == 2 {
            let clock = parts[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), clock.allSatisfy({ $0.count == 2 }),
                  let h = Int64(clock[0]), let mi = Int64(clock[1]), h < 24, mi < 60 else { return nil }
            let s = clock.count == 3 ? Int64(clock[2]) : 0
            guard let s, s < 60 else { return nil }
            seconds = h * 3600 + mi * 60 + s
            extraMillis = 0
        }
        // Days from civil (Howard Hinnant's algorithm), the inverse of isoTime's.
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let millis = (days * 86_400 + seconds) * 1000 + extraMillis
        return millis >= 0 ? UInt64(millis) : nil
    }

    /// `path` as it was at `commit`: a file's decrypted bytes (authenticated), a symlink's target.
    public func version(of path: PlainPath, at commit: ObjectID) throws(ShadowError) -> OldVersion {
        let tree = try HistoryVerifier(keys: keys, store: store).decryptTree(of: commit)
        guard let entry = tree[path] else {
            throw ShadowError(.notFound, "\(path) does not exist at \(commit.short)", advice: "see 'shadowsync log \(path)' for the commits that touched it")
        }
        switch entry.record.kind {
        case .directory: return .directory
        case .symlink(let target): return .symlink(String(decoding: target, as: UTF8.self))
        case .file:
            // Through the segment list when the file has one, as apply and restore read it.
            let sink = MemorySink()
            _ = try entry.decrypt(from: store, content: FileContent(keys: try keys.requireRead()), to: sink)
            return .file(sink.bytes)
        }
    }
}
