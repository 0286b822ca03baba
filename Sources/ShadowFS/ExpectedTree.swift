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

    /// Collects the entries; `build` makes the tree. Paths must be valid `PlainPath` bytes; a path added
    /// twice keeps its first number.
    public struct Builder {
        var arena: [UInt8] = []
        var starts: [Int] = [0]
        var kinds: [Kind] = []
        var stats: [StatKey] = []

        public init(capacity: Int = 0, averagePathBytes: Int = 32) {
            reserve(capacity, pathBytes: capacity * averagePathBytes)
        }

        /// Room for `count` entries holding `pathBytes` bytes of paths in all: growing arrays entry by
        /// entry was a third of building a tree.
        public mutating func reserve(_ count: Int, pathBytes: Int) {
            arena.reserveCapacity(pathBytes); starts.reserveCapacity(count + 1)
            kinds.reserveCapacity(count); stats.reserveCapacity(count)
        }

        public var count: Int { kinds.count }

        public mutating func add(_ path: UnsafeRawBufferPointer, kind: Kind, stat: StatKey) {
            arena.append(contentsOf: path)
            starts.append(arena.count)
            kinds.append(kind)
            stats.append(stat)
        }

        public func build() -> ExpectedTree { ExpectedTree(self) }
    }

    private init(_ b: Builder) {
        count = b.kinds.count
        arena = .allocate(capacity: max(1, b.arena.count))
        _ = arena.initialize(from: b.arena)
        starts = .allocate(capacity: b.starts.count)
        _ = starts.initialize(from: b.starts)
        kinds = .allocate(capacity: max(1, count))
        _ = kinds.initialize(from: b.kinds)
        stats = .allocate(capacity: max(1, count))
        _ = stats.initialize(from: b.stats)
        // At most half full, so a miss (a new file) ends after a probe or two.
        var capacity = 16
        while capacity < 2 * count { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        mask = capacity - 1
        for i in 0..<count {
            let path = path(bytesOf: i)
            let cut = path.lastIndex(of: slash).map { $0 + 1 } ?? 0
            var hasher = Hasher()
            ExpectedTree.feed(&hasher, UnsafeRawBufferPointer(rebasing: path[..<cut]))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: path[cut...]))
            insert(i, hash: hasher.finalize())
        }
    }

    deinit {
        arena.deallocate(); starts.deallocate(); kinds.deallocate(); stats.deallocate(); slots.deallocate()
    }

    private func insert(_ i: Int, hash: Int) {
        let tag = UInt64(UInt(bitPattern: hash) >> 32) << 32
        var slot = hash & mask
        while slots[slot] != 0 {
            let other = Int(slots[slot] & 0xffff_ffff) - 1
            if slots[slot] & ~0xffff_ffff == tag && equal(other, prefix: UnsafeRawBufferPointer(start: nil, count: 0), name: path(bytesOf: i)) {
                return  // a duplicate path: the first one answers
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = tag | UInt64(i + 1)
    }

    /// A directory's part of every hash below it: its path and a slash (nothing for the folder's root).
    public static func hasher(forDirectory prefix: UnsafeRawBufferPointer) -> Hasher {
        var hasher = Hasher()
        feed(&hasher, prefix)
        return hasher
    }

    private static func feed(_ hasher: inout Hasher, _ prefix: UnsafeRawBufferPointer) {
        if !prefix.isEmpty { hasher.combine(bytes: prefix) }
    }

    /// The number of the expected entry at `prefix` + `name` when it is there with exactly this kind and
    /// stat, else nil. `hasher` is `hasher(forDirectory: prefix)`.
    public func settled(prefix: UnsafeRawBufferPointer, hasher: Hasher, name: UnsafeRawBufferPointer,
                        kind: Kind, stat: StatKey) -> Int32? {
        var h = hasher
        h.combine(bytes: name)
        let hash = h.finalize()
        let tag = UInt64(UInt(bitPattern: hash) >> 32) << 32
        var slot = hash & mask
        while slots[slot] != 0 {
            if slots[slot] & ~0xffff_ffff == tag {
                let i = Int(slots[slot] & 0xffff_ffff) - 1
                if equal(i, prefix: prefix, name: name) {
                    return kinds[i] == kind && stats[i] == stat ? Int32(i) : nil
                }
            }
            slot = (slot + 1) & mask
        }
        return nil
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
