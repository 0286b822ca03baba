#!/usr/bin/env bash
# The VPS and git-only-storage setups of Docs/OPERATIONS.md, step by step, against a private OpenSSH
# server on loopback standing in for the VPS (Tests/ssh-server.sh: nothing of yours is touched). Each
# machine is its own HOME. Real commands differ only in host, paths and keys; the comments say how.
#
#   bash Examples/vps-walkthrough.sh [path/to/shadowsync]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then S=$(realpath "$1"); else
  command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
  swift build --product shadowsync >/dev/null && S=$PWD/.build/debug/shadowsync
fi
ROOT=$PWD
W=$(mktemp -d /tmp/shadowsync-vps-XXXXXX)
trap 'bash "$ROOT/Tests/ssh-server.sh" stop "$W/vps"; rm -rf "$W"' EXIT
bash Tests/ssh-server.sh start "$W/vps" 0 >/dev/null
PORT=$(cat "$W/vps/port")
ME=$(cat "$W/vps/user")
KEYS=$W/vps/keys
REPO=$W/vps/repos/notes.git            # on a real VPS: /home/me/notes.git
URL="ssh://$ME@127.0.0.1:$PORT$REPO"   # on a real VPS: ssh://me@vps.example.org/home/me/notes.git
step() { printf '\n== %s\n' "$*"; }
# A machine: its own HOME and XDG directories, its known_hosts file, its SSH key.
on() {
  local m=$1; shift
  HOME=$W/$m XDG_CONFIG_HOME=$W/$m/.config XDG_DATA_HOME=$W/$m/.local/share SSH_AUTH_SOCK= "$@"
}
for m in laptop desktop mediabox storage; do mkdir -p "$W/$m/.ssh" "$W/$m/.config/shadowsync"; done

step "1. On the VPS: an empty bare repository (run over ssh, as you would)"
ssh -i "$KEYS/client_ed25519" -o UserKnownHostsFile="$W/vps/known_hosts" -o BatchMode=yes -p "$PORT" "$ME@127.0.0.1" \
  git init -q --bare -b main "$REPO"
echo "created $REPO"

step "2. On the laptop: trust the server's host key once, after comparing its fingerprint"
# Real life: run 'shadowsync trust-host vps.example.org', read the fingerprint it prints and compare it
# with 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' run on the server.
FP=$(ssh-keygen -lf "$W/vps/ssh/host_ed25519.pub" | cut -d' ' -f2)
on laptop "$S" trust-host "127.0.0.1:$PORT" --fingerprint "$FP"

step "3. On the laptop: create the vault (the passphrase file is 0600 and holds only the passphrase)"
printf 'laptop passphrase' > "$W/laptop/.config/shadowsync/notes.pass"; chmod 600 "$W/laptop/.config/shadowsync/notes.pass"
mkdir -p "$W/laptop/notes"; printf 'first note\n' > "$W/laptop/notes/todo.txt"
on laptop "$S" init "$W/laptop/notes" --remote "$URL" --ssh-key "$KEYS/client_ed25519" \
  --passphrase-file "$W/laptop/.config/shadowsync/notes.pass" --kdf-profile interactive
on laptop "$S" doctor --folder "$W/laptop/notes"

step "4. On the VPS (it runs hooks): refuse every push that is not signed by the vault"
cp Hooks/pre-receive "$REPO/hooks/pre-receive" && chmod 755 "$REPO/hooks/pre-receive"
on laptop "$S" key export --verify-only --folder "$W/laptop/notes" > "$REPO/shadowsync-verify"
git -C "$REPO" config shadowsync.binary "$S"
echo "hook installed with a verify-only key: it can check signatures, it cannot decrypt"

step "5. Add the desktop: export the key on the laptop, carry it over by hand, join"
on laptop "$S" key export --folder "$W/laptop/notes" > "$W/carried-key.txt"
on desktop "$S" trust-host "127.0.0.1:$PORT" --fingerprint "$FP" >/dev/null
on desktop "$S" join "$URL" "$W/desktop/notes" --key-file "$W/carried-key.txt" --ssh-key "$KEYS/client_ecdsa" --no-passphrase
rm "$W/carried-key.txt"
cat "$W/desktop/notes/todo.txt"

step "6. Edit on the desktop, sync; the laptop gets it ('shadowsync run' does this by itself)"
printf 'first note\nadded on the desktop\n' > "$W/desktop/notes/todo.txt"
on desktop "$S" sync --folder "$W/desktop/notes"
on laptop "$S" sync --folder "$W/laptop/notes"
cat "$W/laptop/notes/todo.txt"

step "7. A read-only machine (a media box): reads everything, can never push"
on laptop "$S" key export --read-only --folder "$W/laptop/notes" > "$W/ro-key.txt"
on mediabox "$S" trust-host "127.0.0.1:$PORT" --fingerprint "$FP" >/dev/null
on mediabox "$S" join "$URL" "$W/mediabox/notes" --key-file "$W/ro-key.txt" --ssh-key "$KEYS/client_ed25519" --no-passphrase >/dev/null
printf 'edited on the media box\n' > "$W/mediabox/notes/todo.txt"
on mediabox "$S" sync --folder "$W/mediabox/notes"
on laptop "$S" sync --folder "$W/laptop/notes" >/dev/null
echo "the laptop still has: $(tail -1 "$W/laptop/notes/todo.txt")"

step "8. A plain git push with the VPS login but without the vault's key is refused by the hook"
export GIT_SSH_COMMAND="ssh -i $KEYS/client_ed25519 -o UserKnownHostsFile=$W/vps/known_hosts -o BatchMode=yes"
git clone -q "$URL" "$W/intruder"
(cd "$W/intruder" && echo junk > junk && git add junk && git -c user.name=x -c user.email=x@x commit -qm junk \
  && { git push -q origin main 2>&1 || true; } | grep -m1 "push refused")

step "9. Git-only storage (rsync.net style): an account that runs git's pack commands and nothing else"
ssh -i "$KEYS/restricted_ed25519" -o UserKnownHostsFile="$W/vps/known_hosts" -o BatchMode=yes -p "$PORT" "$ME@127.0.0.1" id 2>&1 | head -1 || true
on laptop "$S" key export --folder "$W/laptop/notes" > "$W/carried-key.txt"
on storage "$S" join "$URL" "$W/storage/notes" --key-file "$W/carried-key.txt" --ssh-key "$KEYS/restricted_ed25519" \
  --known-hosts "$W/vps/known_hosts" --no-passphrase >/dev/null
rm "$W/carried-key.txt"
echo "joined over the git-only account: $(tail -1 "$W/storage/notes/todo.txt")"

step "10. Keep it running with systemd (not run here)"
echo '  cp Examples/systemd/shadowsync@.service ~/.config/systemd/user/'
echo '  systemctl --user enable --now "shadowsync@$(systemd-escape --path ~/notes).service"'
echo
echo "vps walkthrough finished"
