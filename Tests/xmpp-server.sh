#!/usr/bin/env bash
# A private prosody on loopback for the XMPP doorbell tests and the propagation benchmark.
#
#   Tests/xmpp-server.sh start BASE PORT   creates a certificate, config and accounts under BASE (once),
#                                          starts prosody, waits until it accepts clients; the port is in
#                                          BASE/port (PORT 0: a free port, chosen here and retried if taken)
#   Tests/xmpp-server.sh stop BASE         stops it (BASE keeps its data: start again to restart)
#
# Under BASE afterwards:
#   certs/localhost.crt        the server's self-signed certificate (SAN DNS:localhost): the CA file to trust
#   certs/localhost.sha256     its SHA-256 fingerprint (AA:BB:... as openssl prints it)
#   certs/stranger.crt         another self-signed certificate for localhost: "an untrusted certificate"
#   accounts/NAME              the password of account NAME@localhost (agents, laptop, desktop, phone, intruder)
#   conference.localhost       a MUC service (rooms are created by their first occupant)
# Settings: run_as_root (tests may run as root), no server-to-server links and no offline storage (the
# server is private to one test run).
set -euo pipefail

cmd=${1:?start|stop}
BASE=${2:?base directory}

# shellcheck source=service-lib.sh
source "$(dirname "$0")/service-lib.sh"
stop() { stop_launched "$BASE/prosody/prosody.launcher.pid"; }

case "$cmd" in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: $0 start BASE PORT | stop BASE" >&2; exit 2 ;;
esac

PORT=${3:?port}
# Attempts at a free port before giving up (another process can take one between choice and bind).
free_port_attempts=5
if [ "$PORT" = 0 ]; then
    for _ in $(seq 1 "$free_port_attempts"); do
        if bash "$0" start "$BASE" "$(free_loopback_port)"; then exit 0; fi
    done
    exit 1
fi
mkdir -p "$BASE/prosody/data" "$BASE/certs" "$BASE/accounts"
chmod 700 "$BASE/accounts"

if [ ! -f "$BASE/certs/localhost.crt" ]; then
    for name in localhost stranger; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -keyout "$BASE/certs/$name.key" -out "$BASE/certs/$name.crt" \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
    done
    openssl x509 -in "$BASE/certs/localhost.crt" -noout -fingerprint -sha256 | sed 's/.*=//' > "$BASE/certs/localhost.sha256"
fi

cat > "$BASE/prosody/prosody.cfg.lua" <<EOF
run_as_root = true
pidfile = "$BASE/prosody/prosody.pid"
data_path = "$BASE/prosody/data"
admin_socket = "$BASE/prosody/admin.sock"
interfaces = { "127.0.0.1" }
c2s_ports = { $PORT }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = {}
https_ports = {}
component_ports = {}
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "presence", "message", "iq" }
modules_disabled = { "s2s", "offline" }
authentication = "internal_hashed"
allow_registration = false
c2s_require_encryption = true
log = { { levels = { min = "info" }, to = "file", filename = "$BASE/prosody/prosody.log" } }
ssl = { certificate = "$BASE/certs/localhost.crt"; key = "$BASE/certs/localhost.key"; }
VirtualHost "localhost"
Component "conference.localhost" "muc"
    restrict_room_creation = false
    -- A room is usable by its first occupant at once (prosody locks new rooms until configured otherwise).
    muc_room_locking = false
EOF

for account in agents laptop desktop phone intruder; do
    if [ ! -f "$BASE/accounts/$account" ]; then
        password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        prosodyctl --config "$BASE/prosody/prosody.cfg.lua" register "$account" localhost "$password" >/dev/null
        printf '%s\n' "$password" > "$BASE/accounts/$account"
        chmod 600 "$BASE/accounts/$account"
    fi
done

: > "$BASE/prosody/prosody.log"
setsid prosody --config "$BASE/prosody/prosody.cfg.lua" -F </dev/null > "$BASE/prosody/prosody.stdout" 2>&1 &
echo $! > "$BASE/prosody/prosody.launcher.pid"
for _ in $(seq 1 250); do
    if grep -q "Activated service 'c2s' on \[127.0.0.1\]:$PORT" "$BASE/prosody/prosody.log" 2>/dev/null; then
        echo "$PORT" > "$BASE/port"
        exit 0
    fi
    if ! kill -0 "$(cat "$BASE/prosody/prosody.launcher.pid")" 2>/dev/null; then break; fi
    sleep 0.02
done
echo "prosody did not start:" >&2
cat "$BASE/prosody/prosody.stdout" "$BASE/prosody/prosody.log" >&2 2>/dev/null || true
stop
exit 1
