#!/usr/bin/env python3
"""A second implementation of Docs/FORMAT.md, written from the document alone: recomputes every test
vector of §7c and §8 (sealed boxes, which are random, it opens with the recipient's key) and compares it with the text of the document. Python's hashlib gives BLAKE2b,
SHA-256 and SHA-1; libsodium (through ctypes) gives only the primitives the document names by their
libsodium function: crypto_kdf (checked against the BLAKE2b form the document states),
HChaCha20/ChaCha20 (checked against crypto_stream_xchacha20_xor), the XChaCha20-Poly1305 AEAD,
Ed25519 and X25519 (crypto_scalarmult_base). Prints one line per vector; exits 1 on the first mismatch.

    python3 Tests/format-check.py Docs/FORMAT.md

With --open it applies the reading rules of §4.2 instead: it opens one name record (a `.n` file) with
the key material of a capability string (§2: read-write or read-only) and prints the record's path, or
says why the rules refuse it and exits 1 (a record of a key epoch the key does not hold, §1d):

    python3 Tests/format-check.py --open RECORD_FILE CAPABILITY_FILE
"""
import base64, ctypes, ctypes.util, hashlib, re, struct, sys

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0
checked = 0


def check(name, got, want):
    global checked
    if got != want:
        print(f"MISMATCH {name}\n  computed {got}\n  FORMAT.md {want}")
        sys.exit(1)
    checked += 1
    print(f"ok {name}")


def blocks_after(heading):
    """The fenced code blocks of a section, each with the prose just before it."""
    start = doc.index(heading)
    end = doc.find("\n## ", start + len(heading))
    section = doc[start:end if end >= 0 else len(doc)]
    parts = re.split(r"```[a-z]*\n", section)
    # parts alternate: prose, code, prose, code, ...
    return [(parts[i - 1], parts[i]) for i in range(1, len(parts), 2)]


def block(section, label):
    found = [code for prose, code in blocks_after(section) if label in prose[-400:]]
    assert len(found) == 1, f"no single code block after {label!r}"
    return found[0]


# Conventions of FORMAT.md.
def blake2b(n, msg, key=b"", personal=b"", salt=b""):
    return hashlib.blake2b(msg, digest_size=n, key=key, person=personal, salt=salt).digest()


def kdf(key, subkey_id, context, n=32):
    derived = blake2b(n, b"", key=key, salt=struct.pack("<Q", subkey_id) + bytes(8), personal=context + bytes(8))
    out = ctypes.create_string_buffer(n)
    sodium.crypto_kdf_derive_from_key(out, ctypes.c_size_t(n), ctypes.c_uint64(subkey_id), context, key)
    assert out.raw == derived, "crypto_kdf is not the BLAKE2b form FORMAT.md states"
    return derived


def xchacha20_xor(data, nonce, key):
    subkey = ctypes.create_string_buffer(32)
    sodium.crypto_core_hchacha20(subkey, nonce[:16], key, None)
    out = ctypes.create_string_buffer(len(data))
    # RFC 8439 ChaCha20, counter 0, nonce 0x00 × 4 ‖ nonce[16..24]
    sodium.crypto_stream_chacha20_ietf_xor_ic(out, data, ctypes.c_ulonglong(len(data)), bytes(4) + nonce[16:], ctypes.c_uint32(0), subkey.raw)
    reference = ctypes.create_string_buffer(len(data))
    sodium.crypto_stream_xchacha20_xor(reference, data, ctypes.c_ulonglong(len(data)), nonce, key)
    assert out.raw == reference.raw, "XChaCha20 is not HChaCha20 + ChaCha20 from counter 0"
    return out.raw


def aead(key, nonce, ad, msg):
    out = ctypes.create_string_buffer(len(msg) + 16)
    size = ctypes.c_ulonglong()
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, ctypes.byref(size), msg, ctypes.c_ulonglong(len(msg)), ad,
                                                      ctypes.c_ulonglong(len(ad)), None, nonce, key)
    return out.raw


def base32(b):
    return base64.b32encode(b).decode().rstrip("=").lower()


def padme(x):
    if x < 2:
        return x
    e = x.bit_length() - 1
    s = e.bit_length()  # ⌊log₂ E⌋ + 1
    mask = (1 << (e - s)) - 1
    return (x + mask) & ~mask


def open_name_record(record_file, capability_file):
    """§4.2 reading with the key material of a capability: exit 0 and the path, or exit 1 and why not."""
    text = "".join(open(capability_file).read().split()).lower()
    prefix, body = text[:9], text[9:]
    raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    payload, checksum = raw[:-4], raw[-4:]
    assert blake2b(32, prefix.encode() + payload, personal=b"SHDW-capsum-v1")[:4] == checksum, "capability checksum"
    if prefix == "shdw1-rw-":
        secret = payload[1:33]
        key_epoch, rs_key = 0, kdf(secret, 2, b"shdwroot")
        seed = kdf(secret, 1, b"shdwroot")
        pk_buf, sk_buf = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
        sodium.crypto_sign_seed_keypair(pk_buf, sk_buf, seed)
        root = pk_buf.raw
    elif prefix == "shdw1-ro-":
        key_epoch, rs_key, root = struct.unpack("<I", payload[1:5])[0], payload[5:37], payload[37:69]
    else:
        print(f"refused: a {prefix} capability holds no read secret")
        sys.exit(1)
    vid = blake2b(16, root, personal=b"SHDW-vaultid-v1")
    data = open(record_file, "rb").read()
    assert len(data) >= 88 and (len(data) - 24) % 64 == 0 and data[:4] == b"SHN2", "not a name record"
    epoch = struct.unpack("<I", data[4:8])[0]
    tag, r = data[8:24], xchacha20_xor(data[24:], data[8:24] + bytes(8), kdf(rs_key, 2, b"shdwname"))
    authentic = blake2b(16, data[:8] + vid + r, key=kdf(rs_key, 1, b"shdwname"), personal=b"SHDW-name-v1") == tag
    if epoch != key_epoch:
        print(f"refused: the record is sealed under key epoch {epoch}, the key holds epoch {key_epoch}"
              f" (and its tag does {'' if authentic else 'not '}verify under the key's own epoch)")
        sys.exit(1)
    if not authentic:
        print("refused: the record does not authenticate under this key")
        sys.exit(1)
    p = struct.unpack("<H", r[72:74])[0]
    print(r[74:74 + p].decode("utf-8", "replace"))
    sys.exit(0)


if len(sys.argv) == 4 and sys.argv[1] == "--open":
    open_name_record(sys.argv[2], sys.argv[3])

doc = open(sys.argv[1] if len(sys.argv) > 1 else "Docs/FORMAT.md", encoding="utf-8").read()

# §1 keys, from VS = 0x00 … 0x1f.
vs = bytes(range(32))
seed_root, rs = kdf(vs, 1, b"shdwroot"), kdf(vs, 2, b"shdwroot")
pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
sodium.crypto_sign_seed_keypair(pk, sk, seed_root)
pk_root = pk.raw
vault_id = blake2b(16, pk_root, personal=b"SHDW-vaultid-v1")
k_siv, k_aead, k_fid, k_gear = (kdf(rs, i, b"shdwcont") for i in (1, 2, 3, 4))
k_nmac, k_nenc, k_loc = (kdf(rs, i, b"shdwname") for i in (1, 2, 3))
k_bell, t_bell = kdf(rs, 1, b"shdwbell"), kdf(rs, 2, b"shdwbell", 16)

values = dict(re.findall(r"^(\S.*?)\s+=\s+(\S+)$", block("## 8. Test vectors", "Vault secret VS"), re.M))
check("PK_root", pk_root.hex(), values["PK_root"])
check("vault_id", vault_id.hex(), values["vault_id"])


# §2 capabilities.
def capability(prefix, payload):
    return prefix + base32(payload + blake2b(32, prefix.encode() + payload, personal=b"SHDW-capsum-v1")[:4])


check("rw capability", capability("shdw1-rw-", b"\x01" + vs), values["rw cap"])
check("ro capability", capability("shdw1-ro-", b"\x02" + struct.pack("<I", 0) + rs + pk_root), values["ro cap"])
check("vk capability", capability("shdw1-vk-", b"\x03" + pk_root), values["vk cap"])

# §4.1 locators and §3 file ids.
for path in ("Documents/Tax 2024/return.pdf", "a"):
    loc = base32(blake2b(20, path.encode(), key=k_loc, personal=b"SHDW-locator-v1"))
    check(f"loc({path})", f"d/{loc[0]}/{loc[1]}/{loc[2:]}.n", values[f'loc("{path}")'])
    check(f"file_id({path})", blake2b(16, path.encode(), key=k_fid, personal=b"SHDW-fileid-v1").hex(), values[f'file_id("{path}")'])


# §3 content objects.
def content(data, file_id, pad_id, chunk_log2=16, kind=0):
    size = 8 + len(data) if pad_id == 0 else max(256, padme(8 + len(data)))
    p = struct.pack("<Q", len(data)) + data + bytes(size - 8 - len(data))
    c = 1 << chunk_log2
    chunks = [p[i:i + c] for i in range(0, len(p), c)]
    header = b"SHC1" + bytes([1, chunk_log2, pad_id, kind]) + struct.pack("<I", 0) + file_id
    lanes = [blake2b(32, bytes([j]) + b"".join(chunks[j::2]), key=k_siv, personal=b"SHDW-lane-v1") for j in (0, 1)]
    siv = blake2b(32, header + struct.pack("<Q", len(p)) + lanes[0] + lanes[1], key=k_siv, personal=b"SHDW-content-v1")
    out = header + siv
    for i, chunk in enumerate(chunks):
        final = 1 if i == len(chunks) - 1 else 0
        out += aead(k_aead, siv[:16] + struct.pack("<Q", i), header + siv + bytes([final]), chunk)
    return out


file_id = b"\x11" * 16
check('content "hello", pad_id 0', content(b"hello", file_id, 0).hex(), block("## 8. Test vectors", 'Content `"hello"`, pad_id 0').strip())
check("content empty, pad_id 1", content(b"", file_id, 1).hex(), block("## 8. Test vectors", "Content empty, pad_id 1").strip())
hello = content(b"hello", file_id, 1)
check('content "hello", pad_id 1', hello.hex(), block("## 8. Test vectors", 'Content `"hello"`, pad_id 1').strip())
long = content(bytes(i % 251 for i in range(150 * 1024)), file_id, 1)
described = dict(re.findall(r"^(SHA-256|first 64 bytes|last 32 bytes)\s+(\S+)$", block("## 8. Test vectors", "Content of 150 KiB"), re.M))
check("content 150 KiB: SHA-256", hashlib.sha256(long).hexdigest(), described["SHA-256"])
check("content 150 KiB: first 64 bytes", long[:64].hex(), described["first 64 bytes"])
check("content 150 KiB: last 32 bytes", long[-32:].hex(), described["last 32 bytes"])
check("padme(153 608)", padme(153608), 155648)

# §3a segmented content.
SEG_MIN, SEG_MAX, SEG_BITS, THRESHOLD = 64 << 10, 1 << 20, 17, 1 << 20
gear_bytes = b"".join(blake2b(64, bytes([j]), key=k_gear, personal=b"SHDW-gear-v1") for j in range(32))
gear = struct.unpack("<256Q", gear_bytes)


def segment_lengths(data):
    lengths, start = [], 0
    while start < len(data):
        h, cut = 0, None
        for p in range(start, min(len(data), start + SEG_MAX)):
            h = ((h << 1) + gear[data[p]]) & 0xFFFFFFFFFFFFFFFF
            if p + 1 - start >= SEG_MIN and h >> (64 - SEG_BITS) == 0:
                cut = p + 1 - start
                break
        if cut is None:
            cut = min(SEG_MAX, len(data) - start)
        lengths.append(cut)
        start += cut
    return lengths


x, plain = 0, bytearray()
for _ in range(3 << 19):
    x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    plain.append(x >> 56)
plain = bytes(plain)
assert len(plain) > THRESHOLD
seg_text = block("## 8. Test vectors", "the list of 7 entries, 364 bytes")
seg_values = dict(re.findall(r"^(\S.*?)\s+=\s+(\S+)$", seg_text, re.M))
check("gear table SHA-256", hashlib.sha256(gear_bytes).hexdigest(), seg_values["gear table SHA-256"])
check("G[0]", "%016x" % gear[0], seg_values["G[0]"])
lengths = segment_lengths(plain)
check("segment lengths", ",".join(map(str, lengths)), seg_values["segment lengths"])
listed, offset = b"", 0
seg_lines = re.findall(r"^segment (\d+)\s+(\S+)\s+(\S+)$", seg_text, re.M)
assert len(seg_lines) == len(lengths), "one line per segment"
for i, n in enumerate(lengths):
    obj = content(plain[offset:offset + n], bytes(16), 1, kind=2)
    offset += n
    siv = obj[28:60]
    check(f"segment {i} name", base32(siv[:20]), seg_lines[i][1])
    check(f"segment {i} SHA-256", hashlib.sha256(obj).hexdigest(), seg_lines[i][2])
    listed += struct.pack("<Q", n) + siv
list_object = content(listed, file_id, 1, kind=1)
check("segment list object", list_object.hex(), seg_values["list object"])
loc = base32(blake2b(20, b"big.bin", key=k_loc, personal=b"SHDW-locator-v1"))
check('segment path of "big.bin"', f"d/{loc[0]}/{loc[1]}/{loc[2:]}.s/{seg_lines[0][1]}", seg_values["segment 0 path"])


# §4.2 name records.
def name_record(kind, permissions, seconds, nanoseconds, modified_by, length, siv, path, target=b""):
    r = bytes([kind, 0]) + struct.pack("<HIq", permissions, nanoseconds, seconds) + modified_by
    r += struct.pack("<Q", length) + siv + struct.pack("<H", len(path)) + path + struct.pack("<H", len(target)) + target
    r += bytes(-len(r) % 64)
    header = b"SHN2" + struct.pack("<I", 0)
    tag = blake2b(16, header + vault_id + r, key=k_nmac, personal=b"SHDW-name-v1")
    return r, header + tag + xchacha20_xor(r, tag + bytes(8), k_nenc)


_, directory = name_record(2, 0o755, 0, 0, bytes(16), 0, bytes(32), b"a")
check('name record: directory "a"', directory.hex(), block("## 8. Test vectors", "Name record for the directory `a`").strip())
r, record = name_record(1, 0o600, 1767225600, 123456789, bytes(range(0xa0, 0xb0)), 5, hello[28:60], b"notes/todo.txt")
r_text, record_text = block("## 8. Test vectors", "Name record for the file `notes/todo.txt`").split()
check('name record: R of "notes/todo.txt"', r.hex(), r_text)
check('name record: "notes/todo.txt"', record.hex(), record_text)

# §1b device keys, §4.3 device record, §4.4 device name, §5 commit signature by a device.
def sign(message, secret):
    out = ctypes.create_string_buffer(64)
    sodium.crypto_sign_detached(out, None, message, ctypes.c_ulonglong(len(message)), secret)
    return out.raw


device = dict(re.findall(r"^(\S.*?)\s+=\s+(\S+)$", block("## 8. Test vectors", "The device of these vectors"), re.M))
dev_pk, dev_sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
sodium.crypto_sign_seed_keypair(dev_pk, dev_sk, bytes(range(0x40, 0x60)))
kx_pk = ctypes.create_string_buffer(32)
sodium.crypto_scalarmult_base(kx_pk, bytes(range(0x60, 0x80)))
device_id = blake2b(16, dev_pk.raw, personal=b"SHDW-deviceid-v1")
check("device PK_sign", dev_pk.raw.hex(), device["PK_sign"])
check("device PK_kx", kx_pk.raw.hex(), device["PK_kx"])
check("device_id", device_id.hex(), device["device_id"])
body = b"SHDR" + bytes([1, 1, 0, 0]) + vault_id + device_id + dev_pk.raw + kx_pk.raw + bytes(16) + struct.pack("<Q", 1767225600000)
check("device record", (body + sign(b"shdw-device-v1\x00" + vault_id + body, sk)).hex(),
      block("## 8. Test vectors", "Its record, admitted by the vault key").strip())
k_dname = kdf(rs, 1, b"shdwdevn")
header = b"SHDN" + struct.pack("<IQ", 0, 1) + device_id
nonce = bytes(range(0xc0, 0xd8))
plain = bytes([6]) + b"laptop"
sealed = header + nonce + aead(k_dname, nonce, header + vault_id, plain + bytes(64 - len(plain)))
check("device name", (sealed + sign(b"shdw-device-name-v1\x00" + vault_id + sealed, dev_sk)).hex(),
      block("## 8. Test vectors", "Its name `laptop`").strip())
# §1c invites, §4.5 invite record, §4.3 a record admitted by an invite.
invite = dict(re.findall(r"^(\S.*?)\s+=\s+(\S+)$", block("## 8. Test vectors", "Invite of this vault"), re.M))
invite_secret = bytes(range(0x80, 0xa0))
inv_pk, inv_sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
sodium.crypto_sign_seed_keypair(inv_pk, inv_sk, kdf(invite_secret, 1, b"shdwinvt"))
x_inv = kdf(invite_secret, 2, b"shdwinvt")
ikx_pk = ctypes.create_string_buffer(32)
sodium.crypto_scalarmult_base(ikx_pk, x_inv)
invite_id = blake2b(16, inv_pk.raw, personal=b"SHDW-inviteid-v1")
check("invite PK_inv", inv_pk.raw.hex(), invite["PK_inv"])
check("invite PK_ikx", ikx_pk.raw.hex(), invite["PK_ikx"])
check("invite_id", invite_id.hex(), invite["invite_id"])
check("invite string", capability("shdw1-in-", b"\x04" + invite_secret + pk_root), invite["invite"])
rec = bytes.fromhex(block("## 8. Test vectors", "Its record made by the device above").strip())
fixed = b"SHDI" + bytes([1, 0, 0, 0]) + vault_id + invite_id + inv_pk.raw + device_id + struct.pack("<QQI", 1767225600000, 1767484800000, 0)
check("invite record: public fields", rec[:108].hex(), fixed.hex())
gift = ctypes.create_string_buffer(100)
assert sodium.crypto_box_seal_open(gift, rec[108:256], ctypes.c_ulonglong(148), ikx_pk.raw, x_inv) == 0, "the gift does not open"
check("invite record: gift", gift.raw.hex(), (struct.pack("<I", 0) + rs + bytes([7]) + b"desktop" + bytes(56)).hex())
message = b"shdw-invite-v1\x00" + vault_id + rec[:256]
check("invite record: signature", sodium.crypto_sign_verify_detached(rec[256:], message, ctypes.c_ulonglong(len(message)), dev_pk.raw), 0)
dev2_pk, dev2_sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
sodium.crypto_sign_seed_keypair(dev2_pk, dev2_sk, bytes(range(0xa0, 0xc0)))
kx2_pk = ctypes.create_string_buffer(32)
sodium.crypto_scalarmult_base(kx2_pk, bytes(range(0xc0, 0xe0)))
body = (b"SHDR" + bytes([1, 3, 0, 0]) + vault_id + blake2b(16, dev2_pk.raw, personal=b"SHDW-deviceid-v1") + dev2_pk.raw + kx2_pk.raw
        + invite_id + struct.pack("<Q", 1767225660000))
check("device record admitted by the invite", (body + sign(b"shdw-device-v1\x00" + vault_id + body, inv_sk)).hex(),
      block("## 8. Test vectors", "The record of a second device").strip())
body = b"SHDX" + bytes(4) + vault_id + blake2b(16, dev2_pk.raw, personal=b"SHDW-deviceid-v1") + device_id + struct.pack("<Q", 1767225720000)
check("revocation", (body + sign(b"shdw-revoke-v1\x00" + vault_id + body, dev_sk)).hex(),
      block("## 8. Test vectors", "The first device's revocation").strip())
check('commit signature of "tree 0"', sign(b"shdw-commit-v3\x00" + vault_id + b"tree 0", dev_sk).hex(),
      block("## 8. Test vectors", "Commit signature of the bytes").strip())
# §5.4 a rewrite commit: its body, signature and object id.
rewrite = dict(re.findall(r"^(signature|commit)\s+=\s+(\S+)$", block("## 8. Test vectors", "its signature, and the commit object's id"), re.M))
identity = b"shdw <shdw@invalid> 0 +0000"
body = (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0123456789abcdef0123456789abcdef01234567\nauthor " + identity
        + b"\ncommitter " + identity + b"\n\nShdw-Meta: " + b"0" * 154 + b"\nShdw-Rewrite: 89abcdef0123456789abcdef0123456789abcdef\n")
rewrite_signature = sign(b"shdw-commit-v3\x00" + vault_id + body, dev_sk).hex()
check("rewrite commit signature", rewrite_signature, rewrite["signature"])
commit_object = body.replace(b"committer " + identity + b"\n", b"committer " + identity + b"\nshdwsig " + rewrite_signature.encode() + b"\n")
check("rewrite commit id", hashlib.sha1(b"commit %d\x00" % len(commit_object) + commit_object).hexdigest(), rewrite["commit"])
signature = ctypes.create_string_buffer(64)


# §1d key epochs, §4.7 epoch record, §4.8 epoch grant.
def box_open(box, public, secret):
    out = ctypes.create_string_buffer(len(box) - 48)
    assert sodium.crypto_box_seal_open(out, box, ctypes.c_ulonglong(len(box)), public, secret) == 0, "a sealed box does not open"
    return out.raw


def verify(sig, message, public):
    return sodium.crypto_sign_verify_detached(sig, message, ctypes.c_ulonglong(len(message)), public)


x_rec = kdf(vs, 3, b"shdwroot")
pk_rec_buf = ctypes.create_string_buffer(32)
sodium.crypto_scalarmult_base(pk_rec_buf, x_rec)
pk_rec = pk_rec_buf.raw
rs_1, epoch_nonce = bytes(range(0xe0, 0x100)), bytes(range(0x10, 0x28))
rec = bytes.fromhex(block("## 8. Test vectors", "Epoch 1 started by this device").strip())
header = b"SHDE" + struct.pack("<I", 1) + vault_id + device_id + struct.pack("<Q", 1767225780000)
check("epoch record: public fields and chain", rec[:120].hex(),
      (header + epoch_nonce + aead(kdf(rs_1, 1, b"shdwepch"), epoch_nonce, header, rs)).hex())
check("epoch record: recovery copy", box_open(rec[120:204], pk_rec, x_rec).hex(), (struct.pack("<I", 1) + rs_1).hex())
check("epoch record: signature", verify(rec[204:], b"shdw-epoch-v1\x00" + vault_id + rec[:204], dev_pk.raw), 0)
grant = bytes.fromhex(block("## 8. Test vectors", "Its grant of epoch 1 to itself").strip())
check("epoch grant: public fields", grant[:56].hex(), (b"SHDK" + struct.pack("<I", 1) + vault_id + device_id + device_id).hex())
check("epoch grant: sealed secret", box_open(grant[56:140], kx_pk.raw, bytes(range(0x60, 0x80))).hex(), (struct.pack("<I", 1) + rs_1).hex())
check("epoch grant: signature", verify(grant[140:], b"shdw-epoch-grant-v1\x00" + vault_id + grant[:140], dev_pk.raw), 0)

# §7b vault.json.
check("PK_rec", pk_rec.hex(), values["PK_rec"])
descriptor = ('{"format":"shdw/4","vault_id":"%s","root_public_key":"%s","recovery_public_key":"%s","content":{"chunk_log2":16,"padding":"padme"},'
              '"names":{"locator_bits":160,"record_quantum":64}' % (vault_id.hex(), pk_root.hex(), pk_rec.hex()))
message = b"shdw-vault-json-v1\x00" + vault_id + descriptor.encode()
sodium.crypto_sign_detached(signature, None, message, ctypes.c_ulonglong(len(message)), sk)
descriptor += ',"signature":"%s"}' % signature.raw.hex()
check("vault.json", descriptor, block("## 8. Test vectors", "`vault.json` of this vault").strip())

# §7c doorbell.
bell = dict(re.findall(r"^(folder|payload)\s+=\s+(\S+)$", block("## 7c. Doorbell", "Vector (vault of §8"), re.M))
check("doorbell folder", t_bell.hex(), bell["folder"])
record = bytes([1, 1]) + b"\x11" * 16 + struct.pack("<QQ", 1, 1800000000) + bytes([20]) + bytes(range(20))
record += bytes(67 - len(record))
nonce = bytes(range(0xa0, 0xb8))
check("doorbell payload", base64.b64encode(nonce + aead(k_bell, nonce, b"shdwbell1" + t_bell, record)).decode(), bell["payload"])

print(f"all {checked} vectors of FORMAT.md match")
