import ShadowCore
import ShadowCrypto
import ShadowSystem

/// An end-to-end check of the vault format on this machine, with real files: create a vault and its
/// key file, encrypt a small folder into shadow objects, decrypt it back, and make sure tampering and a
/// wrong passphrase are refused. It needs no server and leaves nothing behind.
public enum SelfCheck {
    public struct Result: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
    }

    public static func run() -> [Result] {
        var results: [Result] = []
        func check(_ name: String, _ body: () throws(ShadowError) -> String) {
            do {
                results.append(Result(name: name, passed: true, detail: try body()))
            } catch {
                results.append(Result(name: name, passed: false, detail: error.description))
            }
        }
        let work: BytePath
        do { work = try FileSystem.makeTemporaryDirectory(prefix: "shadowsync-selfcheck-") } catch {
            return [Result(name: "temporary directory", passed: false, detail: error.description)]
        }
        defer { try? FileSystem.removeTree(work) }

        let keys = VaultKeys.generate()
        let keyPath = work.appending("vault.key")
        let passPath = work.appending("passphrase")
        check("key file: create, 0600, reopen with the passphrase") { () throws(ShadowError) in
            try FileSystem.writeAtomically(Array("correct horse battery staple\n".utf8), to: passPath, mode: 0o600)
            let pass = try VaultStore.readPassphrase(from: passPath)
            try VaultStore.create(keys, at: keyPath, protection: .passphrase(pass, .interactive))
            let mode = try FileSystem.permissions(of: keyPath)
            guard mode == 0o600 else { throw ShadowError(.keyFilePermissions, "key file mode is \(String(mode, radix: 8))") }
            let reopened = try VaultStore.open(at: keyPath, passphrase: pass)
            guard reopened.vaultID == keys.vaultID, reopened.canSign else { throw ShadowError(.corruptKeyFile, "reopened key differs") }
            return "vault \(hexString(keys.vaultID)), mode 600"
        }
        check("key file: a wrong passphrase is refused") { () throws(ShadowError) in
            do throws(ShadowError) {
                _ = try VaultStore.open(at: keyPath, passphrase: try Passphrase(bytes: Array("wrong".utf8)))
            } catch where error.code == .wrongPassphrase {
                return "refused: \(error.message)"
            }
            throw ShadowError(.authenticationFailed, "a wrong passphrase opened the key file")
        }

        // A small folder with the awkward cases: non-UTF-8 name, 255-byte name, empty file, multi-chunk file.
        let samples: [([UInt8], [UInt8])] = [
            (Array("notes/todo.txt".utf8), Array("buy milk\n".utf8)),
            ([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e], [0, 1, 2, 3]),
            ([UInt8](repeating: UInt8(ascii: "n"), count: 255), Array("long name".utf8)),
            (Array("empty".utf8), []),
            (Array("big.bin".utf8), (0..<(1 << 20) + 1).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }),
        ]
        let plainDir = work.appending("plain"), shadowDir = work.appending("shadow"), outDir = work.appending("restored")
        var stored: [(Locator, PlainPath, [UInt8])] = []
        check("encrypt \(samples.count) files (names and contents) into shadow objects") { () throws(ShadowError) in
            let read = try keys.requireRead()
            let names = try NameCipher(keys: keys)
            let objects = try ShadowObjects(keys: keys, shadowRoot: shadowDir)
            for dir in [plainDir, plainDir.appending("notes"), shadowDir, outDir] { try FileSystem.createDirectory(dir) }
            for (pathBytes, data) in samples {
                let path = try PlainPath(bytes: pathBytes)
                try FileSystem.writeAtomically(data, to: plainDir.appending(path), mode: 0o644)
                try objects.writeFile(path, from: try FileSource(plainDir.appending(path)), fileID: FileID.forNewPath(path, keys: read), executable: false)
                stored.append((names.locator(for: path), path, data))
            }
            return "\(stored.count) name records and \(stored.count) content objects"
        }
        check("encryption is deterministic") { () throws(ShadowError) in
            let read = try keys.requireRead()
            for (loc, path, _) in stored {
                let again = MemorySink()
                try FileContent(keys: read).encrypt(try FileSource(plainDir.appending(path)), fileID: FileID.forNewPath(path, keys: read),
                                                    to: again, segments: HoldsEverySegment())
                guard again.bytes == (try FileSystem.readFile(shadowDir.appending(loc.contentObjectPath), limit: 1 << 24)) else {
                    throw ShadowError(.nonCanonical, "second encryption of \(path) differs")
                }
            }
            return "same bytes twice"
        }
        check("decrypt every object back and compare") { () throws(ShadowError) in
            let names = try NameCipher(keys: keys)
            let content = ShadowTreeContent(shadow: shadowDir, content: FileContent(keys: try keys.requireRead()))
            for (loc, path, data) in stored {
                let record = try names.open(try FileSystem.readFile(shadowDir.appending(loc.nameObjectPath)), at: loc)
                guard record.path == path, case .file(_, let siv, _) = record.kind else {
                    throw ShadowError(.malformedObject, "record for \(path) decoded wrong")
                }
                let target = outDir.appending(bytes: Array(String(loc.text.prefix(8)).utf8))
                let writer = try AtomicFileWriter(destination: target)
                _ = try content.decrypt(loc, expectedSIV: siv, to: writer)
                try writer.commit()
                guard try FileSystem.readFile(target, limit: 1 << 24) == data else {
                    throw ShadowError(.authenticationFailed, "\(path) came back different")
                }
            }
            return "byte-identical, non-UTF-8 and 255-byte names included"
        }
        check("a tampered content object is refused and nothing is written") { () throws(ShadowError) in
            guard let (loc, _, _) = stored.last else { return "nothing stored" }
            let objectPath = shadowDir.appending(loc.contentObjectPath)
            var bytes = try FileSystem.readFile(objectPath, limit: 1 << 24)
            bytes[bytes.count / 2] ^= 0x01
            try FileSystem.writeAtomically(bytes, to: objectPath, mode: 0o644)
            let target = outDir.appending("tampered")
            let writer = try AtomicFileWriter(destination: target)
            do throws(ShadowError) {
                _ = try ShadowTreeContent(shadow: shadowDir, content: FileContent(keys: try keys.requireRead())).decrypt(loc, expectedSIV: nil, to: writer)
            } catch where error.code == .authenticationFailed {
                writer.abandon()
                guard !FileSystem.exists(target) else { throw ShadowError(.ioFailure, "a partial plaintext file was left behind") }
                return "refused: \(error.message)"
            }
            throw ShadowError(.authenticationFailed, "tampered object decrypted")
        }
        return results
    }
}

/// A segment writer that claims to hold every segment: encrypting through it yields only the `.c` object.
struct HoldsEverySegment: SegmentWriter {
    func holds(_ name: String) -> Bool { true }
    func write(_ name: String, _ object: [UInt8]) throws(ShadowError) {}
}
