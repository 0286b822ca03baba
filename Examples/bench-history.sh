#!/usr/bin/env bash
# Benchmarks a folder with a long history beside a fresh one, in one run: a FILES-file folder (2,000 by
# default) is edited and synced one file at a time (one commit and one push each, as a daemon saving
# notes would) up to each CHECKPOINT commits; at each, a fresh folder of the same tree is made and both
# are synced alternately, then joined from scratch. Prints medians, spread and ratios (machines here are
# noisy: only the ratios mean much), and the packs and loose objects each repository holds.
#
#   bash Examples/bench-history.sh [CHECKPOINT...]     default: 1000 5000 (e.g. add 20000 for a year)
#
# FILES=N sets the folder's size; NO_CONSOLIDATION=1 turns consolidation off (the thresholds set out of
# reach), to see what the history costs without it; FRESH_FS=1 (root only): Examples/bench-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then CHECKPOINTS=("$@"); else CHECKPOINTS=(1000 5000); fi
FILES=${FILES:-2000}
# Alternating synced edits per checkpoint and folder: the median and spread of these are the figures.
ROUNDS=15
JOINS=3
source Examples/bench-lib.sh
bench_setup history 8G
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data
export GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
if [ "${NO_CONSOLIDATION:-0}" = 1 ]; then export SHADOWSYNC_PACK_LIMIT=1000000000 SHADOWSYNC_LOOSE_OBJECT_LIMIT=1000000000; fi

# stats MICROSECONDS...: median, 10th and 90th percentile and maximum, in milliseconds.
stats() { python3 - "$@" <<'EOF'
import statistics, sys
v = sorted(float(x) / 1000 for x in sys.argv[1:])
q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
print(f"{statistics.median(v):.0f} {q(0.1):.0f} {q(0.9):.0f} {v[-1]:.0f}")
EOF
}
packs() { find "$1/objects/pack" -name '*.idx' | wc -l; }
loose() { find "$1/objects" -path '*/objects/??/*' -type f | wc -l; }

python3 Examples/make-tree.py "$W/tree" "$FILES"
cp -a "$W/tree" "$W/aged"
$S init "$W/aged" --remote "$W/aged.git" --shadow "$W/aged.shadow" --no-passphrase >/dev/null
$S key export --folder "$W/aged" > "$W/aged.key"
files=($(cd "$W/tree" && find . -name '*.txt' | sort | sed -n 1,200p))
# One edit (the next of 200 files gets a line) and the sync of FOLDER; the sync's microseconds go to $T.
n=0
edit_sync() {
  echo "edit $n" >> "$1/${files[$((n % ${#files[@]}))]}"; n=$((n + 1))
  local a b; a=$(date +%s%N); $S sync --folder "$1" >/dev/null; b=$(date +%s%N); T=$(( (b - a) / 1000 ))
}
join_time() {  # REMOTE KEY: microseconds for a fresh join, in its own home
  local home a b; home=$(mktemp -d "$W/join-XXXXXX")
  a=$(date +%s%N); HOME=$home XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data $S join "$1" "$home/folder" --key-file "$2" --no-passphrase >/dev/null; b=$(date +%s%N)
  rm -rf "$home"; echo $(( (b - a) / 1000 ))
}

echo "tree: $FILES files; release build; $(nproc) cores; fresh ext4: ${FRESH_FS:-0}; consolidation: $([ "${NO_CONSOLIDATION:-0}" = 1 ] && echo off || echo on); $(date -u +%F)"
printf '%-9s %-30s %14s %14s %8s\n' "commits" "measure" "fresh" "history" "ratio"
done_commits=1  # the import
for target in "${CHECKPOINTS[@]}"; do
  build=()
  while [ $done_commits -lt "$target" ]; do edit_sync "$W/aged"; build+=($T); done_commits=$((done_commits + 1)); done
  F=$W/fresh-$target
  cp -a "$W/tree" "$F"
  $S init "$F" --remote "$F.git" --shadow "$F.shadow" --no-passphrase >/dev/null
  $S key export --folder "$F" > "$F.key"
  fresh=(); aged=()
  for _ in $(seq $ROUNDS); do edit_sync "$F"; fresh+=($T); edit_sync "$W/aged"; aged+=($T); done
  done_commits=$((done_commits + ROUNDS))
  read -r fm f10 f90 fmax < <(stats "${fresh[@]}"); read -r am a10 a90 amax < <(stats "${aged[@]}")
  fj=(); aj=()
  for _ in $(seq $JOINS); do fj+=($(join_time "$F.git" "$F.key")); aj+=($(join_time "$W/aged.git" "$W/aged.key")); done
  read -r fjm _ _ _ < <(stats "${fj[@]}"); read -r ajm _ _ _ < <(stats "${aj[@]}")
  a=$(date +%s%N); git --git-dir "$F.git" log --oneline main >/dev/null; b=$(date +%s%N); flog=$(( (b - a) / 1000000 ))
  a=$(date +%s%N); git --git-dir "$W/aged.git" log --oneline main >/dev/null; b=$(date +%s%N); alog=$(( (b - a) / 1000000 ))
  c="$done_commits"
  printf '%-9s %-30s %14s %14s %8s\n' "$c" "one-file sync, median (ms)" "$fm" "$am" "$(ratio $am $fm)"
  printf '%-9s %-30s %14s %14s %8s\n' "" "  p10-p90, max (ms)" "$f10-$f90, $fmax" "$a10-$a90, $amax" ""
  printf '%-9s %-30s %14s %14s %8s\n' "" "fresh join, median (ms)" "$fjm" "$ajm" "$(ratio $ajm $fjm)"
  printf '%-9s %-30s %14s %14s %8s\n' "" "git log of the remote (ms)" "$flog" "$alog" ""
  printf '%-9s %-30s %14s %14s %8s\n' "" "remote packs" "$(packs "$F.git")" "$(packs "$W/aged.git")" ""
  printf '%-9s %-30s %14s %14s %8s\n' "" "shadow packs / loose objects" "$(packs "$F.shadow/.git") / $(loose "$F.shadow/.git")" "$(packs "$W/aged.shadow/.git") / $(loose "$W/aged.shadow/.git")" ""
  if [ ${#build[@]} -gt 0 ]; then
    read -r bm b10 b90 bmax < <(stats "${build[@]}")
    printf '%-9s %-30s %14s %14s %8s\n' "" "syncs building it: med/p90/max" "" "$bm/$b90/$bmax" ""
  fi
  printf '%-9s %-30s %14s %14s %8s\n' "" "repository sizes (remote)" "$(du -sh "$F.git" | cut -f1)" "$(du -sh "$W/aged.git" | cut -f1)" ""
  rm -rf "$F" "$F.git" "$F.shadow" "$F.key"
done
echo "target: one-file sync with history <= 1.2x a fresh folder's"
