import Testing
import ShadowCore
@testable import ShadowCrypto

@Suite struct CapabilityTests {
    @Test func allLevelsRoundTripAndForgiveCaseAndSpaces() throws {
        let k = VaultKeys.generate()
        for level in [CapabilityLevel.readWrite, .readOnly, .verifyOnly] {
            let text = CapabilityText.encode(try k.attenuated(to: level))
            let back = try CapabilityText.decode("  " + text.uppercased() + "\n")
            #expect(back.level == level)
            #expect(back.vaultID == k.vaultID)
            #expect(back.rootPublicKey == k.rootPublicKey)
            #expect(back.canDecrypt == (level != .verifyOnly))
            #expect(back.canSign == (level == .readWrite))
        }
    }

    @Test func readOnlyDecryptsWhatReadWriteWrote() throws {
        let rw = VaultKeys.generate()
        let ro = try CapabilityText.decode(CapabilityText.encode(try rw.attenuated(to: .readOnly)))
        let ct = try ContentCipher(keys: try rw.requireRead()).encrypt(Array("x".utf8), fileID: .zero)
        #expect(try ContentCipher(keys: try ro.requireRead()).decrypt(ct) == Array("x".utf8))
        #expect(thrownCode { _ = try Signatures.sign([1], purpose: .commit, keys: ro) } == .insufficientCapability)
        #expect(thrownCode { _ = try ro.attenuated(to: .readWrite) } == .insufficientCapability)
        let vk = try ro.attenuated(to: .verifyOnly)
        #expect(thrownCode { _ = try vk.requireRead() } == .insufficientCapability)
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        let text = CapabilityText.encode(try vectorKeys())
        let chars = Array(text)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        for i in 9..<chars.count {
            var t = chars
            t[i] = alphabet.first { $0 != chars[i] }!
            do {
                _ = try CapabilityText.decode(String(t))
                Issue.record("typo at \(i) accepted")
            } catch {
                #expect(error.code == .badCapability)
            }
        }
    }

    @Test func truncationAndGarbageAreClearErrors() throws {
        let text = CapabilityText.encode(try vectorKeys())
        for (input, fragment) in [(String(text.dropLast(3)), "too short"), (text + "aa", "too long"),
                                  ("hello", "not a ShadowSync key"), ("shdw1-rw-" + String(text.dropFirst(9)).replacingOccurrences1("a", "1"), "invalid character")] {
            do {
                _ = try CapabilityText.decode(input)
                Issue.record("accepted \(input)")
            } catch {
                #expect(error.code == .badCapability)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
        }
    }
}

extension String {
    func replacingOccurrences1(_ a: Character, _ b: Character) -> String {
        var done = false
        return String(map { c in if !done && c == a { done = true; return b } else { return c } })
    }
}

@Suite struct KeyFileTests {
    let pass = try! Passphrase(bytes: Array("correct horse\n".utf8))

    @Test func passphraseWrappedRoundTrip() throws {
        let k = VaultKeys.generate()
        let file = try KeyFile.encode(k, protection: .passphrase(pass, .interactive))
        #expect(try KeyFile.needsPassphrase(file))
        let back = try KeyFile.decode(file, passphrase: try Passphrase(bytes: Array("correct horse".utf8)))
        #expect(back.vaultID == k.vaultID && back.canSign)
        #expect(thrownCode { _ = try KeyFile.decode(file, passphrase: try Passphrase(bytes: Array("Correct horse".utf8))) } == .wrongPassphrase)
        #expect(thrownCode { _ = try KeyFile.decode(file, passphrase: nil) } == .wrongPassphrase)
        // Two encodings differ (fresh salt and nonce) but both open.
        #expect(try KeyFile.encode(k, protection: .passphrase(pass, .interactive)) != file)
    }

    @Test func rewrapChangesThePassphraseOnlyWithTheOldOne() throws {
        let k = VaultKeys.generate()
        let file = try KeyFile.encode(k, protection: .passphrase(pass, .interactive))
        let other = try Passphrase(bytes: Array("battery staple".utf8))
        #expect(thrownCode { _ = try KeyFile.rewrap(file, old: other, new: .passphrase(other, .interactive)) } == .wrongPassphrase)
        #expect(thrownCode { _ = try KeyFile.rewrap(file, old: nil, new: .none) } == .wrongPassphrase)
        let rewrapped = try KeyFile.rewrap(file, old: pass, new: .passphrase(other, .interactive))
        let back = try KeyFile.decode(rewrapped, passphrase: other)
        #expect(back.vaultID == k.vaultID && CapabilityText.encode(back) == CapabilityText.encode(k))
        #expect(thrownCode { _ = try KeyFile.decode(rewrapped, passphrase: pass) } == .wrongPassphrase)
        // To no passphrase and back.
        let open = try KeyFile.rewrap(rewrapped, old: other, new: .none)
        #expect(try !KeyFile.needsPassphrase(open))
        #expect(CapabilityText.encode(try KeyFile.decode(try KeyFile.rewrap(open, old: nil, new: .passphrase(pass, .interactive)), passphrase: pass)) == CapabilityText.encode(k))
    }

    @Test func nfcAndNFDPassphrasesAreTheSame() throws {
        let k = VaultKeys.generate()
        let nfc = try Passphrase(bytes: Array("caf\u{e9}".utf8))
        let nfd = try Passphrase(bytes: Array("cafe\u{301}".utf8))
        let file = try KeyFile.encode(k, protection: .passphrase(nfc, .interactive))
        #expect(try KeyFile.decode(file, passphrase: nfd).vaultID == k.vaultID)
        #expect(thrownCode { _ = try Passphrase(bytes: Array("\n".utf8)) } == .invalidArgument)
    }

    @Test func headerTamperingIsRefusedWithoutHugeAllocations() throws {
        let file = try KeyFile.encode(VaultKeys.generate(), protection: .passphrase(pass, .interactive))
        var huge = file
        huge[19] = 0x7f  // memory limit far beyond 4 GiB
        #expect(thrownCode { _ = try KeyFile.decode(huge, passphrase: pass) } == .corruptKeyFile)
        var salt = file
        salt[25] ^= 1
        #expect(thrownCode { _ = try KeyFile.decode(salt, passphrase: pass) } == .wrongPassphrase)
        var body = file
        body[100] ^= 1
        #expect(thrownCode { _ = try KeyFile.decode(body, passphrase: pass) } == .wrongPassphrase)
        #expect(thrownCode { _ = try KeyFile.decode(Array(file.dropLast()), passphrase: pass) } == .corruptKeyFile)
        #expect(thrownCode { _ = try KeyFile.decode(Array("not a key".utf8), passphrase: pass) } == .corruptKeyFile)
    }

    @Test func unwrappedFileDetectsEveryByteOfCorruption() throws {
        for level in [CapabilityLevel.readWrite, .readOnly, .verifyOnly] {
            let k = try VaultKeys.generate().attenuated(to: level)
            let file = try KeyFile.encode(k, protection: .none)
            #expect(try !KeyFile.needsPassphrase(file))
            #expect(try KeyFile.decode(file, passphrase: nil).level == level)
            for i in file.indices {
                var b = file
                b[i] ^= 0x10
                #expect(thrownCode { _ = try KeyFile.decode(b, passphrase: nil) } == .corruptKeyFile, "byte \(i)")
            }
        }
    }
}

@Suite struct SignatureAndMetadataTests {
    @Test func signaturesAreBoundToPurposeVaultAndContent() throws {
        let k = try vectorKeys()
        let msg = Array("tree abc\nparent def\n".utf8)
        let sig = try Signatures.sign(msg, purpose: .commit, keys: k)
        try Signatures.verify(sig, of: msg, purpose: .commit, keys: k.attenuated(to: .verifyOnly))
        #expect(try Signatures.parse(text: Signatures.text(sig)) == sig)
        #expect(thrownCode { try Signatures.verify(sig, of: msg, purpose: .vaultDescriptor, keys: k) } == .signatureInvalid)
        #expect(thrownCode { try Signatures.verify(sig, of: msg + [10], purpose: .commit, keys: k) } == .signatureInvalid)
        #expect(thrownCode { try Signatures.verify(sig, of: msg, purpose: .commit, keys: VaultKeys.generate()) } == .signatureInvalid)
        var bad = sig; bad[0] ^= 1
        #expect(thrownCode { try Signatures.verify(bad, of: msg, purpose: .commit, keys: k) } == .signatureInvalid)
        #expect(thrownCode { _ = try Signatures.parse(text: "abc") } == .signatureInvalid)
    }

    @Test func metadataRoundTripAndTamper() throws {
        let k = try vectorKeys()
        let m = CommitMetadata(deviceID: CommitMetadata.newDeviceID(), sequence: 42, wallTimeMillis: 1_700_000_000_000, epoch: 0)
        let text = try m.seal(keys: k)
        #expect(try CommitMetadata.open(text, keys: k) == m)
        #expect(try CommitMetadata.open(text, keys: k.attenuated(to: .readOnly)) == m)
        var chars = Array(text)
        chars[60] = chars[60] == "0" ? "1" : "0"
        #expect(thrownCode { _ = try CommitMetadata.open(String(chars), keys: k) } == .authenticationFailed)
        #expect(thrownCode { _ = try CommitMetadata.open(text, keys: VaultKeys.generate()) } == .authenticationFailed)
        #expect(thrownCode { _ = try CommitMetadata.open(String(text.dropLast(2)), keys: k) } == .malformedObject)
        #expect(thrownCode { _ = try m.seal(keys: k.attenuated(to: .verifyOnly)) } == .insufficientCapability)
    }
}
