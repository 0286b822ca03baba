#!/usr/bin/env bash
# A private OpenSSH server on loopback for the SSH integration tests and the SSH benchmark.
#
#   Tests/ssh-server.sh start BASE PORT   creates keys and config under BASE, starts sshd, waits until it listens;
#                                         PORT 0: a free port, chosen here (retried if taken meanwhile), in BASE/port
#   Tests/ssh-server.sh stop BASE         stops it
#
# Under BASE afterwards:
#   keys/client_ed25519, keys/client_ecdsa   authorised for full login as the current user
#   keys/protected_ed25519                   authorised; its passphrase is in keys/protected_ed25519.pass
#   keys/client_rsa                          authorised, but RSA: libssh2 1.10 signs it with SHA-1, which sshd refuses
#   keys/restricted_ed25519                  authorised with a forced command that runs only git-upload-pack and
#                                            git-receive-pack (what rsync.net-style git storage allows)
#   keys/stranger_ed25519                    not authorised
#   known_hosts                              the server's key for [127.0.0.1]:PORT
#   other_host_ed25519.pub                   a different key, to stage a "changed host key"
#   repos/                                   where tests put bare repositories
#   small/                                   (as root) a 4 MiB tmpfs visible only to the server: a full server disk
# Settings: StrictModes off (keys live under /tmp), an absolute sshd path (sshd refuses to re-exec a
# relative one), /run/sshd and a masked ~/.bashrc in a private mount namespace so the host is not touched.
set -euo pipefail

cmd=${1:?start|stop}
BASE=${2:?base directory}

# shellcheck source=service-lib.sh
source "$(dirname "$0")/service-lib.sh"
stop() { stop_launched "$BASE/ssh/sshd.launcher.pid"; }

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
mkdir -p "$BASE/ssh" "$BASE/keys" "$BASE/repos"
chmod 700 "$BASE/keys"
user=$(id -un)

[ -f "$BASE/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C host -f "$BASE/ssh/host_ed25519"
[ -f "$BASE/other_host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C other -f "$BASE/other_host_ed25519"
for k in client_ed25519:ed25519 restricted_ed25519:ed25519 stranger_ed25519:ed25519 client_ecdsa:ecdsa client_rsa:rsa; do
    name=${k%%:*}; type=${k##*:}
    [ -f "$BASE/keys/$name" ] || ssh-keygen -q -t "$type" -N '' -C "$name" -f "$BASE/keys/$name"
done

# A passphrase-protected key (OpenSSH format, bcrypt KDF), with its passphrase in a file.
[ -f "$BASE/keys/protected_ed25519" ] || {
    printf 'correct horse battery\n' > "$BASE/keys/protected_ed25519.pass"
    ssh-keygen -q -t ed25519 -N 'correct horse battery' -C protected_ed25519 -f "$BASE/keys/protected_ed25519"
}
# Secret files readable by others are refused, like the SSH keys ssh-keygen writes 0600.
chmod 600 "$BASE/keys/protected_ed25519.pass"

# The forced command of the restricted account: git's two pack commands and nothing else.
cat > "$BASE/ssh/git-only.sh" <<'EOF'
#!/bin/sh
case "$SSH_ORIGINAL_COMMAND" in
    "git-upload-pack '"*"'"|"git-receive-pack '"*"'")
        exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
    *)
        echo "this account runs only git-upload-pack and git-receive-pack" >&2
        exit 1 ;;
esac
EOF
chmod 755 "$BASE/ssh/git-only.sh"

{
    cat "$BASE/keys/client_ed25519.pub" "$BASE/keys/client_ecdsa.pub" "$BASE/keys/client_rsa.pub" "$BASE/keys/protected_ed25519.pub"
    echo "command=\"$BASE/ssh/git-only.sh\",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty $(cat "$BASE/keys/restricted_ed25519.pub")"
} > "$BASE/ssh/authorized_keys"

echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$BASE/ssh/host_ed25519.pub")" > "$BASE/known_hosts"
echo "$user" > "$BASE/user"
echo "$PORT" > "$BASE/port"

cat > "$BASE/ssh/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $BASE/ssh/host_ed25519
PidFile $BASE/ssh/sshd.pid
AuthorizedKeysFile $BASE/ssh/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
UseDNS no
MaxStartups 100:30:200
LogLevel VERBOSE
EOF

log=$BASE/ssh/sshd.log
: > "$log"
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ "$(id -u)" = 0 ]; then
    # /run/sshd (root sshd's privilege separation directory) and a masked ~/.bashrc (sshd runs every
    # command through the login shell, and a slow ~/.bashrc would slow every git operation) exist only in
    # this namespace.
    # BASE/small is a 4 MiB tmpfs seen only by the server's processes: a server disk that fills up.
    mkdir -p "$BASE/small"
    unshare -m sh -c '
        mount -t tmpfs -o size=1m,mode=755 none /run && mkdir -m 755 /run/sshd
        mount -t tmpfs -o size=4m,mode=755 none "$0/small"
        if [ -f "$HOME/.bashrc" ]; then mount --bind /dev/null "$HOME/.bashrc"; fi
        exec "$1" -D -e -f "$0/ssh/sshd_config"' "$BASE" "$sshd" >>"$log" 2>&1 &
else
    "$sshd" -D -e -f "$BASE/ssh/sshd_config" >>"$log" 2>&1 &
fi
echo $! > "$BASE/ssh/sshd.launcher.pid"

for _ in $(seq 1 250); do
    if grep -q "Server listening on 127.0.0.1 port $PORT" "$log"; then exit 0; fi
    if ! kill -0 "$(cat "$BASE/ssh/sshd.launcher.pid")" 2>/dev/null; then break; fi
    sleep 0.02
done
echo "sshd did not start on port $PORT:" >&2
cat "$log" >&2
stop
exit 1
