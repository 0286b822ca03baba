#if canImport(Glibc)
@preconcurrency import Glibc
#endif
public import ShadowCore

/// What a scan expects to find unchanged: paths with the kind and the stat the caller trusts for them
/// (the engine: index entries whose stat vouches for their content). A scanned file or directory that
/// matches one is settled and reported by its number here, not as a path: the walk of an unchanged
/// tree then builds no path and allocates nothing per file, and hashes each name once, with the
/// directory's part of the hash computed once per directory (as git compares an index entry with an
/// lstat and nothing more).
///
/// Immutable once built, and read by every walking thread at once.
public final class ExpectedTree: @unchecked Sendable {  // nothing changes after init
    public enum Kind: UInt8, Sendable {
        case file, executableFile, directory
    }

    public let count: Int
    /// Path bytes back to back; path `i` is `arena[starts[i] ..< starts[i + 1]]`.
    private let arena: UnsafeMutableBufferPointer<UInt8>
    private let starts: UnsafeMutableBufferPointer<Int>
    private let kinds: UnsafeMutableBufferPointer<Kind>
    private let stats: UnsafeMutableBufferPointer<StatKey>
    /// Open addressing, linear probing: 0 is empty, else the hash's top 32 bits and `i + 1` below (the
    /// stat index's 1 GiB limit keeps entries far below 2^31).
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int

    /// Collects the entries; `build` hands its memory to the tree, uncopied (a copy was a sixth of
    /// loading a 10k-entry index). Paths must be valid `PlainPath` bytes; a path added twice keeps its
    /// first number.
    public final class Builder {
        // One owner on one thread, and `add` runs once per index entry: the runtime's exclusivity
        // checks on these fields were a seventh of loading an index.
        @exclusivity(unchecked) private var arena: UnsafeMutableBufferPointer<UInt8>
        @exclusivity(unchecked) private var arenaUsed = 0
        /// `starts[0 ... count]`: where each path begins, and where the last one ends.
        @exclusivity(unchecked) private var starts: UnsafeMutableBufferPointer<Int>
        @exclusivity(unchecked) private var kinds: UnsafeMutableBufferPointer<Kind>
        @exclusivity(unchecked) private var stats: UnsafeMutableBufferPointer<StatKey>
        @exclusivity(unchecked) public private(set) var count = 0

        public init(capacity: Int = 0, averagePathBytes: Int = 32) {
            arena = .allocate(capacity: max(16, capacity * averagePathBytes))
            starts = .allocate(capacity: capacity + 1)
            starts[0] = 0
            kinds = .allocate(capacity: max(1, capacity))
            stats = .allocate(capacity: max(1, capacity))
        }

        deinit {
            arena.deallocate(); starts.deallocate(); kinds.deallocate(); stats.deallocate()
        }

        /// Room for `count` entries holding `pathBytes` bytes of paths in all, so adding never grows.
        public func reserve(_ count: Int, pathBytes: Int) {
            Builder.grow(&arena, used: arenaUsed, to: pathBytes)
            Builder.grow(&starts, used: self.count + 1, to: count + 1)
            Builder.grow(&kinds, used: self.count, to: count)
            Builder.grow(&stats, used: self.count, to: count)
        }

        private static func grow<T>(_ buffer: inout UnsafeMutableBufferPointer<T>, used: Int, to capacity: Int) {
            guard capacity > buffer.count else { return }
            let bigger = UnsafeMutableBufferPointer<T>.allocate(capacity: capacity)
            if used > 0 { bigger.baseAddress!.moveInitialize(from: buffer.baseAddress!, count: used) }
            buffer.deallocate()
            buffer = bigger
        }

        public func add(_ path: UnsafeRawBufferPointer, kind: Kind, stat: StatKey) {
            if arenaUsed + path.count > arena.count { Builder.grow(&arena, used: arenaUsed, to: 2 * (arenaUsed + path.count)) }
            if count + 1 >= starts.count { Builder.grow(&starts, used: count + 1, to: 2 * (count + 2)) }
            if count >= kinds.count {
                Builder.grow(&kinds, used: count, to: 2 * (count + 1))
                Builder.grow(&stats, used: count, to: 2 * (count + 1))
            }
            if let base = path.baseAddress {
                UnsafeMutableRawPointer(arena.baseAddress! + arenaUsed).copyMemory(from: base, byteCount: path.count)
            }
            arenaUsed += path.count
            kinds[count] = kind
            stats[count] = stat
            count += 1
            starts[count] = arenaUsed
        }

        /// The tree, which takes this builder's memory: the builder is empty afterwards.
        public func build() -> ExpectedTree {
            let tree = ExpectedTree(count: count, arena: arena, starts: starts, kinds: kinds, stats: stats)
            arena = .allocate(capacity: 16); starts = .allocate(capacity: 1); starts[0] = 0
            kinds = .allocate(capacity: 1); stats = .allocate(capacity: 1)
            arenaUsed = 0; count = 0
            return tree
        }
    }

    private init(count: Int, arena: UnsafeMutableBufferPointer<UInt8>, starts: UnsafeMutableBufferPointer<Int>,
                 kinds: UnsafeMutableBufferPointer<Kind>, stats: UnsafeMutableBufferPointer<StatKey>) {
        self.count = count
        self.arena = arena
        self.starts = starts
        self.kinds = kinds
        self.stats = stats
        // At most half full, so a miss (a new file) ends after a probe or two.
        var capacity = 16
        while capacity < 2 * count { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        mask = capacity - 1
        for i in 0..<count {
            let path = path(bytesOf: i)
            let cut = path.lastIndex(of: slash).map { $0 + 1 } ?? 0
            // Hashed as the scan hashes it: the directory's part, then the name.
            var hasher = ExpectedTree.hasher(forDirectory: UnsafeRawBufferPointer(rebasing: path[..<cut]))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: path[cut...]))
            insert(i, hash: hasher.finalize())
        }
    }

    deinit {
        arena.deallocate(); starts.deallocate(); kinds.deallocate(); stats.deallocate(); slots.deallocate()
    }

    private func insert(_ i: Int, hash: Int) {
        let (slot, found) = probe(hash: hash, prefix: UnsafeRawBufferPointer(start: nil, count: 0), name: path(bytesOf: i))
        if found == nil { slots[slot] = ExpectedTree.tag(hash) | UInt64(i + 1) }  // else a duplicate: the first one answers
    }

    /// The entry holding `prefix` + `name` if any, else the empty slot where it would go.
    private func probe(hash: Int, prefix: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer) -> (slot: Int, found: Int?) {
        let tag = ExpectedTree.tag(hash)
        var slot = hash & mask
        while slots[slot] != 0 {
            if slots[slot] & ~0xffff_ffff == tag {
                let i = Int(slots[slot] & 0xffff_ffff) - 1
                if equal(i, prefix: prefix, name: name) { return (slot, i) }
            }
            slot = (slot + 1) & mask
        }
        return (slot, nil)
    }

    private static func tag(_ hash: Int) -> UInt64 { UInt64(UInt(bitPattern: hash) >> 32) << 32 }

    /// A directory's part of every hash below it: its path and a slash (nothing for the folder's root).
    public static func hasher(forDirectory prefix: UnsafeRawBufferPointer) -> Hasher {
        var hasher = Hasher()
        if !prefix.isEmpty { hasher.combine(bytes: prefix) }
        return hasher
    }

    /// The number of the expected entry at `prefix` + `name` when it is there with exactly this kind and
    /// stat, else nil. `hasher` is `hasher(forDirectory: prefix)`.
    public func settled(prefix: UnsafeRawBufferPointer, hasher: Hasher, name: UnsafeRawBufferPointer,
                        kind: Kind, stat: StatKey) -> Int32? {
        var h = hasher
        h.combine(bytes: name)
        guard let i = probe(hash: h.finalize(), prefix: prefix, name: name).found else { return nil }
        return kinds[i] == kind && stats[i] == stat ? Int32(i) : nil
    }

    private func path(bytesOf i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.baseAddress! + starts[i], count: starts[i + 1] - starts[i])
    }

    private func equal(_ i: Int, prefix: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer) -> Bool {
        let stored = path(bytesOf: i)
        guard stored.count == prefix.count + name.count else { return false }
        return (prefix.isEmpty || memcmp(stored.baseAddress!, prefix.baseAddress!, prefix.count) == 0)
            && (name.isEmpty || memcmp(stored.baseAddress! + prefix.count, name.baseAddress!, name.count) == 0)
    }

    /// The path of entry `i` (a number `settled` returned); nil only if the builder was given bytes that
    /// are not a path.
    public func path(_ i: Int32) -> PlainPath? { try? PlainPath(bytes: Array(path(bytesOf: Int(i)))) }
}

private let slash = UInt8(ascii: "/")
