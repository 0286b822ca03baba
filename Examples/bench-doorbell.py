#!/usr/bin/env python3
"""End-to-end propagation through the XMPP doorbell, over the tests' private sshd and prosody
on loopback: agent A saves a file, agent B decrypts it into its folder. Both run `shadowsync run` with
the configured quiet period and a 10-minute poll, so only the doorbell explains a fast arrival.

Prints the latency of every save, then median and p95 beside the quiet period; the target is a median
under quiet period + 1 s. Also measures, in the same run, the same saves with the doorbell off and a
poll of POLL seconds (the fallback), so the two can be compared side by side.

Usage: python3 Examples/bench-doorbell.py [--saves N] [--quiet-ms Q] [--poll S] [--binary PATH]
Builds the release binary unless --binary is given. Needs sshd, prosody, openssl (Examples/setup-debian.sh)."""
import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, env=None, **kw):
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True, **kw).stdout


class Agent:
    def __init__(self, binary, work, name):
        self.binary, self.name = binary, name
        self.folder = os.path.join(work, "plain-" + name)
        home = os.path.join(work, "home-" + name)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home + "/config", XDG_DATA_HOME=home + "/data", SSH_AUTH_SOCK="")
        self.daemon = None

    def cli(self, *args):
        return sh([self.binary, *args], self.env)

    def set(self, key, value):
        self.cli("config", "set", key, value, "--folder", self.folder)

    def status(self):
        r = subprocess.run([self.binary, "status", "--json", "--folder", self.folder], env=self.env, capture_output=True, text=True)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def start(self):
        self.daemon = subprocess.Popen([self.binary, "run", "--folder", self.folder], env=self.env,
                                       stdout=subprocess.DEVNULL, stderr=open(self.folder + ".log", "w"))

    def wait_ready(self, want_peers):
        deadline = time.time() + 60
        while time.time() < deadline:
            s = self.status()
            x = s.get("xmpp", {})
            if s.get("state") == "idle" and (want_peers is None or (x.get("connected") and x.get("peers_online") == want_peers)):
                return
            time.sleep(0.1)
        raise SystemExit(f"agent {self.name} did not come up: {self.status()}")

    def stop(self):
        if self.daemon:
            self.daemon.terminate()
            self.daemon.wait()
            self.daemon = None


def wait_idle(agents):
    deadline = time.time() + 30
    while time.time() < deadline:
        if all(a.status().get("state") == "idle" and a.status().get("pending_events", 0) == 0 for a in agents):
            return
        time.sleep(0.05)


def run_saves(a, b, saves, label):
    out = []
    for i in range(saves):
        wait_idle([a, b])
        time.sleep(0.5)
        name = f"{label}-{i:03d}.txt"
        body = f"save {i} of {label} at {time.time()}\n"
        path_a, path_b = os.path.join(a.folder, name), os.path.join(b.folder, name)
        t0 = time.monotonic()
        with open(path_a, "w") as f:
            f.write(body)
        while True:
            try:
                with open(path_b) as f:
                    if f.read() == body:
                        break
            except FileNotFoundError:
                pass
            if time.monotonic() - t0 > 120:
                raise SystemExit(f"{name} never reached b: {b.status()}")
            time.sleep(0.005)
        out.append(time.monotonic() - t0)
        print(f"  {label} save {i + 1:2d}: {out[-1]:.3f} s", flush=True)
    return out


def p95(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--saves", type=int, default=20)
    ap.add_argument("--quiet-ms", type=int, default=1000)
    ap.add_argument("--poll", type=int, default=10, help="poll interval (s) of the doorbell-off comparison")
    ap.add_argument("--binary")
    args = ap.parse_args()
    binary = args.binary
    if not binary:
        sh(["swift", "build", "-c", "release", "--product", "shadowsync"], cwd=ROOT)
        binary = os.path.join(ROOT, ".build/release/shadowsync")

    work = tempfile.mkdtemp(prefix="shadowsync-bench-doorbell-")
    ssh_port, xmpp_port = random.randint(30000, 45000), random.randint(45001, 60000)
    ssh_base, xmpp_base = os.path.join(work, "sshd"), os.path.join(work, "prosody")
    sh(["bash", os.path.join(ROOT, "Tests/ssh-server.sh"), "start", ssh_base, str(ssh_port)])
    sh(["bash", os.path.join(ROOT, "Tests/xmpp-server.sh"), "start", xmpp_base, str(xmpp_port)])
    agents = []
    try:
        user = open(os.path.join(ssh_base, "user")).read().strip()
        repo = os.path.join(ssh_base, "repos", "vault.git")
        sh(["git", "init", "-q", "--bare", "-b", "main", repo])
        url = f"ssh://{user}@127.0.0.1:{ssh_port}{repo}"
        ssh = ["--ssh-key", os.path.join(ssh_base, "keys/client_ed25519"), "--known-hosts", os.path.join(ssh_base, "known_hosts")]
        a, b = Agent(binary, work, "a"), Agent(binary, work, "b")
        agents = [a, b]
        os.makedirs(a.folder)
        a.cli("init", a.folder, "--remote", url, "--no-passphrase", *ssh)
        key = os.path.join(work, "key.txt")
        with open(key, "w") as f:
            f.write(a.cli("key", "export", "--folder", a.folder))
        os.chmod(key, 0o600)
        b.cli("join", url, b.folder, "--key-file", key, "--no-passphrase", *ssh)
        for x in agents:
            x.set("sync.quiet-ms", str(args.quiet_ms))
            x.set("sync.poll-seconds", "600")
            x.set("xmpp.jid", "agents@localhost")
            x.set("xmpp.password-file", os.path.join(xmpp_base, "accounts/agents"))
            x.set("xmpp.server", f"127.0.0.1:{xmpp_port}")
            x.set("xmpp.ca-file", os.path.join(xmpp_base, "certs/localhost.crt"))

        quiet = args.quiet_ms / 1000
        print(f"doorbell on: sshd 127.0.0.1:{ssh_port}, prosody 127.0.0.1:{xmpp_port}, quiet period {quiet:.3f} s, poll 600 s", flush=True)
        for x in agents:
            x.start()
        for x in agents:
            x.wait_ready(want_peers=1)
        bell = run_saves(a, b, args.saves, "doorbell")
        for x in agents:
            x.stop()

        for x in agents:
            x.set("xmpp.jid", "")
            x.set("sync.poll-seconds", str(args.poll))
        print(f"doorbell off: the same saves, poll every {args.poll} s", flush=True)
        for x in agents:
            x.start()
        for x in agents:
            x.wait_ready(want_peers=None)
        polled = run_saves(a, b, min(args.saves, 10), "polled")
        for x in agents:
            x.stop()

        med, q95 = statistics.median(bell), p95(bell)
        print()
        print(f"{'':24}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}")
        print(f"{'doorbell (n=%d)' % len(bell):24}{med:9.3f}{q95:9.3f}{min(bell):9.3f}{max(bell):9.3f}")
        print(f"{'poll %d s (n=%d)' % (args.poll, len(polled)):24}{statistics.median(polled):9.3f}{p95(polled):9.3f}{min(polled):9.3f}{max(polled):9.3f}")
        print(f"quiet period {quiet:.3f} s; median minus quiet period {med - quiet:.3f} s; "
              f"target median < quiet + 1 s = {quiet + 1:.3f} s: {'met' if med < quiet + 1 else 'NOT met'}")
        print(f"ratio poll/doorbell (medians): {statistics.median(polled) / med:.2f}x")
    finally:
        for x in agents:
            x.stop()
        subprocess.run(["bash", os.path.join(ROOT, "Tests/xmpp-server.sh"), "stop", xmpp_base])
        subprocess.run(["bash", os.path.join(ROOT, "Tests/ssh-server.sh"), "stop", ssh_base])
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
