#!/usr/bin/env bash
# Benchmarks key epochs: `device revoke` on a folder of REVOKE_FILES files (100,000 by default), which
# starts a new epoch and must not re-encrypt anything, and `key rotate --reencrypt` on one of
# ROTATE_FILES files (10,000), which re-encrypts them all in one commit. Each folder has a second
# device joined by invite (the one revoked). Prints the seconds of each command and what its commit
# changed (only device files for the revocation).
#
#   bash Examples/bench-epochs.sh
#
# FRESH_FS=1 (root only): Examples/bench-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
REVOKE_FILES=${REVOKE_FILES:-100000}
ROTATE_FILES=${ROTATE_FILES:-10000}
source Examples/bench-lib.sh
bench_setup epochs 8G
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data
export GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"

# folder NAME FILES: a folder of FILES files, initialised, and a second device joined by invite.
folder() {
  python3 Examples/make-tree.py "$W/$1" "$2"
  $S init "$W/$1" --remote "$W/$1.git" --shadow "$W/$1.shadow" --no-passphrase --device-name laptop >/dev/null
  $S device invite --folder "$W/$1" --name spare > "$W/$1.invite" 2>/dev/null
  $S join "$W/$1.git" "$W/$1-spare" --shadow "$W/$1-spare.shadow" --invite-file "$W/$1.invite" --no-passphrase >/dev/null
  $S sync --folder "$W/$1" >/dev/null
}

# changed REPO: what the newest commit changed, as "N device files, M objects".
changed() {
  git -C "$1" diff-tree -r --name-only main~1 main | awk '/^devices\// {d++} !/^devices\// {o++} END {printf "%d device files, %d objects\n", d, o}'
}

folder big "$REVOKE_FILES"
t0=$(now)
$S device revoke spare --folder "$W/big" >/dev/null
t1=$(now)
echo "device revoke, $REVOKE_FILES files: $(elapsed "$t0" "$t1") s; its commit: $(changed "$W/big.git")"

folder small "$ROTATE_FILES"
t0=$(now)
$S key rotate --folder "$W/small" >/dev/null
t1=$(now)
echo "key rotate, $ROTATE_FILES files: $(elapsed "$t0" "$t1") s; its commit: $(changed "$W/small.git")"
t0=$(now)
$S key rotate --reencrypt --folder "$W/small" >/dev/null
t1=$(now)
echo "key rotate --reencrypt, $ROTATE_FILES files: $(elapsed "$t0" "$t1") s; its commit: $(changed "$W/small.git")"
t0=$(now)
$S sync --folder "$W/small-spare" >/dev/null
t1=$(now)
echo "the other device's sync after it: $(elapsed "$t0" "$t1") s"
