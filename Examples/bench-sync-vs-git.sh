#!/usr/bin/env bash
# Benchmarks the sync engine beside plain git on the same 10k-file tree, in one run, and prints ratios
# (machines here are noisy: only the ratios mean much). Usage: bash Examples/bench-sync-vs-git.sh [FILES]
# FRESH_FS=1 (root only) runs on a new ext4 file system in a loop file (Examples/bench-lib.sh says why).
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-10000}
RUNS=5
# The no-op comparison is the closest one: more runs, alternating, so both see the same machine.
NOOP_RUNS=15
source Examples/bench-lib.sh
# Three copies of the tree, the shadow tree (two files per file) and git's loose objects: 4 GiB
# (262k inodes) holds them for 10k files; larger trees get 4 GiB per 10k files.
bench_setup bench $(( FILES > 10000 ? (FILES + 9999) / 10000 * 4 : 4 ))G
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
# No automatic `git gc` after the import commit: with 10k loose objects it starts one in the background,
# which ran during the no-op measurements (it is not part of either import's time).
mkdir -p "$HOME" && git config --global gc.auto 0

python3 Examples/make-tree.py "$W/tree" "$FILES"
cp -a "$W/tree" "$W/plain"; cp -a "$W/tree" "$W/gitwork"

sync; t0=$(now); $S init "$W/plain" --remote "$W/remote.git" --no-passphrase >/dev/null; t1=$(now)
sync; g0=$(now); (cd "$W/gitwork" && git init -q && git add -A && git commit -qm import); g1=$(now)
imp=$(elapsed $t0 $t1); gimp=$(elapsed $g0 $g1)

noop=(); gstat=(); gfetch=()
git -C "$W/gitwork" remote add origin "$W/remote.git"
sync  # both imports written back first, not during the measurements
for _ in $(seq $NOOP_RUNS); do
  a=$(now); $S sync --folder "$W/plain" >/dev/null; b=$(now); noop+=($(elapsed $a $b))
  a=$(now); git -C "$W/gitwork" status --porcelain >/dev/null; b=$(now); gstat+=($(elapsed $a $b))
  a=$(now); git -C "$W/gitwork" fetch -q origin; git -C "$W/gitwork" status --porcelain >/dev/null; b=$(now); gfetch+=($(elapsed $a $b))
done
# Before the edits: a file edited under 2 s before the index was written is racily clean and is
# hashed again (and the index rewritten) on every pass until then, which is not a no-op.
read -r mpass mpassgit < <(inprocess_rescan "$W/plain" "$W/gitwork" 15)
one=(); gone=()
for i in $(seq $RUNS); do
  echo "edit $i" >> "$W/plain/d000/f00000.txt"; echo "edit $i" >> "$W/gitwork/d000/f00000.txt"
  a=$(now); $S sync --folder "$W/plain" >/dev/null; b=$(now); one+=($(elapsed $a $b))
  a=$(now); (cd "$W/gitwork" && git add -A && git commit -qm e); b=$(now); gone+=($(elapsed $a $b))
done
mnoop=$(median "${noop[@]}"); mstat=$(median "${gstat[@]}"); mfetch=$(median "${gfetch[@]}")
mone=$(median "${one[@]}"); mgone=$(median "${gone[@]}")
echo "tree: $FILES files, $(du -sh "$W/tree" | cut -f1); release build; medians of $RUNS runs ($NOOP_RUNS for no-ops); fresh ext4: ${FRESH_FS:-0}"
printf '%-44s %10s %10s %8s\n' "operation" "shadowsync" "git" "ratio"
printf '%-44s %9ss %9ss %8s\n' "first import (init+push vs add+commit)" "$imp" "$gimp" "$(ratio $imp $gimp)"
printf '%-44s %9ss %9ss %8s\n' "no-op sync vs git status" "$mnoop" "$mstat" "$(ratio $mnoop $mstat)"
printf '%-44s %9ss %9ss %8s\n' "no-op sync vs git fetch + status" "$mnoop" "$mfetch" "$(ratio $mnoop $mfetch)"
printf '%-44s %9ss %9ss %8s\n' "running agent's no-op pass vs git status" "$mpass" "$mpassgit" "$(ratio $mpass $mpassgit)"
printf '%-44s %9ss %9ss %8s\n' "one-file edit: sync+push vs add+commit" "$mone" "$mgone" "$(ratio $mone $mgone)"
echo "targets: import <= 1.5x, no-op sync <= 1.0x git status"
