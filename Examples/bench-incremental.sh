#!/usr/bin/env bash
# A one-file save in a large folder, in one run: `git add FILE && git commit` on a plain git copy of the
# tree beside the same save committed by a running `shadowsync run` daemon, alternating. For the daemon
# it times, from the end of the write, until the commit is the shadow repository's branch head
# ("committed") and until it is the local bare remote's ("pushed"). Prints medians, min-max and ratios
# (machines here are noisy: only the ratios mean much).
#
#   bash Examples/bench-incremental.sh [FILES] [SAVES]     default: 10000 files, 9 saves
#
# The daemon runs with sync.quiet-ms=QUIET_MS (default 1, the least it takes): the quiet period is a setting that waits for
# an editor's save to settle, not work; its default of 1000 ms would otherwise be most of the figure.
# BINARY=PATH uses that binary instead of building the release one. FRESH_FS=1 (root only): Examples/bench-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-10000}
SAVES=${2:-9}
QUIET_MS=${QUIET_MS:-1}
source Examples/bench-lib.sh
if [ -n "${BINARY:-}" ]; then
  # A binary already built (a debug build, to see where the time goes): no release build.
  S=$(realpath "$BINARY"); W=$(mktemp -d /tmp/shadowsync-incremental-XXXXXX); trap 'rm -rf "$W"' EXIT
else
  # Three copies of the tree, the shadow tree (two objects per file) and git's objects: 4 GiB per 10k files.
  bench_setup incremental $(( (FILES + 9999) / 10000 * 4 ))G
fi
export HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_DATA_HOME=$W/home/data
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
mkdir -p "$HOME" && git config --global gc.auto 0

python3 Examples/make-tree.py "$W/tree" "$FILES"
cp -a "$W/tree" "$W/plain"; cp -a "$W/tree" "$W/gitwork"
$S init "$W/plain" --remote "$W/remote.git" --shadow "$W/shadow" --no-passphrase >/dev/null
$S config set sync.quiet-ms "$QUIET_MS" --folder "$W/plain" >/dev/null
(cd "$W/gitwork" && git init -q -b main && git add -A && git commit -qm import)
sync

$S run --folder "$W/plain" >"$W/daemon.log" 2>&1 &
DAEMON=$!
CLEANUP=$(trap -p EXIT | awk -F"'" '{print $2}')
trap "kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null; $CLEANUP" EXIT

python3 - "$S" "$W" "$SAVES" "$FILES" "$QUIET_MS" <<'EOF'
import json, os, statistics, subprocess, sys, time
binary, work, saves, files, quiet = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
plain, gitwork = os.path.join(work, "plain"), os.path.join(work, "gitwork")
shadow_ref = os.path.join(work, "shadow", ".git", "refs", "heads", "main")
remote_ref = os.path.join(work, "remote.git", "refs", "heads", "main")

def ref(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None

def status():
    r = subprocess.run([binary, "status", "--json", "--folder", plain], capture_output=True, text=True)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}

def settle(timeout=600):
    """The daemon idle, nothing pending, its pass count still for a second."""
    deadline, last, since = time.time() + timeout, None, time.time()
    while time.time() < deadline:
        st = status()
        key = st.get("passes")
        if st.get("state") != "idle" or st.get("pending_events") or key != last:
            last, since = key, time.time()
        elif time.time() - since >= 1.0:
            return
        time.sleep(0.2)
    sys.exit("the daemon did not settle")

def append(path, line):
    with open(path, "a") as f:
        f.write(line)

settle()
target = "d000/f00000.txt"
committed, pushed, git = [], [], []
for i in range(saves):
    # git: the same one-line save, then add and commit that one file.
    append(os.path.join(gitwork, target), f"edit {i}\n")
    a = time.monotonic()
    subprocess.run(["git", "-C", gitwork, "add", target], check=True)
    subprocess.run(["git", "-C", gitwork, "commit", "-qm", f"edit {i}"], check=True)
    git.append(time.monotonic() - a)
    # The daemon: the save, then the refs polled every millisecond.
    before_local, before_remote = ref(shadow_ref), ref(remote_ref)
    append(os.path.join(plain, target), f"edit {i}\n")
    a = time.monotonic()
    c = p = None
    while p is None:
        t = time.monotonic()
        if c is None and ref(shadow_ref) != before_local:
            c = t - a
        if ref(remote_ref) != before_remote:
            p = t - a
            if c is None:
                c = p
        if t - a > 300:
            sys.exit("the save was not pushed within 300 s")
        time.sleep(0.001)
    committed.append(c)
    pushed.append(p)
    settle()

def fmt(v):
    return f"{statistics.median(v):7.3f} s ({min(v):.3f}-{max(v):.3f})"
mg = statistics.median(git)
print(f"tree: {files} files; {saves} one-line saves of {target}; {os.path.basename(os.path.dirname(binary))} build; {os.cpu_count()} cores;"
      f" sync.quiet-ms={quiet}; fresh ext4: {os.environ.get('FRESH_FS', '0')}; {time.strftime('%Y-%m-%d', time.gmtime())}")
print(f"{'git add FILE && git commit':42} {fmt(git)}")
print(f"{'daemon: save -> committed (shadow repo)':42} {fmt(committed)}  {statistics.median(committed) / mg:.2f}x")
print(f"{'daemon: save -> pushed (local bare remote)':42} {fmt(pushed)}  {statistics.median(pushed) / mg:.2f}x")
print("target: committed <= 1.0x git add FILE && git commit")
EOF
grep -E "committed|incremental|full" "$W/daemon.log" | tail -3 || true
