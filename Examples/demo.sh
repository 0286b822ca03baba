#!/usr/bin/env bash
# The main job on the embedded default (a local bare repository, no server): two machines, simulated
# by two agents with their own XDG directories, keep a folder in sync through an encrypted repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/setup-debian.sh
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product shadowsync
S=$PWD/.build/release/shadowsync
$S selfcheck

W=$(mktemp -d /tmp/shadowsync-demo-XXXXXX)
laptop() { HOME=$W/laptop XDG_CONFIG_HOME=$W/laptop/config XDG_DATA_HOME=$W/laptop/data "$S" "$@"; }
desktop() { HOME=$W/desktop XDG_CONFIG_HOME=$W/desktop/config XDG_DATA_HOME=$W/desktop/data "$S" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "laptop: a notes folder, encrypted into a new bare repository ($W/remote.git)"
mkdir -p "$W/laptop-notes"
echo "buy milk" > "$W/laptop-notes/todo.txt"
laptop init "$W/laptop-notes" --remote "$W/remote.git" --no-passphrase
laptop key export --folder "$W/laptop-notes" > "$W/key.txt"

step "desktop: join with the exported key"
desktop join "$W/remote.git" "$W/desktop-notes" --key-file "$W/key.txt" --no-passphrase
echo "desktop sees: $(cat "$W/desktop-notes/todo.txt")"

step "desktop edits, laptop syncs"
echo "and bread" >> "$W/desktop-notes/todo.txt"
desktop sync --folder "$W/desktop-notes"
laptop sync --folder "$W/laptop-notes"
echo "laptop sees: $(tr '\n' ' ' < "$W/laptop-notes/todo.txt")"

step "what the server holds: opaque objects, a neutral author, an encrypted message"
git -C "$W/remote.git" log --format='%h %an <%ae> %s' | head -3
git -C "$W/remote.git" ls-tree -r --name-only main | head -4

step "history, decrypted locally"
laptop log --folder "$W/laptop-notes"
rm -rf "$W"
