public import ShadowCore

/// Which paths of the folder are not synced, in gitignore syntax (gitignore(5)): `#` comments, `!`
/// negation (the last matching rule wins), a trailing `/` for directories only, a `/` at the start or
/// inside anchoring the pattern to the folder's root (else it matches a name at any depth), `*`, `?`,
/// `[...]` and `**`. Ignoring a path only stops this machine sending its changes; it never deletes it
/// anywhere (DESIGN rule: the scan keeps ignored paths' last synced state).
public struct IgnoreRules: Sendable {
    /// A subject being matched: bytes borrowed from a path or straight from a dirent, never copied.
    typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    /// How a pattern is matched, once its `Head` admitted the subject.
    struct Rule: Sendable {
        let pattern: [UInt8]
        /// Most patterns (`*.swp`, `.#*`, `4913`) need no glob engine, and every rule is tried against
        /// every scanned path.
        let shape: Shape

        enum Shape: Sendable {
            case literal, suffix([UInt8]), prefix([UInt8]), glob
        }

        init(pattern: [UInt8]) {
            self.pattern = pattern
            let plain = { (b: ArraySlice<UInt8>) in !b.contains { Rule.isSpecial($0) } && !b.contains(UInt8(ascii: "/")) }
            if plain(pattern[...]) {
                shape = .literal
            } else if pattern.first == UInt8(ascii: "*"), plain(pattern.dropFirst()) {
                shape = .suffix(Array(pattern.dropFirst()))
            } else if pattern.last == UInt8(ascii: "*"), plain(pattern.dropLast()) {
                shape = .prefix(Array(pattern.dropLast()))
            } else {
                shape = .glob
            }
        }

        static func isSpecial(_ b: UInt8) -> Bool {
            b == UInt8(ascii: "*") || b == UInt8(ascii: "?") || b == UInt8(ascii: "[") || b == UInt8(ascii: "\\")
        }

        func matches(_ s: Bytes, glob: (ArraySlice<UInt8>, Bytes) -> Bool) -> Bool {
            switch shape {
            case .literal: return s.elementsEqual(pattern)
            case .suffix(let tail): return !s.contains(UInt8(ascii: "/")) && s.count >= tail.count && s.suffix(tail.count).elementsEqual(tail)
            case .prefix(let head): return s.starts(with: head) && !s.dropFirst(head.count).contains(UInt8(ascii: "/"))
            case .glob: return glob(pattern[...], s)
            }
        }
    }

    /// A rule's flags and the test every subject meets first, without touching the rule's arrays:
    /// copying a `Rule` retains them, and the walking threads retaining the same arrays for every file
    /// contend on them (perf: a tenth of a 100k-file scan's CPU). `heads[i]` is `rules[i]`'s.
    struct Head: Sendable {
        let negated: Bool
        let directoryOnly: Bool
        let anchored: Bool
        /// The pattern's first and last bytes when they are plain characters: every subject that could
        /// match starts and ends with them, so most paths are turned away with two comparisons.
        let first: UInt8?
        let last: UInt8?

        init(pattern: [UInt8], negated: Bool, directoryOnly: Bool, anchored: Bool) {
            self.negated = negated; self.directoryOnly = directoryOnly; self.anchored = anchored
            first = pattern.first.flatMap { Rule.isSpecial($0) ? nil : $0 }
            // A trailing `]` closes a class; a byte after a backslash is literal, but rare enough to skip.
            last = pattern.last.flatMap { Rule.isSpecial($0) || $0 == UInt8(ascii: "]") ? nil : $0 }
                .flatMap { pattern.count >= 2 && pattern[pattern.count - 2] == UInt8(ascii: "\\") ? nil : $0 }
        }

        /// False when the rule cannot match `isDirectory` entries, or cannot change the verdict `ignored`.
        func applies(isDirectory: Bool, ignored: Bool) -> Bool { !(directoryOnly && !isDirectory) && ignored == negated }

        /// False when no subject starting with `start` and ending with `end` can match.
        func admits(start: UInt8?, end: UInt8?) -> Bool { (first == nil || start == first) && (last == nil || end == last) }
    }

    private var rules: [Rule] = []
    private var heads: [Head] = []

    /// The synced ignore file at the folder's root, and the machine-local one beside it (never synced:
    /// it ignores itself by default).
    public static let syncedFileName = ".shadowsyncignore"
    public static let localFileName = ".shadowsyncignore.local"

    /// Editors' temporary and swap files, and lock files of office suites: half-written or private by
    /// nature (vim, emacs (its `#name#` written `\#` so it is not a comment), kate, gedit/GNOME, LibreOffice, vim's 4913 write test), plus the local ignore file.
    public static let defaultPatterns = [
        "*.swp", "*.swo", "*.swx", ".*.sw?", "*~", ".#*", "\\#*#", "4913", "*.kate-swp", ".goutputstream-*",
        ".~lock.*#", "/" + localFileName,
    ]

    public init(_ text: String = "") { add(text) }

    public static var defaults: IgnoreRules { IgnoreRules(defaultPatterns.joined(separator: "\n")) }

    /// Loads the defaults, then the folder's synced and local ignore files when present.
    public static func load(folder: BytePath) -> IgnoreRules {
        var rules = defaults
        for name in [syncedFileName, localFileName] {
            if let bytes = try? FileSystem.readFile(folder.appending(name), limit: 1 << 20) {
                rules.add(String(decoding: bytes, as: UTF8.self))
            }
        }
        return rules
    }

    public mutating func add(_ text: String) {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var line = Array(raw.utf8)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            // Trailing spaces are not significant unless escaped (gitignore(5)).
            while line.last == UInt8(ascii: " ") && !(line.count >= 2 && line[line.count - 2] == UInt8(ascii: "\\")) { line.removeLast() }
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            var negated = false
            if first == UInt8(ascii: "!") { negated = true; line.removeFirst() }
            else if first == UInt8(ascii: "\\") { line.removeFirst() }
            var directoryOnly = false
            if line.last == UInt8(ascii: "/") { directoryOnly = true; line.removeLast() }
            guard !line.isEmpty else { continue }
            var anchored = line.dropLast().contains(UInt8(ascii: "/"))
            if line.first == UInt8(ascii: "/") { anchored = true; line.removeFirst() }
            rules.append(Rule(pattern: line))
            heads.append(Head(pattern: line, negated: negated, directoryOnly: directoryOnly, anchored: anchored))
        }
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// True when `path` is ignored. A path below an ignored directory is ignored too (the scan does not
    /// enter it), as in git.
    public func ignores(_ path: PlainPath, isDirectory: Bool) -> Bool {
        path.bytes.withUnsafeBufferPointer { buffer in
            let bytes = buffer[...]
            // Parents first: an ignored parent directory decides.
            var i = bytes.startIndex
            while let slash = bytes[i...].firstIndex(of: UInt8(ascii: "/")) {
                if slash > bytes.startIndex, matches(bytes[..<slash], isDirectory: true) { return true }
                i = slash + 1
            }
            return matches(bytes, isDirectory: isDirectory)
        }
    }

    /// True when `path` itself is ignored, its parent directories being known not to be: what a walk
    /// that never enters an ignored directory asks, without re-matching every parent for every file.
    public func ignoresEntry(_ path: PlainPath, isDirectory: Bool) -> Bool {
        path.bytes.withUnsafeBufferPointer { matches($0[...], isDirectory: isDirectory) }
    }

    /// `ignoresEntry` for the entry `name` of the directory `parent` (nil: the folder's root), asked by
    /// the scan before it builds the entry's path: only a rule anchored to the root needs the whole
    /// path, and it is built only when such a rule could match.
    public func ignoresEntry(in parent: PlainPath?, name: UnsafeRawBufferPointer, isDirectory: Bool) -> Bool {
        let name = name.assumingMemoryBound(to: UInt8.self)[...]
        return verdict(name: name, whole: parent.map { .below($0) } ?? .known(name), isDirectory: isDirectory)
    }

    private func matches(_ full: Bytes, isDirectory: Bool) -> Bool {
        let name = full.lastIndex(of: UInt8(ascii: "/")).map { full[($0 + 1)...] } ?? full
        return verdict(name: name, whole: .known(full), isDirectory: isDirectory)
    }

    /// The whole path an anchored rule matches: at hand, or the parent's path with the name still to add.
    private enum Whole {
        case known(Bytes)
        case below(PlainPath)

        var first: UInt8? {
            switch self {
            case .known(let b): return b.first
            case .below(let parent): return parent.bytes.first
            }
        }
    }

    private func verdict(name: Bytes, whole: Whole, isDirectory: Bool) -> Bool {
        var built: [UInt8]?
        var ignored = false
        // Only a rule that could flip the verdict is worth matching: an ignoring rule while not ignored,
        // a negated one while ignored.
        for (i, head) in heads.enumerated() where head.applies(isDirectory: isDirectory, ignored: ignored) {
            // An anchored rule matches the whole path, which ends as the name does; any other the name.
            guard head.admits(start: head.anchored ? whole.first : name.first, end: name.last) else { continue }
            let hit: Bool
            switch (head.anchored, whole) {
            case (false, _):
                hit = rules[i].matches(name, glob: glob)
            case (true, .known(let full)):
                hit = rules[i].matches(full, glob: glob)
            case (true, .below(let parent)):
                let subject = built ?? parent.bytes + [UInt8(ascii: "/")] + Array(name)
                built = subject
                hit = subject.withUnsafeBufferPointer { rules[i].matches($0[...], glob: glob) }
            }
            if hit { ignored = !head.negated }
        }
        return ignored
    }

    /// gitignore globbing: `*` and `?` stop at `/`, `**` crosses it, `[...]` is a class (with `!` or `^`).
    private func glob(_ p: ArraySlice<UInt8>, _ s: Bytes) -> Bool {
        var p = p, s = s
        while let c = p.first {
            switch c {
            case UInt8(ascii: "*"):
                let double = p.dropFirst().first == UInt8(ascii: "*")
                let rest = p.dropFirst(double ? 2 : 1)
                if double && rest.first == UInt8(ascii: "/") {
                    // `**/` also matches zero directories.
                    if glob(rest.dropFirst(), s) { return true }
                }
                if rest.isEmpty { return double || !s.contains(UInt8(ascii: "/")) }
                var i = s.startIndex
                while true {
                    if glob(rest, s[i...]) { return true }
                    if i == s.endIndex || (!double && s[i] == UInt8(ascii: "/")) { return false }
                    i += 1
                }
            case UInt8(ascii: "?"):
                guard let x = s.first, x != UInt8(ascii: "/") else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            case UInt8(ascii: "["):
                guard let x = s.first, x != UInt8(ascii: "/"), let close = p.dropFirst(2).firstIndex(of: UInt8(ascii: "]")) else {
                    if s.first == c { p = p.dropFirst(); s = s.dropFirst(); continue }
                    return false
                }
                var set = p[(p.startIndex + 1)..<close]
                let invert = set.first == UInt8(ascii: "!") || set.first == UInt8(ascii: "^")
                if invert { set = set.dropFirst() }
                var inSet = false, j = set.startIndex
                while j < set.endIndex {
                    if j + 2 < set.endIndex, set[j + 1] == UInt8(ascii: "-") {
                        if set[j] <= x && x <= set[j + 2] { inSet = true }
                        j += 3
                    } else {
                        if set[j] == x { inSet = true }
                        j += 1
                    }
                }
                guard inSet != invert else { return false }
                p = p[(close + 1)...]; s = s.dropFirst()
            case UInt8(ascii: "\\") where p.count > 1:
                guard s.first == p[p.startIndex + 1] else { return false }
                p = p.dropFirst(2); s = s.dropFirst()
            default:
                guard s.first == c else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            }
        }
        return s.isEmpty
    }
}
