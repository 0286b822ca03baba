import Testing
import TestSupport
import Foundation
import Synchronization
import ShadowCore
import ShadowSystem
@testable import ShadowGit

/// Real libgit2 against a real bare repository on the local file system (the embedded default remote).
@Suite struct RepositoryTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "shadowgit-test-") }

    func write(_ repo: GitRepository, _ path: String, _ text: String) throws {
        let full = repo.path.appending(path)
        try FileSystem.createDirectories(full.directory, mode: 0o755)
        try FileSystem.writeAtomically(Array(text.utf8), to: full, mode: 0o644)
    }

    /// A stand-in signer: the git layer only carries the text it is given.
    func fakeSign(_ data: [UInt8]) -> String { String(format: "%016llx", UInt64(data.count) &* 0x9e37_79b9) }

    /// A push sends the head its caller verified or nothing: main moved since (someone ran git in the
    /// shadow repository) leaves the remote as it was, through the local fast path.
    @Test func aPushOfAHeadThatMovedSendsNothing() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remotePath = dir.appending("remote.git")
        try GitRepository.createBare(at: remotePath)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remotePath.description)
        try write(a, "d/a/b/one.n", "record")
        let c1 = try a.createCommit(tree: try a.stageAll(), parents: [], message: "one") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        try a.push(expecting: c1)
        try write(a, "d/a/b/two.n", "record")
        let c2 = try a.createCommit(tree: try a.stageAll(), parents: [c1], message: "two") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)
        do {
            try a.push(expecting: c1)
            Issue.record("a head other than the verified one was pushed")
        } catch {
            #expect(error.code == .foreignLocalCommit, "\(error)")
            #expect(!error.isRetryable)
        }
        let remote = try GitRepository.open(remotePath)
        #expect(try remote.reference(GitRepository.branch) == c1)
        try a.push(expecting: c2)
        #expect(try remote.reference(GitRepository.branch) == c2)
    }

    /// The commit object of FORMAT.md §5, byte for byte: neutral identity at time 0, the signature
    /// header after the committer line, and a signature over the object without that header.
    @Test func commitObjectLayoutIsTheFormats() throws {
        defer { try? FileSystem.removeTree(dir) }
        let repo = try GitRepository.createWorkTree(at: dir.appending("w"))
        try write(repo, "vault.json", "{}\n")
        let tree = try repo.stageAll()
        let message = "Shdw-Meta: " + String(repeating: "ab", count: 77) + "\n"
        let signature = String(repeating: "5a", count: 64)
        var signedRoot: [UInt8] = [], signedChild: [UInt8] = []
        let root = try repo.createCommit(tree: tree, parents: [], message: message) { (d) throws(ShadowError) -> String in signedRoot = d; return signature }
        let child = try repo.createCommit(tree: tree, parents: [root], message: message) { (d) throws(ShadowError) -> String in signedChild = d; return signature }
        let identity = "author shdw <shdw@invalid> 0 +0000\ncommitter shdw <shdw@invalid> 0 +0000\n"
        for (id, parents, signed) in [(root, "", signedRoot), (child, "parent \(root.hex)\n", signedChild)] {
            let unsigned = "tree \(tree.hex)\n" + parents + identity + "\n" + message
            #expect(signed == Array(unsigned.utf8))
            let object = "tree \(tree.hex)\n" + parents + identity + "shdwsig \(signature)\n" + "\n" + message
            let raw = try TestProcess.run("/usr/bin/git", ["-C", repo.path.description, "cat-file", "commit", id.hex]).stdoutBytes
            #expect(String(decoding: raw, as: UTF8.self) == object)
            var sha = SHA1()
            sha.update(Array("commit \(object.utf8.count)\u{0}".utf8) + Array(object.utf8))
            #expect(sha.finish().withUnsafeBytes { ObjectID(raw: $0) } == id, "the id is SHA-1 of \"commit <size>\\0\" and the body")
            #expect(try repo.commit(id).signedData == Array(unsigned.utf8))
        }
    }

    @Test func entriesChangedFromABaseTreeSkipWhatBothShare() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        for p in ["d/a/b/one.n", "d/a/b/two.n", "d/a/c/three.n", "d/x/y/four.n", "top.json"] { try write(a, p, p) }
        let base = try a.stageAll()
        #expect(try a.entries(ofTree: base, changedFrom: base).isEmpty)
        try write(a, "d/a/b/two.n", "changed")
        try write(a, "d/q/r/new.n", "new")
        try FileSystem.removeTree(a.path.appending("d/x/y/four.n"))
        let next = try a.stage(["d/a/b/two.n", "d/q/r/new.n", "d/x/y/four.n"])
        let changed = try a.entries(ofTree: next, changedFrom: base).map { String(decoding: $0.path, as: UTF8.self) }
        // Changed and added blobs; a removal leaves nothing to list, unchanged neighbours are skipped.
        #expect(changed.sorted() == ["d/a/b/two.n", "d/q/r/new.n"], "\(changed)")
        #expect(try a.entries(ofTree: next).count == 5)
    }

    @Test func commitSignPushFetchAndVerifyAncestry() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remotePath = dir.appending("remote.git")
        try GitRepository.createBare(at: remotePath)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.exclude("/vault.key")
        try write(a, "d/a/b/one.n", "record")
        try write(a, "vault.key", "SECRET")
        let tree = try a.stageAll()
        let entries = try a.entries(ofTree: tree)
        #expect(entries.map { String(decoding: $0.path, as: UTF8.self) } == ["d/a/b/one.n"])  // excluded key stays out
        #expect(entries.allSatisfy { $0.mode == 0o100644 })
        #expect(try a.blob(entries[0].id, limit: 1 << 20) == Array("record".utf8))

        var signedBuffer: [UInt8] = []
        let c1 = try a.createCommit(tree: tree, parents: [], message: "\nShdw-Meta: 00\n") { (data) throws(ShadowError) -> String in
            signedBuffer = data
            return fakeSign(data)
        }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        try a.setRemote(url: remotePath.description)
        try a.push()

        // A second repository fetches and sees exactly what was signed.
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remotePath.description)
        #expect(try b.fetch() == c1)
        let info = try b.commit(c1)
        #expect(info.signature == fakeSign(signedBuffer))
        #expect(info.signedData == signedBuffer)
        #expect(info.parents.isEmpty && info.tree == tree)
        #expect(info.message == "\nShdw-Meta: 00\n")
        let text = String(decoding: signedBuffer, as: UTF8.self)
        #expect(text.contains("author shdw <shdw@invalid> 0 +0000"))

        // b builds on a; a's next commit then conflicts with b's push.
        try b.setReference(GitRepository.branch, to: c1, expecting: nil)
        try write(b, "d/a/b/two.n", "from b")
        let cb = try b.createCommit(tree: try b.stageAll(), parents: [c1], message: "b") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try b.setReference(GitRepository.branch, to: cb, expecting: c1)
        try b.push()
        try write(a, "d/a/b/three.n", "from a")
        let ca = try a.createCommit(tree: try a.stageAll(), parents: [c1], message: "a") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: ca, expecting: c1)
        do {
            try a.push()
            Issue.record("a non-fast-forward push was accepted")
        } catch {
            #expect(error.code == .nonFastForward)
            #expect(error.isRetryable)
        }
        // After fetching, history relations are what a verifier needs.
        #expect(try a.fetch() == cb)
        #expect(try a.isDescendant(cb, of: c1))
        #expect(try !a.isDescendant(c1, of: cb))
        #expect(try !a.isDescendant(ca, of: cb))
        #expect(try a.mergeBase(ca, cb) == c1)
        #expect(try a.commits(from: cb, excluding: c1) == [cb])
        // A merge commit fast-forwards the remote.
        let merged = try a.createCommit(tree: try a.stageAll(), parents: [ca, cb], message: "m") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: merged, expecting: ca)
        try a.push()
        #expect(try b.fetch() == merged)
        #expect(try b.commits(from: merged, excluding: c1).count == 3)
    }

    /// Enough files for the one-pack path: every blob must land in a single pack (no loose blob), read
    /// back byte for byte (also through a clone: the push re-packs them), and the index must carry the
    /// files' stat data so a later stage of the same paths changes nothing. The contents include the
    /// edge cases of the stored-deflate encoding: empty, one byte, exactly one and a bit over one block.
    @Test func manySmallFilesAreStagedAsOnePack() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        var contents: [String: [UInt8]] = [:]
        let sizes = [0, 1, 2, 100, 65_534, 65_535, 65_536, 70_000, 200_000] + Array(repeating: 37, count: 20)
        for (i, size) in sizes.enumerated() {
            let path = String(format: "d/%02x/%02x/f%03d.c", i % 3, i % 5, i)
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            contents[path] = bytes
            let full = a.path.appending(path)
            try FileSystem.createDirectories(full.directory, mode: 0o755)
            try FileSystem.writeAtomically(bytes, to: full, mode: 0o644)
        }
        let paths = contents.keys.sorted()
        let tree = try a.stage(paths)
        let objects = a.path.appending(".git/objects")
        let packs = try FileSystem.list(objects.appending("pack")).map { String(decoding: $0, as: UTF8.self) }
        #expect(packs.filter { $0.hasSuffix(".pack") }.count == 1)
        #expect(packs.filter { $0.hasSuffix(".idx") }.count == 1)
        let entries = try a.entries(ofTree: tree)
        #expect(entries.map { String(decoding: $0.path, as: UTF8.self) } == paths)
        for e in entries {
            #expect(try a.blob(e.id, limit: 1 << 20) == contents[String(decoding: e.path, as: UTF8.self)]!)
            // No loose copy: the blob lives only in the pack.
            #expect(!FileSystem.exists(objects.appending(String(e.id.hex.prefix(2))).appending(String(e.id.hex.dropFirst(2)))))
        }
        #expect(try a.stage(paths) == tree)

        let commit = try a.createCommit(tree: tree, parents: [], message: "m") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: commit, expecting: nil)
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        try a.setRemote(url: remote.description)
        try a.push()
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remote.description)
        #expect(try b.fetch() == commit)
        for e in try b.entries(ofTree: tree) {
            #expect(try b.blob(e.id, limit: 1 << 20) == contents[String(decoding: e.path, as: UTF8.self)]!)
        }
    }

    /// A push to a bare repository on this machine copies a staging pack whole when it sends every
    /// object of it (a copy, not a hard link, which the remote's owner could rewrite), and never a pack
    /// holding an object the pushed history does not name: that object must not leave the machine (here
    /// a file staged and then dropped from the tree before the commit).
    @Test func stagingPacksAreCopiedIntoALocalRemoteOnlyWhenPushedWhole() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        func writeFiles(_ prefix: String) throws -> [String] {
            let paths = (0..<20).map { String(format: "d/%@/f%02d.c", prefix, $0) }
            for p in paths { try write(a, p, "\(p) contents") }
            return paths
        }
        func packs(_ repo: BytePath) throws -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            // The consolidation lock a push holds is not a pack.
            for name in try FileSystem.list(repo.appending("objects/pack")).map({ String(decoding: $0, as: UTF8.self) }) where name != ObjectConsolidation.lockName {
                var st = stat()
                #expect(lstat(repo.appending("objects/pack/\(name)").description, &st) == 0)
                out[name] = UInt64(st.st_ino)
            }
            return out
        }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        try a.setRemote(url: remote.description)

        let first = try writeFiles("one")
        let tree1 = try a.stage(first)
        let c1 = try a.createCommit(tree: tree1, parents: [], message: "1") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        let localPacks1 = try packs(a.path.appending(".git"))
        #expect(localPacks1.count == 2)  // the staging pack and its index
        try a.push()
        let remotePacks1 = try packs(remote)
        for (name, inode) in localPacks1 {
            #expect(remotePacks1[name] != nil && remotePacks1[name] != inode, "\(name) is not a copy")
            #expect(try FileSystem.readFile(remote.appending("objects/pack/\(name)"), limit: 1 << 24)
                    == FileSystem.readFile(a.path.appending(".git/objects/pack/\(name)"), limit: 1 << 24))
        }
        #expect(remotePacks1.count == 4)  // the copy, and a pack of the trees and the commit

        // Twenty more staged into one pack, then one of them dropped before the commit.
        let second = try writeFiles("two")
        let staged = try a.entries(ofTree: try a.stage(second))
        let dropped = try #require(staged.first { String(decoding: $0.path, as: UTF8.self) == second[0] })
        try FileSystem.removeTree(a.path.appending(second[0]))
        let tree2 = try a.stage([second[0]])
        let c2 = try a.createCommit(tree: tree2, parents: [c1], message: "2") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)
        let newLocal = try packs(a.path.appending(".git")).keys.filter { localPacks1[$0] == nil }
        #expect(newLocal.count == 2)
        try a.push()
        let remotePacks2 = try packs(remote)
        for name in newLocal { #expect(remotePacks2[name] == nil, "\(name) holds an object the push must not send") }
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remote.description)
        #expect(try b.fetch() == c2)
        let fetched = try b.entries(ofTree: tree2)
        #expect(fetched.count == 39)
        for e in fetched { #expect(try b.blob(e.id, limit: 1 << 20) == Array("\(String(decoding: e.path, as: UTF8.self)) contents".utf8)) }
        #expect(throws: ShadowError.self) { _ = try b.blob(dropped.id, limit: 1 << 20) }
    }

    /// A push to a local bare repository reports what it writes, as an SSH push reports what it sends:
    /// bytes growing to at least the contents pushed, every object counted, only to the observer of
    /// the push that moves them (a push outside `observing` tells it nothing).
    @Test func aPushToALocalRepositoryReportsTheBytesItWrites() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        let contentBytes = 4096
        let paths = (0..<20).map { String(format: "d/x/f%02d.c", $0) }
        for p in paths { try write(a, p, p + String(repeating: "x", count: contentBytes)) }
        let c1 = try a.createCommit(tree: try a.stage(paths), parents: [], message: "1") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)

        let reports = Mutex<[TransferProgress]>([])
        try TransferMeter.observing({ p in reports.withLock { $0.append(p) } }) { () throws(ShadowError) in try a.push(expecting: c1) }
        let seen = reports.withLock { $0 }
        let last = try #require(seen.last)
        #expect(seen.allSatisfy { $0.direction == .sent })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.bytes <= $1.bytes && $0.objects <= $1.objects }, "\(seen)")
        #expect(last.totalObjects >= paths.count + 4 && last.objects == last.totalObjects, "\(last)")  // blobs, three trees, the commit
        #expect(last.bytes >= UInt64(paths.count * contentBytes), "\(last)")

        try write(a, "d/x/more.c", "one more")
        let c2 = try a.createCommit(tree: try a.stage(["d/x/more.c"]), parents: [c1], message: "2") { (d) throws(ShadowError) -> String in fakeSign(d) }
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)
        try a.push(expecting: c2)
        #expect(reports.withLock { $0.count } == seen.count, "a push nobody observes reported to another push's observer")
        #expect(try GitRepository.open(remote).reference(GitRepository.branch) == c2)
    }

    /// A pack copy is whole, read-only and leaves no temporary, on the same file system (in-kernel copy)
    /// and onto another one (where copy_file_range refuses and plain reads and writes take over).
    @Test func packCopiesAreWholeOnAndAcrossFileSystems() throws {
        defer { try? FileSystem.removeTree(dir) }
        // More than one copy call's worth; each MiB numbered, so a lost or repeated piece shows.
        let mib = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 9) }
        var bytes: [UInt8] = []
        for i in 0..<(FileCopy.chunkBytes >> 20) * 3 / 2 { bytes += [UInt8(i)] + mib.dropFirst() }
        bytes += mib.prefix(12_345)
        let source = dir.appending("pack-source.pack")
        try FileSystem.writeAtomically(bytes, to: source, mode: 0o444)
        var targets = [dir.appending("same-fs")]
        var sourceStat = stat(), shmStat = stat()
        let shm = BytePath("/dev/shm")
        if stat(source.description, &sourceStat) == 0, stat(shm.description, &shmStat) == 0, shmStat.st_dev != sourceStat.st_dev {
            targets.append(shm.appending("shadowgit-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"))
        }
        for target in targets {
            defer { if target != targets[0] { try? FileSystem.removeTree(target) } }
            try FileSystem.createDirectories(target, mode: 0o755)
            let copy = target.appending("pack-copy.pack")
            #expect(FileCopy.copyFile(source.description, to: copy.description))
            #expect(try FileSystem.readFile(copy, limit: 1 << 24) == bytes, "\(target)")
            #expect(try FileSystem.permissions(of: copy) == 0o444)
            #expect(try FileSystem.list(target).map { String(decoding: $0, as: UTF8.self) } == ["pack-copy.pack"])
        }
        // A missing source copies nothing and leaves nothing.
        #expect(!FileCopy.copyFile(dir.appending("none.pack").description, to: targets[0].appending("none.pack").description))
        #expect(!FileSystem.exists(targets[0].appending("none.pack.tmp-shadowsync")))
    }

    /// Staging takes a written file's bytes from its writer while the file is still the one the writer
    /// described, and reads the file once anything has rewritten it (a checkout, say).
    @Test func writtenBytesAreStagedOnlyWhileTheFileIsUnchanged() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        let path = "d/x/f.c"
        try FileSystem.createDirectories(a.path.appending(path).directory, mode: 0o755)
        let stat1 = try FileSystem.overwrite(Array("first".utf8), at: a.path.appending(path), mode: 0o644)
        // Same length as the file, different bytes: seeing them in the blob shows the file was not read.
        let kept = WrittenFile(bytes: Array("FIRST".utf8), stat: stat1)
        let tree1 = try a.stage([path], written: [path: kept])
        #expect(try a.blob(try #require(try a.entries(ofTree: tree1).first).id, limit: 1 << 20) == Array("FIRST".utf8))
        usleep(10_000)  // a later mtime even on coarse clocks
        try FileSystem.writeAtomically(Array("other".utf8), to: a.path.appending(path), mode: 0o644)
        let tree2 = try a.stage([path], written: [path: kept])
        #expect(try a.blob(try #require(try a.entries(ofTree: tree2).first).id, limit: 1 << 20) == Array("other".utf8))
        // A vanished file is staged as removed, whatever was kept for it.
        try FileSystem.removeTree(a.path.appending(path))
        #expect(try a.entries(ofTree: try a.stage([path], written: [path: kept])).isEmpty)
    }

    /// The pack trailer's SHA-1 and the zlib stream's Adler-32 against published vectors (FIPS 180 and
    /// RFC 1950 examples); a wrong trailer or entry checksum makes git refuse the pack (`git fsck`, `git verify-pack`).
    @Test func packChecksumsMatchTheirStandards() {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        func sha(_ s: String) -> String { var h = SHA1(); h.update(Array(s.utf8)); return hex(h.finish()) }
        #expect(sha("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(sha("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        var million = SHA1()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(block) }
        #expect(hex(million.finish()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // Split updates must equal one update (the block buffer across calls).
        var split = SHA1()
        for piece in ["abcdbcdecdefdefgefgh", "fghighijhijkijkljklmklmnlmnomno", "pnopq"] { split.update(Array(piece.utf8)) }
        #expect(hex(split.finish()) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(Array("Wikipedia".utf8).withUnsafeBytes { Adler32.checksum($0) } == 0x11E6_0398)
        #expect([UInt8]().withUnsafeBytes { Adler32.checksum($0) } == 1)
        let big = [UInt8](repeating: 0xff, count: 100_000)
        var a: UInt32 = 1, b: UInt32 = 0
        for x in big { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        #expect(big.withUnsafeBytes { Adler32.checksum($0) } == (b << 16 | a))
        // CRC-32 check value (the ISO-HDLC catalogue entry), byte by byte and eight at a time alike.
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)
        var bitwise: UInt32 = 0xFFFF_FFFF
        for x in big.prefix(1001) {
            bitwise ^= UInt32(x)
            for _ in 0..<8 { bitwise = bitwise & 1 != 0 ? 0xEDB8_8320 ^ (bitwise >> 1) : bitwise >> 1 }
        }
        var sliced = CRC32()
        sliced.update(Array(big.prefix(3)))
        sliced.update(Array(big[3..<1001]))
        #expect(sliced.value == bitwise ^ 0xFFFF_FFFF)
    }

    @Test func referenceUpdatesAreCompareAndSwap() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try write(a, "f", "x")
        let tree = try a.stageAll()
        let c1 = try a.createCommit(tree: tree, parents: [], message: "1") { (d) throws(ShadowError) -> String in "s" }
        let c2 = try a.createCommit(tree: tree, parents: [c1], message: "2") { (d) throws(ShadowError) -> String in "s" }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        #expect(throws: ShadowError.self) { try a.setReference(GitRepository.branch, to: c2, expecting: c2) }
        #expect(try a.reference(GitRepository.branch) == c1)
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)
        #expect(try a.reference(GitRepository.branch) == c2)
        #expect(try a.reference("refs/heads/none") == nil)
    }

    /// A lock left in the remote bare repository by a ref update that was cut off: a fresh one is some
    /// other machine's update in progress (the push fails, retryably, and leaves it alone); one older than
    /// `RemoteRefLock.staleSeconds` is removed and the push goes through.
    @Test func aStaleLockInTheRemoteIsRemovedAndAFreshOneWaitedFor() throws {
        defer { try? FileSystem.removeTree(dir) }
        let remote = dir.appending("remote.git")
        try GitRepository.createBare(at: remote)
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: remote.description)
        try write(a, "f", "1")
        let c1 = try a.createCommit(tree: try a.stageAll(), parents: [], message: "1") { (d) throws(ShadowError) -> String in "s" }
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        try a.push()
        try write(a, "f", "2")
        let c2 = try a.createCommit(tree: try a.stageAll(), parents: [c1], message: "2") { (d) throws(ShadowError) -> String in "s" }
        try a.setReference(GitRepository.branch, to: c2, expecting: c1)

        let lock = remote.appending("refs/heads/main.lock")
        try FileSystem.writeAtomically(Array("in progress\n".utf8), to: lock, mode: 0o644)
        do {
            try a.push()
            Issue.record("pushed through another update's lock")
        } catch {
            #expect(error.code == .remoteUnavailable && error.isRetryable, "\(error)")
            #expect(error.message.contains("locked"))
        }
        #expect(FileSystem.exists(lock))
        let b = try GitRepository.createWorkTree(at: dir.appending("b"))
        try b.setRemote(url: remote.description)
        #expect(try b.fetch() == c1)

        // The same lock, as old as a cut-off update's would be by now.
        var times = [timespec(tv_sec: time(nil) - RemoteRefLock.staleSeconds - 5, tv_nsec: 0), timespec(tv_sec: time(nil) - RemoteRefLock.staleSeconds - 5, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, lock.description, &times, 0) == 0)
        try a.push()
        #expect(!FileSystem.exists(lock))
        #expect(try b.fetch() == c2)
        #expect(try FileSystem.list(remote.appending("refs/heads")).map { String(decoding: $0, as: UTF8.self) } == ["main"])
    }

    /// A process killed while it held a ref's lock leaves the lock file: every later update of that ref
    /// fails until the one writer removes it.
    @Test func staleLockFilesBlockUpdatesUntilRemoved() throws {
        defer { try? FileSystem.removeTree(dir) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try write(a, "f", "x")
        let tree = try a.stageAll()
        let c1 = try a.createCommit(tree: tree, parents: [], message: "1") { (d) throws(ShadowError) -> String in "s" }
        let lock = a.path.appending(".git/refs/heads/main.lock")
        try FileSystem.writeAtomically([], to: lock, mode: 0o644)
        #expect(throws: ShadowError.self) { try a.setReference(GitRepository.branch, to: c1, expecting: nil) }
        a.removeStaleLocks()
        #expect(!FileSystem.exists(lock))
        try a.setReference(GitRepository.branch, to: c1, expecting: nil)
        #expect(try a.reference(GitRepository.branch) == c1)
    }

    @Test func unsignedCommitsReportNoSignature() throws {
        defer { try? FileSystem.removeTree(dir) }
        // A commit made by plain git (as a hostile server would) carries no shdwsig field.
        let path = dir.appending("plain")
        #expect(try TestProcess.run("/usr/bin/git", ["init", "-q", path.description]).status == 0)
        let commit = try TestProcess.run("/usr/bin/git", ["-c", "user.name=x", "-c", "user.email=x@x", "-C", path.description,
                                                          "commit", "-q", "--allow-empty", "-m", "evil"])
        #expect(commit.status == 0, "\(commit.stderr)")
        let repo = try GitRepository.open(path)
        let head = try #require(try repo.reference("HEAD"))
        let info = try repo.commit(head)
        #expect(info.signature == nil && info.signedData == nil)
        #expect(info.message == "evil\n")
    }

    @Test func missingRemoteAndMissingRepositoryAreClearErrors() throws {
        defer { try? FileSystem.removeTree(dir) }
        #expect(throws: ShadowError.self) { _ = try GitRepository.open(dir.appending("nothing")) }
        do { _ = try GitRepository.open(dir.appending("nothing")) } catch { #expect(error.code == .notFound) }
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try a.setRemote(url: dir.appending("no-such-remote.git").description)
        do {
            _ = try a.fetch()
            Issue.record("fetch from a missing remote succeeded")
        } catch {
            #expect(error.code == .remoteUnavailable)
            #expect(error.isRetryable)
        }
    }

    @Test func systemGitConfigIsIgnored() throws {
        defer { try? FileSystem.removeTree(dir) }
        // /etc/gitconfig here sets core.excludesFile=/etc/gitignore, which ignores "Package.resolved".
        // The shadow repository must commit exactly what the engine wrote, whatever the machine's config.
        let a = try GitRepository.createWorkTree(at: dir.appending("a"))
        try write(a, "Package.resolved", "x")
        let names = try a.entries(ofTree: try a.stageAll()).map { String(decoding: $0.path, as: UTF8.self) }
        #expect(names == ["Package.resolved"])
    }
}
