#!/usr/bin/env bash
# SSH figures, in one run beside the git command line on the same server and tree:
#   a no-change `shadowsync sync` (one fetch over ssh) vs `git fetch` over ssh
#   a one-file change pushed: `shadowsync sync` vs `git add && git commit && git push` over ssh
# The server is the tests' private sshd on loopback (Tests/ssh-server.sh). Machines here are noisy:
# read the ratios. Usage: bash Examples/bench-ssh.sh [FILES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000}
RUNS=${2:-7}
swift build -c release --product shadowsync >/dev/null
S=$PWD/.build/release/shadowsync
W=$(mktemp -d /tmp/shadowsync-bench-ssh-XXXXXX)
trap 'bash Tests/ssh-server.sh stop "$W/server"; rm -rf "$W"' EXIT
bash Tests/ssh-server.sh start "$W/server" "${SSH_BENCH_PORT:-0}"
PORT=$(cat "$W/server/port")
USER_NAME=$(cat "$W/server/user")
KEY=$W/server/keys/client_ed25519
KNOWN=$W/server/known_hosts
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data SSH_AUTH_SOCK=
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
export GIT_SSH_COMMAND="ssh -i $KEY -o UserKnownHostsFile=$KNOWN -o BatchMode=yes -p $PORT"

python3 Examples/make-tree.py "$W/tree" "$FILES"
cp -a "$W/tree" "$W/plain"; cp -a "$W/tree" "$W/gitwork"
git init -q --bare -b main "$W/server/repos/vault.git"
git init -q --bare -b main "$W/server/repos/plain.git"
url() { echo "ssh://$USER_NAME@127.0.0.1:$PORT$W/server/repos/$1"; }

source Examples/bench-lib.sh  # now, elapsed, median, ratio

$S init "$W/plain" --remote "$(url vault.git)" --no-passphrase --ssh-key "$KEY" --known-hosts "$KNOWN" >/dev/null
(cd "$W/gitwork" && git init -q -b main && git add -A && git commit -qm import && git remote add origin "$(url plain.git)" && git push -q origin main)

noop=(); gfetch=(); one=(); gone=()
for i in $(seq "$RUNS"); do
  a=$(now); $S sync --folder "$W/plain" >/dev/null; b=$(now); noop+=("$(elapsed "$a" "$b")")
  a=$(now); git -C "$W/gitwork" fetch -q origin; b=$(now); gfetch+=("$(elapsed "$a" "$b")")
  echo "edit $i" >> "$W/plain/d000/f00000.txt"; echo "edit $i" >> "$W/gitwork/d000/f00000.txt"
  a=$(now); $S sync --folder "$W/plain" >/dev/null; b=$(now); one+=("$(elapsed "$a" "$b")")
  a=$(now); (cd "$W/gitwork" && git add -A && git commit -qm e && git push -q origin main); b=$(now); gone+=("$(elapsed "$a" "$b")")
done
a=$(now); ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN" -o BatchMode=yes -p "$PORT" "$USER_NAME@127.0.0.1" true; b=$(now); bare=$(elapsed "$a" "$b")

mnoop=$(median "${noop[@]}"); mfetch=$(median "${gfetch[@]}"); mone=$(median "${one[@]}"); mgone=$(median "${gone[@]}")
echo "sshd on 127.0.0.1:$PORT; tree: $FILES files; release build; medians of $RUNS runs; 'ssh host true' took ${bare}s"
printf '%-52s %10s %10s %8s\n' "operation over ssh" "shadowsync" "git" "ratio"
printf '%-52s %9ss %9ss %8s\n' "no-change sync vs git fetch" "$mnoop" "$mfetch" "$(ratio "$mnoop" "$mfetch")"
printf '%-52s %9ss %9ss %8s\n' "one-file change: sync vs add+commit+push" "$mone" "$mgone" "$(ratio "$mone" "$mgone")"
echo "(a sync that pushes opens two SSH connections, fetch then push; git push opens one)"
