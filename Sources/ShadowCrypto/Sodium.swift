internal import CSodium
import ShadowCore

/// The only file that touches libsodium. Everything above speaks in Swift types.
enum Sodium {
    /// sodium_init is safe to call repeatedly and from several threads (libsodium >= 1.0.11);
    /// a global `let` runs it exactly once.
    private static let initResult: Int32 = sodium_init()

    /// libsodium fails to initialise only when the kernel's random source is unusable; nothing safe can
    /// be done then, so this stops the process rather than produce keys from nothing.
    static func ensureReady() {
        precondition(initResult >= 0, "libsodium could not initialise (no usable random source)")
    }

    static func random(_ count: Int) -> [UInt8] {
        ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { randombytes_buf(&out, count) }
        return out
    }

    static func randomSecret(_ count: Int) -> SecretBytes {
        ensureReady()
        let s = SecretBytes(count: count)
        s.withMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return s
    }

    /// Deterministic pseudo-random bytes from a 32-byte seed (for benchmarks and tests, never for keys).
    static func deterministicBytes(_ count: Int, seed: [UInt8]) -> [UInt8] {
        ensureReady()
        precondition(seed.count == Int(randombytes_SEEDBYTES))
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { randombytes_buf_deterministic(&out, count, seed) }
        return out
    }

    static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        if let base = buffer.baseAddress, buffer.count > 0 { sodium_memzero(base, buffer.count) }
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { wipe($0) }
    }

    /// Constant-time equality; false for different lengths.
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in equal(x, y) } }
    }

    static func isZero(_ a: UnsafeRawBufferPointer) -> Bool {
        if a.count == 0 { return true }
        return sodium_is_zero(a.baseAddress!.assumingMemoryBound(to: UInt8.self), a.count) == 1
    }
}

/// libsodium's wiping and constant-time comparison for the layers above, which hold secrets in plain
/// arrays for a moment (a passphrase read from a terminal or a command) and must not link libsodium.
public enum SecretMemory {
    /// Overwrites `bytes` with zeros in a way the compiler cannot drop (sodium_memzero).
    public static func wipe(_ bytes: inout [UInt8]) { Sodium.wipe(&bytes) }

    /// Constant-time equality; false for different lengths.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool { Sodium.equal(a, b) }
}

// MARK: - Secret memory

/// Key material in guarded memory (sodium_malloc: guard pages, mlock, canary); wiped on release.
/// Immutable after creation, so it is safe to share between threads.
public final class SecretBytes: @unchecked Sendable, Equatable {
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    init(count: Int) {
        Sodium.ensureReady()
        precondition(count > 0)
        guard let p = sodium_malloc(count) else {
            // sodium_malloc fails only when the address space is exhausted.
            preconditionFailure("out of memory for \(count) secret bytes")
        }
        pointer = p
        self.count = count
    }

    /// Copies `bytes` in; the caller should wipe its copy.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        pointer.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    public convenience init(copying bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }

    deinit { sodium_free(pointer) }  // sodium_free zeroes before unmapping

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    var rawPointer: UnsafePointer<UInt8> { UnsafePointer(pointer.assumingMemoryBound(to: UInt8.self)) }

    /// A copy into an ordinary array, for encoders that must emit it (capability strings, key files).
    /// The caller owns wiping it.
    func exposedCopy() -> [UInt8] { withBytes { Array($0) } }

    public static func == (a: SecretBytes, b: SecretBytes) -> Bool {
        a.withBytes { x in b.withBytes { y in Sodium.equal(x, y) } }
    }
}

// MARK: - BLAKE2b

/// BLAKE2b personalisation strings: exactly 16 bytes, zero-padded. Each is a purpose label.
struct Personal {
    let bytes: [UInt8]
    init(_ label: String) {
        var b = Array(label.utf8)
        precondition(b.count <= 16, "personalisation label too long: \(label)")
        b += [UInt8](repeating: 0, count: 16 - b.count)
        bytes = b
    }
}

/// Streaming keyed BLAKE2b. The state is heap-allocated with the 64-byte alignment libsodium declares.
final class Blake2b {
    private let state: UnsafeMutableRawPointer
    private let stateBytes: Int
    let outputLength: Int

    init(key: SecretBytes?, outputLength: Int, personal: Personal) {
        Sodium.ensureReady()
        stateBytes = crypto_generichash_blake2b_statebytes()
        state = UnsafeMutableRawPointer.allocate(byteCount: stateBytes, alignment: 64)
        self.outputLength = outputLength
        let typed = OpaquePointer(state)
        let rc: Int32
        if let key {
            rc = crypto_generichash_blake2b_init_salt_personal(typed, key.rawPointer, key.count, outputLength, nil, personal.bytes)
        } else {
            rc = crypto_generichash_blake2b_init_salt_personal(typed, nil, 0, outputLength, nil, personal.bytes)
        }
        precondition(rc == 0, "BLAKE2b init with valid constant sizes failed")
    }

    deinit {
        sodium_memzero(state, stateBytes)
        state.deallocate()
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = crypto_generichash_blake2b_update(OpaquePointer(state),
                                              bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                              UInt64(bytes.count))
    }

    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        _ = crypto_generichash_blake2b_final(OpaquePointer(state),
                                             &out, outputLength)
        return out
    }

    static func hash(_ message: [UInt8], key: SecretBytes?, outputLength: Int, personal: Personal) -> [UInt8] {
        let h = Blake2b(key: key, outputLength: outputLength, personal: personal)
        h.update(message)
        return h.finish()
    }
}

/// SHA-256, for nothing secret: the format's test vectors name a long object by its digest.
public enum SHA256 {
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        _ = crypto_hash_sha256(&out, message, UInt64(message.count))
        return out
    }
}

// MARK: - Key derivation, AEAD, stream cipher, signatures, Argon2id

enum KDF {
    /// crypto_kdf (BLAKE2b) with an 8-byte context label and a numeric subkey id.
    static func derive(from key: SecretBytes, id: UInt64, context: String, length: Int = 32) -> SecretBytes {
        Sodium.ensureReady()
        let ctx = Array(context.utf8)
        precondition(ctx.count == Int(crypto_kdf_CONTEXTBYTES), "crypto_kdf context must be exactly 8 bytes: \(context)")
        precondition(key.count == Int(crypto_kdf_KEYBYTES))
        let out = SecretBytes(count: length)
        let rc = out.withMutableBytes { o in
            ctx.withUnsafeBufferPointer { c in
                c.withMemoryRebound(to: CChar.self) { cc in
                    crypto_kdf_derive_from_key(o.baseAddress!.assumingMemoryBound(to: UInt8.self), length, id, cc.baseAddress!, key.rawPointer)
                }
            }
        }
        precondition(rc == 0, "crypto_kdf with valid constant sizes failed")
        return out
    }
}

/// XChaCha20-Poly1305-IETF, the AEAD that seals content chunks, metadata, key files and doorbells.
public enum XChaCha20Poly1305 {
    public static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)     // 32
    public static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)  // 24
    public static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)       // 16

    /// Seals `plaintext` into `output` (which must hold plaintext.count + 16 bytes).
    public static func seal(key: SecretBytes, nonce: UnsafeRawBufferPointer, ad: UnsafeRawBufferPointer,
                            plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(nonce.count == nonceBytes && output.count >= plaintext.count + tagBytes && key.count == keyBytes)
        var outLen: UInt64 = 0
        let empty: [UInt8] = [0]
        empty.withUnsafeBytes { e in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLen,
                (plaintext.baseAddress ?? e.baseAddress!).assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                (ad.baseAddress ?? e.baseAddress!).assumingMemoryBound(to: UInt8.self), UInt64(ad.count),
                nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.rawPointer)
        }
    }

    /// Opens `ciphertext` (payload + tag) into `output`; false if the tag does not verify (output then undefined).
    public static func open(key: SecretBytes, nonce: UnsafeRawBufferPointer, ad: UnsafeRawBufferPointer,
                            ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(nonce.count == nonceBytes && key.count == keyBytes)
        guard ciphertext.count >= tagBytes, output.count >= ciphertext.count - tagBytes else { return false }
        var outLen: UInt64 = 0
        var scratch: [UInt8] = [0]
        let rc = scratch.withUnsafeMutableBytes { e in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                (output.baseAddress ?? e.baseAddress!).assumingMemoryBound(to: UInt8.self), &outLen, nil,
                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                (ad.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(e.baseAddress!)).assumingMemoryBound(to: UInt8.self),
                UInt64(ad.count), nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.rawPointer)
        }
        return rc == 0
    }

    /// Array convenience: seal with the given nonce, returning ciphertext ‖ tag.
    static func seal(key: SecretBytes, nonce: [UInt8], ad: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        nonce.withUnsafeBytes { n in ad.withUnsafeBytes { a in plaintext.withUnsafeBytes { p in
            out.withUnsafeMutableBytes { o in seal(key: key, nonce: n, ad: a, plaintext: p, into: o) }
        } } }
        return out
    }

    /// Array convenience: nil when the tag does not verify.
    static func open(key: SecretBytes, nonce: [UInt8], ad: [UInt8], ciphertext: [UInt8]) -> [UInt8]? {
        guard ciphertext.count >= tagBytes else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagBytes)
        let ok = nonce.withUnsafeBytes { n in ad.withUnsafeBytes { a in ciphertext.withUnsafeBytes { c in
            out.withUnsafeMutableBytes { o in open(key: key, nonce: n, ad: a, ciphertext: c, into: o) }
        } } }
        return ok ? out : nil
    }
}

enum XChaCha20 {
    /// Unauthenticated stream XOR (name records: authenticity comes from their SIV).
    static func xor(_ input: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8] {
        precondition(nonce.count == Int(crypto_stream_xchacha20_NONCEBYTES) && key.count == Int(crypto_stream_xchacha20_KEYBYTES))
        var out = [UInt8](repeating: 0, count: input.count)
        if input.isEmpty { return out }
        _ = crypto_stream_xchacha20_xor(&out, input, UInt64(input.count), nonce, key.rawPointer)
        return out
    }
}

enum Ed25519 {
    static let publicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)  // 32
    static let secretKeyBytes = Int(crypto_sign_SECRETKEYBYTES)  // 64
    static let signatureBytes = Int(crypto_sign_BYTES)           // 64
    static let seedBytes = Int(crypto_sign_SEEDBYTES)            // 32

    static func keypair(seed: SecretBytes) -> (publicKey: [UInt8], secretKey: SecretBytes) {
        Sodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: publicKeyBytes)
        let sk = SecretBytes(count: secretKeyBytes)
        _ = sk.withMutableBytes { crypto_sign_seed_keypair(&pk, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), seed.rawPointer) }
        return (pk, sk)
    }

    static func sign(_ message: [UInt8], secretKey: SecretBytes) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: signatureBytes)
        var len: UInt64 = 0
        _ = crypto_sign_detached(&sig, &len, message, UInt64(message.count), secretKey.rawPointer)
        return sig
    }

    static func verify(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}

/// X25519 (crypto_scalarmult): a device's key-agreement pair, for receiving sealed epoch secrets.
enum X25519 {
    static let keyBytes = Int(crypto_scalarmult_BYTES)  // 32

    /// The public key of a 32-byte secret scalar (libsodium clamps it).
    static func publicKey(secret: SecretBytes) -> [UInt8] {
        Sodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: keyBytes)
        _ = crypto_scalarmult_base(&pk, secret.rawPointer)
        return pk
    }
}

/// crypto_box_seal: anonymous public-key encryption to an X25519 key (ephemeral key ‖ box), for
/// secrets handed to one device (an invite's read secret).
enum SealedBox {
    static let overheadBytes = Int(crypto_box_sealbytes())  // 48

    static func seal(_ message: [UInt8], to publicKey: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: message.count + overheadBytes)
        _ = crypto_box_seal(&out, message, UInt64(message.count), publicKey)
        return out
    }

    /// Nil when the box was not sealed to this key pair or was altered.
    static func open(_ box: [UInt8], publicKey: [UInt8], secretKey: SecretBytes) -> [UInt8]? {
        guard box.count >= overheadBytes else { return nil }
        var out = [UInt8](repeating: 0, count: box.count - overheadBytes)
        guard crypto_box_seal_open(&out, box, UInt64(box.count), publicKey, secretKey.rawPointer) == 0 else { return nil }
        return out
    }
}

enum Argon2id {
    static let saltBytes = Int(crypto_pwhash_SALTBYTES)  // 16
    static let minOps = UInt32(crypto_pwhash_argon2id_OPSLIMIT_MIN)
    static let minMemoryKiB = UInt32(crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024)

    /// Derives a 32-byte key; throws when memory cannot be had (libsodium returns -1 then).
    static func deriveKey(passphrase: SecretBytes, salt: [UInt8], ops: UInt32, memoryKiB: UInt32) throws(ShadowError) -> SecretBytes {
        Sodium.ensureReady()
        let out = SecretBytes(count: 32)
        let rc = out.withMutableBytes { o in
            passphrase.withBytes { p in
                crypto_pwhash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                              p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count),
                              salt, UInt64(ops), Int(memoryKiB) * 1024, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard rc == 0 else {
            throw ShadowError(.ioFailure, "Argon2id could not allocate \(memoryKiB / 1024) MiB to unlock the key file",
                              advice: "free memory, or re-create the key file with the 'interactive' profile")
        }
        return out
    }
}

// MARK: - Poly1305 (change detection between the two encryption passes)

/// A random Poly1305 key for one encryption of one file, wiped when released. Ordinary heap memory,
/// not `SecretBytes`: it protects nothing secret (it only makes the pass-1/pass-2 comparison
/// unforgeable), and a guarded, locked allocation per file cost about ten system calls, a large part
/// of importing many small files.
final class OneTimeKey {
    let pointer: UnsafeMutablePointer<UInt8>

    init() {
        Sodium.ensureReady()
        pointer = .allocate(capacity: Int(crypto_onetimeauth_KEYBYTES))
        randombytes_buf(pointer, Int(crypto_onetimeauth_KEYBYTES))
    }

    deinit {
        sodium_memzero(pointer, Int(crypto_onetimeauth_KEYBYTES))
        pointer.deallocate()
    }
}

/// Streaming Poly1305 under a one-time random key. Used only to compare what pass 1 and pass 2 read:
/// the tags never leave memory, so an attacker who edits the file cannot aim for a collision.
final class Poly1305 {
    private let state: UnsafeMutableRawPointer
    private let stateBytes: Int

    init(key: OneTimeKey) {
        Sodium.ensureReady()
        stateBytes = crypto_onetimeauth_poly1305_statebytes()
        state = UnsafeMutableRawPointer.allocate(byteCount: stateBytes, alignment: 64)
        _ = crypto_onetimeauth_init(state.assumingMemoryBound(to: crypto_onetimeauth_state.self), key.pointer)
    }

    deinit {
        sodium_memzero(state, stateBytes)
        state.deallocate()
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = crypto_onetimeauth_update(state.assumingMemoryBound(to: crypto_onetimeauth_state.self), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_onetimeauth_BYTES))
        _ = crypto_onetimeauth_final(state.assumingMemoryBound(to: crypto_onetimeauth_state.self), &out)
        return out
    }

}
