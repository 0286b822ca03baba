import Testing
import Glibc
import ShadowCore
import ShadowCrypto
import ShadowSystem
@testable import ShadowEngine

@Suite struct VaultStoreTests {
    let dir: BytePath
    init() throws { dir = try FileSystem.makeTemporaryDirectory(prefix: "vaultstore-test-") }

    func passphraseFile(_ text: String) throws -> BytePath {
        let p = dir.appending("pass-\(text.count)")
        try FileSystem.writeAtomically(Array(text.utf8), to: p, mode: 0o600)
        return p
    }

    @Test func createsA0600FileAndReopensIt() throws {
        defer { try? FileSystem.removeTree(dir) }
        let keys = VaultKeys.generate()
        let path = dir.appending("key")
        let pass = try VaultStore.readPassphrase(from: try passphraseFile("hunter22\n"))
        try VaultStore.create(keys, at: path, protection: .passphrase(pass, .interactive))
        #expect(try FileSystem.permissions(of: path) == 0o600)
        let back = try VaultStore.open(at: path, passphrase: pass)
        #expect(back.vaultID == keys.vaultID)
        #expect(CapabilityText.encode(back) == CapabilityText.encode(keys))
        // Never replaces an existing key file.
        #expect(thrownCode { try VaultStore.create(VaultKeys.generate(), at: path, protection: .none) } == .alreadyExists)
        #expect(try VaultStore.open(at: path, passphrase: pass).vaultID == keys.vaultID)
    }

    @Test func refusesAWorldReadableKeyFile() throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("key")
        try VaultStore.create(VaultKeys.generate(), at: path, protection: .none)
        #expect(chmod(path.description, 0o644) == 0)
        do {
            _ = try VaultStore.open(at: path, passphrase: nil)
            Issue.record("opened a 0644 key file")
        } catch {
            #expect(error.code == .keyFilePermissions)
            #expect(error.advice.contains("chmod 600"))
        }
    }

    @Test func wrongPassphraseCorruptFileAndMissingFileAreClearErrors() throws {
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("key")
        let pass = try VaultStore.readPassphrase(from: try passphraseFile("right one"))
        try VaultStore.create(VaultKeys.generate(), at: path, protection: .passphrase(pass, .interactive))
        let wrong = try VaultStore.readPassphrase(from: try passphraseFile("wrong"))
        #expect(thrownCode { _ = try VaultStore.open(at: path, passphrase: wrong) } == .wrongPassphrase)
        var bytes = try FileSystem.readFile(path)
        bytes[3] ^= 0xff
        try FileSystem.writeAtomically(bytes, to: path, mode: 0o600)
        #expect(thrownCode { _ = try VaultStore.open(at: path, passphrase: pass) } == .corruptKeyFile)
        try FileSystem.writeAtomically(Array(repeating: 0x41, count: 10_000), to: path, mode: 0o600)
        #expect(thrownCode { _ = try VaultStore.open(at: path, passphrase: pass) } == .invalidArgument)
        #expect(thrownCode { _ = try VaultStore.open(at: dir.appending("missing"), passphrase: pass) } == .notFound)
        #expect(thrownCode { _ = try VaultStore.readPassphrase(from: try passphraseFile("\n")) } == .invalidArgument)
    }

    @Test func selfCheckRunsClean() {
        let results = SelfCheck.run()
        #expect(results.count == 6)
        for r in results { #expect(r.passed, "\(r.name): \(r.detail)") }
    }
}

func thrownCode(_ body: () throws -> Void) -> ShadowError.Code? { caught(body)?.code }
