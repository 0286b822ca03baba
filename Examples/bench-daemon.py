#!/usr/bin/env python3
"""The live agent's figures, in one run on a local bare repository:

  1. An event storm: N file creates (default 10,000) in a watched folder while `shadowsync run` is up.
     Prints events/s absorbed (inotify events the daemon read, over the time from the first create until
     everything is committed), commits made, peak RSS; beside it `git add -A && git commit` of the same
     files, as a ratio (machines here are noisy: read the ratio).
  2. Idle: CPU of the daemon over IDLE seconds (default 60) with nothing changing. Target < 1% of a core.
  3. A large folder watched: W files (default 100,000) in 1,000 directories imported and watched; RSS
     once idle. Target < 100 MiB.

Usage: python3 Examples/bench-daemon.py [--files N] [--idle S] [--watch-files W] [--binary PATH]
Builds the release binary unless --binary is given."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def sh(args, env, **kw):
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True, **kw).stdout


def proc_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def make_tree(root, n, dirs):
    for i in range(n):
        d = os.path.join(root, "d%04d" % (i % dirs))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d.txt" % i), "w") as f:
            f.write(("file %d\n" % i) * (1 + i % 50))


class Agent:
    def __init__(self, binary, work, name):
        self.binary = binary
        self.folder = os.path.join(work, name)
        home = os.path.join(work, "home-" + name)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home + "/config", XDG_DATA_HOME=home + "/data", SSH_AUTH_SOCK="")
        self.remote = os.path.join(work, name + ".git")
        self.daemon = None

    def cli(self, *args):
        return sh([self.binary, *args], self.env)

    def start(self):
        self.daemon = subprocess.Popen([self.binary, "run", "--folder", self.folder], env=self.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.status().get("state") == "idle":
                return
            time.sleep(0.2)
        raise SystemExit("the daemon did not become idle")

    def status(self):
        r = subprocess.run([self.binary, "status", "--json", "--folder", self.folder], env=self.env, capture_output=True, text=True)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def stop(self):
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(timeout=120)


def settle(agent, quiet_for=3.0, timeout=900):
    """Waits until the daemon is idle with nothing pending and its commit count has not moved for quiet_for s."""
    last, since = None, time.time()
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = agent.status()
        key = (st.get("commits"), st.get("events"), st.get("passes"))
        busy = st.get("state") != "idle" or st.get("pending_events", 0) > 0
        if busy or key != last:
            last, since = key, time.time()
        elif time.time() - since >= quiet_for:
            return st, since
        time.sleep(0.1)
    raise SystemExit("the daemon did not settle")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--watch-files", type=int, default=100_000)
    ap.add_argument("--binary")
    a = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = a.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "shadowsync"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
        binary = os.path.join(repo, ".build/release/shadowsync")
    work = tempfile.mkdtemp(prefix="shadowsync-bench-daemon-")
    try:
        # 1. The storm.
        agent = Agent(binary, work, "storm")
        os.makedirs(agent.folder)
        with open(os.path.join(agent.folder, "start.txt"), "w") as f:
            f.write("start\n")
        agent.cli("init", agent.folder, "--remote", agent.remote, "--no-passphrase")
        agent.start()
        before = agent.status()
        t0 = time.time()
        make_tree(os.path.join(agent.folder, "storm"), a.files, 100)
        written = time.time() - t0
        st, settled_at = settle(agent)
        absorbed = settled_at - t0
        events = st["events"] - before.get("events", 0)
        commits = st["commits"] - before.get("commits", 0)
        peak = proc_field(agent.daemon.pid, "VmHWM:")
        # Nothing left behind: a one-shot pass after the daemon stops finds nothing to commit.
        agent.stop()
        pending = json.loads(agent.cli("status", "--json", "--folder", agent.folder))["pending"]

        # The same files with git, for the ratio.
        gitdir = os.path.join(work, "git")
        make_tree(os.path.join(gitdir, "storm"), a.files, 100)
        genv = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                    GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b", HOME=work)
        sh(["git", "init", "-q", "-b", "main", gitdir], genv)
        g0 = time.time()
        sh(["git", "-C", gitdir, "add", "-A"], genv)
        sh(["git", "-C", gitdir, "commit", "-qm", "storm"], genv)
        git_time = time.time() - g0

        print(f"event storm: {a.files} creates written in {written:.2f} s")
        print(f"  daemon: {events} inotify events absorbed, everything committed {absorbed:.2f} s after the first create"
              f" -> {events / absorbed:,.0f} events/s, {a.files / absorbed:,.0f} files/s")
        print(f"  commits made: {commits}; left pending after stop: {len(pending)}; peak RSS {peak / 2**20:.1f} MiB")
        print(f"  git add -A && git commit of the same files: {git_time:.2f} s (daemon/git {absorbed / git_time:.2f}x,"
              f" which includes the daemon's quiet period and push)")

        # 2. Idle CPU, with the same daemon restarted on the now-large folder.
        agent.start()
        settle(agent)
        c0, w0 = cpu_seconds(agent.daemon.pid), time.time()
        time.sleep(a.idle)
        idle_cpu = (cpu_seconds(agent.daemon.pid) - c0) / (time.time() - w0)
        idle_rss = proc_field(agent.daemon.pid, "VmRSS:")
        agent.stop()
        print(f"idle: {idle_cpu * 100:.3f}% of a core over {a.idle:.0f} s (target < 1%); RSS {idle_rss / 2**20:.1f} MiB"
              f" with {a.files + 1} files")

        # 3. A large folder watched.
        if a.watch_files > 0:
            big = Agent(binary, work, "large")
            make_tree(big.folder, a.watch_files, 1000)
            i0 = time.time()
            big.cli("init", big.folder, "--remote", big.remote, "--no-passphrase")
            imported = time.time() - i0
            big.start()
            st, _ = settle(big)
            rss, hwm = proc_field(big.daemon.pid, "VmRSS:"), proc_field(big.daemon.pid, "VmHWM:")
            big.stop()
            print(f"large folder: {a.watch_files} files in {st.get('watches')} watched directories (init took {imported:.1f} s);"
                  f" daemon RSS idle {rss / 2**20:.1f} MiB, peak {hwm / 2**20:.1f} MiB (target < 100 MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
