# Sourced by ssh-server.sh and xmpp-server.sh.

# free_loopback_port: a TCP port on 127.0.0.1 the kernel handed out for a bind to port 0 a moment ago,
# for servers that cannot report the port they bound themselves (sshd). The port is released before
# the server binds it, so a start script that gets EADDRINUSE tries again with another.
free_loopback_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stop_launched PIDFILE: SIGTERM the server whose PID the file holds and wait (up to 3 s) until it is
# gone. A server reaped late by PID 1 shows as a zombie (state Z) for a while: that counts as stopped
# (PID 1 here can take 2 s to reap, so `kill -0` would keep seeing it).
stop_launched() {
    local pidfile=$1
    [ -f "$pidfile" ] || return 0
    local pid state; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        [ -r "/proc/$pid/stat" ] || break
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
        [ "$state" = Z ] && break
        sleep 0.02
    done
    rm -f "$pidfile"
}
