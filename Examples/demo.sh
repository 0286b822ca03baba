#!/usr/bin/env bash
# The main job on the embedded default (a local bare repository, no server): two machines, simulated
# by two agents with their own XDG directories, keep a folder in sync through an encrypted repository,
# each with its live daemon (`shadowsync run`). The daemons ring each other through a loopback XMPP
# server when prosody is installed (Tests/xmpp-server.sh), else they poll every second.
#
#   bash Examples/demo.sh            builds the release binary first
#   bash Examples/demo.sh BINARY     uses BINARY (the test suite runs it this way)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    S=$(realpath "$1")
else
    bash Examples/setup-debian.sh
    command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
    swift build -c release --product shadowsync
    S=$PWD/.build/release/shadowsync
fi
$S selfcheck

W=$(mktemp -d /tmp/shadowsync-demo-XXXXXX)
laptop() { HOME=$W/laptop XDG_CONFIG_HOME=$W/laptop/config XDG_DATA_HOME=$W/laptop/data "$S" "$@"; }
desktop() { HOME=$W/desktop XDG_CONFIG_HOME=$W/desktop/config XDG_DATA_HOME=$W/desktop/data "$S" "$@"; }
step() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -d "$W/xmpp" ] && bash Tests/xmpp-server.sh stop "$W/xmpp" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT

# Waits until FILE holds TEXT (at most 30 s) and prints how long it took.
arrives() {
    local file=$1 text=$2 start=$3
    for _ in $(seq 1 600); do
        if [ "$(cat "$file" 2>/dev/null)" = "$text" ]; then
            python3 -c "import time; print('appeared on the other machine after %.2f s' % (time.time() - $start))"
            return 0
        fi
        sleep 0.05
    done
    echo "did not arrive within 30 s" >&2
    return 1
}
now() { python3 -c 'import time; print(time.time())'; }

step "laptop: a notes folder, encrypted into a new bare repository ($W/remote.git)"
mkdir -p "$W/laptop-notes"
echo "buy milk" > "$W/laptop-notes/todo.txt"
laptop init "$W/laptop-notes" --remote "$W/remote.git" --no-passphrase
laptop key export --folder "$W/laptop-notes" > "$W/key.txt"

step "desktop: join with the exported key"
desktop join "$W/remote.git" "$W/desktop-notes" --key-file "$W/key.txt" --no-passphrase
echo "desktop sees: $(cat "$W/desktop-notes/todo.txt")"

for who in laptop desktop; do
    $who config set sync.quiet-ms 300 --folder "$W/$who-notes" >/dev/null
done
if command -v prosody >/dev/null 2>&1 || [ -x /usr/bin/prosody ]; then
    step "doorbell: a loopback prosody; each daemon rings the other after a push"
    bash Tests/xmpp-server.sh start "$W/xmpp" 0 >/dev/null
    port=$(cat "$W/xmpp/port")
    for who in laptop desktop; do
        $who config set xmpp.jid agents@localhost --folder "$W/$who-notes" >/dev/null
        $who config set xmpp.password-file "$W/xmpp/accounts/agents" --folder "$W/$who-notes" >/dev/null
        $who config set xmpp.server "127.0.0.1:$port" --folder "$W/$who-notes" >/dev/null
        $who config set xmpp.ca-file "$W/xmpp/certs/localhost.crt" --folder "$W/$who-notes" >/dev/null
        $who config set sync.poll-seconds 600 --folder "$W/$who-notes" >/dev/null
    done
else
    step "no prosody here: the daemons poll the repository every second instead of ringing"
    for who in laptop desktop; do $who config set sync.poll-seconds 1 --folder "$W/$who-notes" >/dev/null; done
fi

step "both machines run their daemon (shadowsync run), as the systemd unit would"
# Started through env, so $! is the daemon itself (SIGTERM lets it finish its step and exit).
for who in laptop desktop; do
    env HOME="$W/$who" XDG_CONFIG_HOME="$W/$who/config" XDG_DATA_HOME="$W/$who/data" \
        "$S" run --folder "$W/$who-notes" > /dev/null 2> "$W/$who.log" &
    pids+=($!)
done
for who in laptop desktop; do
    for _ in $(seq 1 200); do
        $who status --folder "$W/$who-notes" --json 2>/dev/null | grep -q '"state":"idle"' && break
        sleep 0.05
    done
done
if [ -d "$W/xmpp" ]; then
    for _ in $(seq 1 200); do
        laptop status --folder "$W/laptop-notes" --json | grep -q '"peers_online":1' && break
        sleep 0.05
    done
fi

step "a save on the laptop"
start=$(now)
printf 'buy milk\nand bread\n' > "$W/laptop-notes/todo.txt"
arrives "$W/desktop-notes/todo.txt" "$(printf 'buy milk\nand bread')" "$start"

step "a save on the desktop"
start=$(now)
echo "call the plumber" > "$W/desktop-notes/plumber.txt"
arrives "$W/laptop-notes/plumber.txt" "call the plumber" "$start"

step "the laptop's status (the same report with or without a daemon; --json for scripts)"
laptop status --folder "$W/laptop-notes"

step "what the server holds: opaque objects, a neutral author, an encrypted message"
git -C "$W/remote.git" log -3 --format='%h %an <%ae> %s'
git -C "$W/remote.git" ls-tree -r --name-only main | sed -n 1,4p  # sed reads to the end: no SIGPIPE under pipefail

step "history, decrypted locally"
laptop log --folder "$W/laptop-notes"

step "the desktop daemon's log"
cat "$W/desktop.log"
