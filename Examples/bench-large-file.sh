#!/usr/bin/env bash
# Large files: peak resident memory of init, join, decrypt, restore and fsck of one file of SIZE bytes
# (default 1 GiB, random bytes), and the bytes a one-line edit in a 10 MB text file adds to the server.
# Usage: bash Examples/bench-large-file.sh [SIZE]   (SHADOWSYNC_BIN=path uses that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1073741824}
if [ -n "${SHADOWSYNC_BIN:-}" ]; then
  S=$SHADOWSYNC_BIN
  W=$(mktemp -d /tmp/shadowsync-large-XXXXXX)
  trap 'rm -rf "$W"' EXIT
else
  . Examples/bench-lib.sh
  bench_setup large 16G
fi
export XDG_CONFIG_HOME=$W/cfg XDG_DATA_HOME=$W/data XDG_STATE_HOME=$W/state XDG_RUNTIME_DIR=$W/run
mkdir -p "$W/run" && chmod 700 "$W/run"

# peak LABEL CMD...: runs CMD, prints its wall time and peak RSS (getrusage of the child, in MiB).
peak() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
  read -r secs kib < "$W/time"
  printf '%-28s %8.2f s %8.1f MiB\n' "$label" "$secs" "$(python3 -c "print($kib/1024)")"
}
# server_bytes REPO: bytes of the bare repository's objects (packs and loose objects).
server_bytes() { du -sb "$1/objects" | cut -f1; }

mkdir -p "$W/a"
head -c "$SIZE" /dev/urandom > "$W/a/big.bin"
echo "file: $SIZE bytes of random data"
peak "init" "$S" init "$W/a" --remote "$W/remote.git" --no-passphrase
"$S" key export --folder "$W/a" > "$W/key"
chmod 600 "$W/key"
peak "join (fresh machine)" "$S" join "$W/remote.git" "$W/b" --key-file "$W/key" --no-passphrase
cmp "$W/a/big.bin" "$W/b/big.bin"
peak "decrypt (offline)" "$S" decrypt "$W/remote.git" --key-file "$W/key" --to "$W/out"
cmp "$W/a/big.bin" "$W/out/big.bin"
peak "restore" "$S" restore big.bin --at main --to "$W/restored.bin" --folder "$W/a"
cmp "$W/a/big.bin" "$W/restored.bin"
peak "fsck" "$S" fsck --folder "$W/a"
echo "server: $(server_bytes "$W/remote.git") bytes for the $SIZE-byte file"

# A one-line edit in a 10 MB text file: what the server gains.
mkdir -p "$W/t"
python3 - "$W/t/notes.txt" <<'EOF'
import random, sys
random.seed(1)
words = ["alpha", "beta", "gamma", "delta", "sync", "shadow", "commit", "segment", "vault", "server"]
with open(sys.argv[1], "w") as f:
    size = 0
    n = 0
    while size < 10_000_000:
        line = f"{n:07d} " + " ".join(random.choice(words) for _ in range(10)) + "\n"
        f.write(line); size += len(line); n += 1
EOF
"$S" init "$W/t" --remote "$W/text.git" --no-passphrase >/dev/null
before=$(server_bytes "$W/text.git")
python3 - "$W/t/notes.txt" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).readlines()
lines[len(lines) // 2] = lines[len(lines) // 2].rstrip("\n") + " edited\n"
open(p, "w").writelines(lines)
EOF
"$S" sync --folder "$W/t" >/dev/null
after=$(server_bytes "$W/text.git")
python3 -c "print(f'one-line edit in a 10 MB text file: the server gained {($after - $before) / 1048576:.3f} MiB ({$after - $before} bytes)')"
