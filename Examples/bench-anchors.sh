#!/usr/bin/env bash
# ShadowSync beside the tools it replaces or competes with, on the same trees, in one run.
# Machines here are noisy: read the ratios. Every figure in Docs/BENCHMARKS.md comes from this script.
#
#   1. Import into an encrypted git repository, pushed to a local bare repository:
#      ShadowSync (init) vs git-crypt (clean filter on every file) vs plain git (unencrypted),
#      on 10k small files and on a few 100 MB files; and encryption of the same trees by
#      `rclone sync` to a local crypt remote.
#   2. No-op rescan of NOOP_FILES files (default 100,000) vs `git status`.
#   3. Bytes a one-line edit in a 10 MB file adds to the server (ShadowSync vs plain git).
#   4. Server repository growth after 100 edits of a notes folder (ShadowSync vs plain git, before
#      and after `git gc` on the server).
#
# Usage: bash Examples/bench-anchors.sh            (root: installs git-crypt and rclone from Debian)
# Env:   SMALL_FILES (10000) BIG_FILES (3) BIG_MB (100) NOOP_FILES (100000) EDITS (100) FRESH_FS=1
# Propagation latency has its own benchmarks: Examples/bench-daemon.py and Examples/bench-doorbell.py.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL_FILES=${SMALL_FILES:-10000}
BIG_FILES=${BIG_FILES:-3}
BIG_MB=${BIG_MB:-100}
NOOP_FILES=${NOOP_FILES:-100000}
EDITS=${EDITS:-100}
RUNS=5

need=()
command -v git-crypt >/dev/null || need+=(git-crypt)
command -v rclone >/dev/null || need+=(rclone)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "needs ${need[*]}: run as root or install them" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
source Examples/bench-lib.sh
bench_setup anchors 16G
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data RCLONE_CONFIG=$W/rclone.conf
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
mkdir -p "$HOME" && touch "$RCLONE_CONFIG"
git config --global init.defaultBranch main
# No automatic `git gc` after an import commit: with 100k loose objects it packs them in the background
# for tens of seconds, during the next measurements (it is not part of any import's time).
git config --global gc.auto 0

bytes() { du -sb "$1" | cut -f1; }
mib() { python3 -c "print(f'{$1 / 1048576:.2f} MiB')"; }
row() { printf '%-48s %12s %12s %9s\n' "$@"; }

# rclone's crypt remote over a local directory, configured through the environment (no config file).
export RCLONE_CONFIG_BENCHCRYPT_TYPE=crypt
RCLONE_CONFIG_BENCHCRYPT_PASSWORD=$(rclone obscure "bench passphrase")
export RCLONE_CONFIG_BENCHCRYPT_PASSWORD

# One import of tree $1 with every tool; prints a table. Each tool gets its own copy, made beforehand.
import_all() {
  local name=$1 src=$2 n=$3
  for t in shadow crypt plain rclone; do cp -a "$src" "$W/$name-$t"; done
  sync
  local a b
  a=$(now); $S init "$W/$name-shadow" --remote "$W/$name-shadow.git" --no-passphrase >/dev/null; b=$(now)
  local ts; ts=$(elapsed $a $b)

  git init -q --bare "$W/$name-crypt.git"
  (cd "$W/$name-crypt" && git init -q && git-crypt init >/dev/null 2>&1 \
    && printf '* filter=git-crypt diff=git-crypt\n.gitattributes !filter !diff\n' > .gitattributes)
  sync
  a=$(now); (cd "$W/$name-crypt" && git add -A && git commit -qm import && git push -q "$W/$name-crypt.git" main); b=$(now)
  local tc; tc=$(elapsed $a $b)

  git init -q --bare "$W/$name-plain.git"
  (cd "$W/$name-plain" && git init -q)
  sync
  a=$(now); (cd "$W/$name-plain" && git add -A && git commit -qm import && git push -q "$W/$name-plain.git" main); b=$(now)
  local tp; tp=$(elapsed $a $b)

  export RCLONE_CONFIG_BENCHCRYPT_REMOTE=$W/$name-rclone-crypt
  sync
  a=$(now); rclone sync "$W/$name-rclone" benchcrypt: --transfers 4 --checkers 8; b=$(now)
  local tr; tr=$(elapsed $a $b)

  echo
  echo "import: $name ($n files, $(du -sh "$src" | cut -f1)); local bare repository as the server"
  row "tool" "seconds" "vs git" "vs crypt"
  row "shadowsync init (encrypt, commit, push)" "$ts" "$(ratio $ts $tp)" "$(ratio $ts $tc)"
  row "git-crypt (add, commit, push)" "$tc" "$(ratio $tc $tp)" "1.00x"
  row "plain git, unencrypted (add, commit, push)" "$tp" "1.00x" "$(ratio $tp $tc)"
  row "rclone sync to a local crypt remote" "$tr" "$(ratio $tr $tp)" "$(ratio $tr $tc)"
  echo "server size: shadowsync $(mib $(bytes "$W/$name-shadow.git")), git-crypt $(mib $(bytes "$W/$name-crypt.git")), git $(mib $(bytes "$W/$name-plain.git")), rclone $(mib $(bytes "$W/$name-rclone-crypt"))"
  rm -rf "$W/$name"-*
}

echo "ShadowSync $($S --version 2>/dev/null || echo dev), $(git --version), git-crypt $(git-crypt --version 2>&1 | head -1), $(rclone version | head -1)"
echo "$(nproc) cores, fresh ext4: ${FRESH_FS:-0}, release build"

# 1. Imports.
python3 Examples/make-tree.py "$W/small" "$SMALL_FILES"
import_all small "$W/small" "$SMALL_FILES"
mkdir -p "$W/big"
for i in $(seq "$BIG_FILES"); do head -c "$((BIG_MB << 20))" /dev/urandom > "$W/big/video$i.bin"; done
import_all big "$W/big" "$BIG_FILES"
rm -rf "$W/small" "$W/big"

# 2. No-op rescan of a large tree.
python3 Examples/make-tree.py "$W/many" "$NOOP_FILES"
cp -a "$W/many" "$W/many-git"
$S init "$W/many" --remote "$W/many.git" --no-passphrase >/dev/null
(cd "$W/many-git" && git init -q && git add -A && git commit -qm import)
sync  # the 100k files and git's 100k loose objects written back first, not during the measurements
noop=(); gstat=()
for _ in $(seq $RUNS); do
  a=$(now); $S sync --folder "$W/many" >/dev/null; b=$(now); noop+=($(elapsed $a $b))
  a=$(now); git -C "$W/many-git" status --porcelain >/dev/null; b=$(now); gstat+=($(elapsed $a $b))
done
read -r mpass mpassgit < <(inprocess_rescan "$W/many" "$W/many-git" 9)
mnoop=$(median "${noop[@]}"); mstat=$(median "${gstat[@]}")
echo
echo "no-op rescan of $NOOP_FILES files (medians of $RUNS)"
row "operation" "shadowsync" "git" "ratio"
row "no-op sync (a new process) vs git status" "${mnoop}s" "${mstat}s" "$(ratio $mnoop $mstat)"
row "running agent's no-op pass vs git status" "${mpass}s" "${mpassgit}s" "$(ratio $mpass $mpassgit)"
rm -rf "$W/many" "$W/many-git" "$W/many.git"

# 3. Bytes a one-line edit in a 10 MB text file adds to the server.
mkdir -p "$W/edit"
python3 -c "import sys; open(sys.argv[1], 'w').write(''.join('line %07d of a ten megabyte text file\\n' % i for i in range(260000)))" "$W/edit/big.txt"
cp -a "$W/edit" "$W/edit-git"
$S init "$W/edit" --remote "$W/edit.git" --no-passphrase >/dev/null
git init -q --bare "$W/edit-git.git"
(cd "$W/edit-git" && git init -q && git add -A && git commit -qm import && git push -q "$W/edit-git.git" main)
s0=$(bytes "$W/edit.git/objects"); g0=$(bytes "$W/edit-git.git/objects")
sed -i '100000s/.*/this line was edited/' "$W/edit/big.txt" "$W/edit-git/big.txt"
$S sync --folder "$W/edit" >/dev/null
(cd "$W/edit-git" && git commit -qam edit && git push -q "$W/edit-git.git" main)
s1=$(bytes "$W/edit.git/objects"); g1=$(bytes "$W/edit-git.git/objects")
echo
echo "one-line edit in a $(du -h "$W/edit/big.txt" | cut -f1) text file: bytes added to the server's objects"
row "tool" "added" "file size" "share"
fsize=$(stat -c %s "$W/edit/big.txt")
row "shadowsync sync" "$(mib $((s1 - s0)))" "$(mib $fsize)" "$(python3 -c "print(f'{($s1 - $s0) / $fsize:.3f}')")"
row "plain git commit + push" "$(mib $((g1 - g0)))" "$(mib $fsize)" "$(python3 -c "print(f'{($g1 - $g0) / $fsize:.3f}')")"
rm -rf "$W/edit" "$W/edit-git" "$W/edit.git" "$W/edit-git.git"

# 4. Growth after EDITS edits of a notes folder (200 notes of a few KiB; each edit appends a line to
#    one note and syncs, as the daemon would after each save).
python3 - "$W/notes" <<'EOF'
import os, sys
root = sys.argv[1]
for i in range(200):
    d = os.path.join(root, "topic%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "note%03d.md" % i), "w") as f:
        f.write("# Note %d\n\n" % i + "".join("- point %d of note %d, with some words\n" % (j, i) for j in range(60)))
EOF
cp -a "$W/notes" "$W/notes-git"
$S init "$W/notes" --remote "$W/notes.git" --no-passphrase >/dev/null
git init -q --bare "$W/notes-git.git"
(cd "$W/notes-git" && git init -q && git add -A && git commit -qm import && git push -q "$W/notes-git.git" main)
s0=$(bytes "$W/notes.git"); g0=$(bytes "$W/notes-git.git")
for i in $(seq "$EDITS"); do
  n=$(( (i * 37) % 200 )); f=topic$(printf %02d $((n % 10)))/note$(printf %03d $n).md
  echo "- edit $i: another thought" >> "$W/notes/$f"; echo "- edit $i: another thought" >> "$W/notes-git/$f"
  $S sync --folder "$W/notes" >/dev/null
  (cd "$W/notes-git" && git commit -qam "edit $i" && git push -q "$W/notes-git.git" main)
done
s1=$(bytes "$W/notes.git"); g1=$(bytes "$W/notes-git.git")
git -C "$W/notes.git" gc -q; git -C "$W/notes-git.git" gc -q
s2=$(bytes "$W/notes.git"); g2=$(bytes "$W/notes-git.git")
echo
echo "notes folder (200 notes, $(du -sh "$W/notes-git" --exclude=.git | cut -f1)), $EDITS edits each synced: server repository size"
row "tool" "after import" "+$EDITS edits" "after gc"
row "shadowsync" "$(mib $s0)" "$(mib $s1)" "$(mib $s2)"
row "plain git" "$(mib $g0)" "$(mib $g1)" "$(mib $g2)"
echo "growth per edit after gc: shadowsync $(python3 -c "print(f'{($s2 - $s0) / $EDITS / 1024:.1f} KiB')"), git $(python3 -c "print(f'{($g2 - $g0) / $EDITS / 1024:.1f} KiB')")"
echo
echo "targets: faster than git-crypt on many files; import within 1.5x plain git; no-op rescan at or below git status"
