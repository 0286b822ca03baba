#!/usr/bin/env bash
# The history-preserving notes folder, step by step, on a local bare repository (a USB disk or a
# mounted share in real life; an ssh:// remote works the same). Runs in a temporary directory and
# touches nothing of yours. Docs/OPERATIONS.md, "A notes folder with its history", explains each step.
#
#   bash Examples/notes-history.sh [path/to/shadowsync]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then S=$(realpath "$1"); else
  command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
  swift build --product shadowsync >/dev/null && S=$PWD/.build/debug/shadowsync
fi
W=$(mktemp -d /tmp/shadowsync-notes-XXXXXX)
trap 'rm -rf "$W"' EXIT
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data
mkdir -p "$HOME/.config/shadowsync"
step() { printf '\n== %s\n' "$*"; }

step "1. A passphrase file (0600) and the notes folder, put under ShadowSync"
printf 'correct horse battery staple' > "$HOME/.config/shadowsync/notes.pass"; chmod 600 "$HOME/.config/shadowsync/notes.pass"
mkdir -p "$W/Notes/ideas"
printf '# Shopping\n- milk\n' > "$W/Notes/shopping.md"
printf '# Garden\nPlant tomatoes in May.\n' > "$W/Notes/ideas/garden.md"
"$S" init "$W/Notes" --remote "$W/backup/notes.git" --passphrase-file "$HOME/.config/shadowsync/notes.pass" --kdf-profile interactive
cd "$W/Notes"

step "2. Every save becomes a signed commit (here: one sync per edit; 'shadowsync run' does this by itself)"
printf '# Shopping\n- milk\n- bread\n' > shopping.md; "$S" sync >/dev/null
printf '# Shopping\n- bread\n' > shopping.md; "$S" sync >/dev/null
rm ideas/garden.md; "$S" sync >/dev/null

step "3. Browse the history of one note (decrypted locally; the server sees only ciphertext)"
"$S" log shopping.md
FIRST=$("$S" log shopping.md --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["commit"][:12])')

step "4. Look at the first version, compare it with today's, restore it beside the current one (never overwrites)"
"$S" show shopping.md --at "$FIRST"
"$S" diff shopping.md --at "$FIRST" || true
"$S" restore shopping.md --at "$FIRST" --here
ls
cat shopping.restored-*.md

step "5. Bring back a deleted note from before its deletion"
"$S" restore ideas/garden.md --at main~1 --to "$W/Notes/ideas/garden.md"
cat ideas/garden.md
"$S" sync >/dev/null

step "6. A paper backup of the key: the capability string (a secret; print it, keep it offline)"
"$S" key export > "$W/paper-key.txt"
echo "$(wc -c < "$W/paper-key.txt") characters, starting $(cut -c1-10 "$W/paper-key.txt")..."

step "7. Years later, with only the repository and the paper key: recover everything, no agent state"
"$S" decrypt --key-file "$W/paper-key.txt" "$W/backup/notes.git" --to "$W/recovered"
find "$W/recovered" -type f | sed "s|$W/||" | sort
"$S" decrypt --key-file "$W/paper-key.txt" "$W/backup/notes.git" --to "$W/recovered-first" --rev "$FIRST"
cat "$W/recovered-first/shopping.md"

step "8. What the backup disk holds: no names, no sizes, no messages"
git -C "$W/backup/notes.git" log --max-count=3 --format='%h %an <%ae> %s'
git -C "$W/backup/notes.git" ls-tree -r --name-only main | sed -n 1,4p
echo
echo "notes walkthrough finished"
