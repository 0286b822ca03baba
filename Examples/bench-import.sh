#!/usr/bin/env bash
# Large-file import and join beside rclone crypt and restic, in one run: `shadowsync init` of three
# 100 MB files and of one 1 GiB file (random bytes) into a local bare repository, `rclone sync` of the
# same folder to a local crypt remote, `restic backup` to a local repository; then a fresh machine's
# `shadowsync join` of the 1 GiB vault beside `restic restore` and `rclone copy` back. For each
# command: wall seconds, CPU seconds (user + system), peak RSS and the bytes it wrote (the kernel's
# write_bytes of the child and its children, from wait4's block-output count), as medians with the
# min-max over RUNS runs, the tools alternating in order between runs, and the ratio to rclone. Last,
# the local disk footprint of the 1 GiB vault (plaintext, shadow tree, its .git, the remote).
# Usage: bash Examples/bench-import.sh              (root: installs rclone and restic from Debian when missing)
# Environment: RUNS (3), BIG_MB (100), BIG_FILES (3), HUGE_MIB (1024); SHADOWSYNC_BIN=path uses that binary, no build.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v rclone >/dev/null || need+=(rclone)
command -v restic >/dev/null || need+=(restic)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install ${need[*]} first (apt-get install ${need[*]})" >&2; exit 1; }
  apt-get install -y "${need[@]}" >/dev/null
fi
if [ -n "${SHADOWSYNC_BIN:-}" ]; then
  S=$SHADOWSYNC_BIN
  W=$(mktemp -d /tmp/shadowsync-import-XXXXXX)
  trap 'rm -rf "$W"' EXIT
else
  . Examples/bench-lib.sh
  bench_setup import 12G
fi
export S W RUNS=${RUNS:-3} BIG_MB=${BIG_MB:-100} BIG_FILES=${BIG_FILES:-3} HUGE_MIB=${HUGE_MIB:-1024}
echo "ShadowSync $("$S" --version), $(rclone version | head -1), $(restic version | cut -d' ' -f1-2)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
python3 - <<'EOF'
import os, shutil, statistics, subprocess, sys, time

S, W = os.environ["S"], os.environ["W"]
RUNS = int(os.environ["RUNS"])
MiB = 1 << 20
env = dict(os.environ, HOME=f"{W}/home", XDG_CONFIG_HOME=f"{W}/home/config", XDG_DATA_HOME=f"{W}/home/data",
           XDG_STATE_HOME=f"{W}/home/state", XDG_RUNTIME_DIR=f"{W}/home/run", RCLONE_CONFIG=f"{W}/rclone.conf",
           RESTIC_PASSWORD="bench passphrase", RCLONE_CONFIG_BENCHCRYPT_TYPE="crypt")
os.makedirs(f"{W}/home/run", mode=0o700, exist_ok=True)
env["RCLONE_CONFIG_BENCHCRYPT_PASSWORD"] = subprocess.run(["rclone", "obscure", "bench passphrase"], env=env,
                                                          check=True, capture_output=True, text=True).stdout.strip()

def measure(argv, **kw):
    """Runs argv; returns wall s, CPU s, peak RSS MiB, bytes written (write_bytes of it and its children)."""
    t = time.monotonic()
    with open(f"{W}/stderr", "wb") as err:
        p = subprocess.Popen(argv, env=kw.get("env", env), stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    p.returncode = 0
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed ({status}):\n" + open(f"{W}/stderr", errors="replace").read())
    return dict(wall=wall, cpu=ru.ru_utime + ru.ru_stime, rss=ru.ru_maxrss / 1024, written=ru.ru_oublock * 512)

def du(path):
    return int(subprocess.run(["du", "-sb", path], check=True, capture_output=True, text=True).stdout.split()[0]) if os.path.exists(path) else 0

def rm(*paths):
    for p in paths: shutil.rmtree(p, ignore_errors=True)

def fresh_home():
    rm(f"{W}/home/config", f"{W}/home/data", f"{W}/home/state")

def make(name, count, size):
    d = f"{W}/src-{name}"
    os.makedirs(d)
    for i in range(count):
        with open(f"{d}/file{i}.bin", "wb") as f, open("/dev/urandom", "rb") as r:
            left = size
            while left: left -= f.write(r.read(min(left, 8 * MiB)))
    return d

datasets = [(f"{os.environ['BIG_FILES']} x {os.environ['BIG_MB']} MB", make("big", int(os.environ["BIG_FILES"]), int(os.environ["BIG_MB"]) * 1000 * 1000)),
            (f"1 x {os.environ['HUGE_MIB']} MiB", make("huge", 1, int(os.environ["HUGE_MIB"]) * MiB))]
results = {}   # (dataset, tool) -> [measurement]
footprint = None

def shadow_import(label, src, run):
    fresh_home(); rm(f"{W}/s", f"{W}/s.git", f"{W}/s-shadow")
    os.makedirs(f"{W}/s")
    for n in os.listdir(src): os.link(f"{src}/{n}", f"{W}/s/{n}")   # a fresh folder with the same bytes
    m = measure([S, "init", f"{W}/s", "--remote", f"{W}/s.git", "--shadow", f"{W}/s-shadow", "--no-passphrase"])
    return m

def shadow_join(run):
    global footprint
    subprocess.run([S, "key", "export", "--folder", f"{W}/s"], env=env, check=True, stdout=open(f"{W}/key", "wb"))
    os.chmod(f"{W}/key", 0o600)
    home = dict(env, XDG_CONFIG_HOME=f"{W}/j/config", XDG_DATA_HOME=f"{W}/j/data", XDG_STATE_HOME=f"{W}/j/state")
    rm(f"{W}/j", f"{W}/j-folder", f"{W}/j-shadow")
    m = measure([S, "join", f"{W}/s.git", f"{W}/j-folder", "--key-file", f"{W}/key", "--shadow", f"{W}/j-shadow", "--no-passphrase"], env=home)
    subprocess.run(["cmp", f"{W}/s/file0.bin", f"{W}/j-folder/file0.bin"], check=True)
    footprint = dict(plaintext=du(f"{W}/s"), shadow_tree=du(f"{W}/s-shadow") - du(f"{W}/s-shadow/.git"),
                     shadow_git=du(f"{W}/s-shadow/.git"), remote=du(f"{W}/s.git"))
    rm(f"{W}/j", f"{W}/j-folder", f"{W}/j-shadow")
    return m

def rclone_import(label, src, run):
    rm(f"{W}/r"); env["RCLONE_CONFIG_BENCHCRYPT_REMOTE"] = f"{W}/r"
    return measure(["rclone", "sync", src, "benchcrypt:"])

def rclone_join(run):
    rm(f"{W}/r-out")
    m = measure(["rclone", "copy", "benchcrypt:", f"{W}/r-out"])
    rm(f"{W}/r-out")
    return m

def restic_import(label, src, run):
    rm(f"{W}/rr")
    subprocess.run(["restic", "init", "--repo", f"{W}/rr"], env=env, check=True, capture_output=True)
    return measure(["restic", "backup", "--repo", f"{W}/rr", src])

def restic_join(run):
    rm(f"{W}/rr-out")
    m = measure(["restic", "restore", "latest", "--repo", f"{W}/rr", "--target", f"{W}/rr-out"])
    rm(f"{W}/rr-out")
    return m

tools = [("shadowsync", shadow_import, shadow_join), ("rclone", rclone_import, rclone_join), ("restic", restic_import, restic_join)]
for run in range(RUNS):
    order = tools[run % 3:] + tools[:run % 3]
    for label, src in datasets:
        for name, imp, join in order:
            subprocess.run(["sync"])
            results.setdefault((label, name), []).append(imp(label, src, run))
            if label == datasets[-1][0]:
                subprocess.run(["sync"])
                results.setdefault(("join " + label, name), []).append(join(run))
    print(f"run {run + 1} of {RUNS} done", file=sys.stderr, flush=True)

def cell(values, fmt):
    med = statistics.median(values)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"

for label in [l for l, _ in datasets] + ["join " + datasets[-1][0]]:
    print(f"\n{label}: median (min–max) of {RUNS} runs; ratio = median of the per-run ratios to rclone")
    print(f"{'tool':<11} {'wall s':<22} {'vs rclone':<18} {'CPU s':<22} {'peak RSS MiB':<20} {'written MiB':<22}")
    base = results[(label, "rclone")]
    for name, _, _ in tools:
        ms = results[(label, name)]
        ratios = [m["wall"] / b["wall"] for m, b in zip(ms, base)]
        print(f"{name:<11} {cell([m['wall'] for m in ms], lambda v: f'{v:.2f}'):<22} "
              f"{cell(ratios, lambda v: f'{v:.2f}x'):<18} {cell([m['cpu'] for m in ms], lambda v: f'{v:.2f}'):<22} "
              f"{cell([m['rss'] for m in ms], lambda v: f'{v:.0f}'):<20} {cell([m['written'] / MiB for m in ms], lambda v: f'{v:.0f}'):<22}")
print("\nlocal disk, 1 GiB vault after init: " + ", ".join(f"{k.replace('_', ' ')} {v / MiB:.0f} MiB" for k, v in footprint.items())
      + f"; this machine's total {(footprint['plaintext'] + footprint['shadow_tree'] + footprint['shadow_git']) / MiB:.0f} MiB")
EOF
