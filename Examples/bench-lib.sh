# Shared by the shell benchmarks (source it): the release binary, a scratch directory and timing helpers.
# With FRESH_FS=1 (root only) the scratch directory is a new ext4 file system in a loop file: file
# creation on an ext4 that recently deleted many inodes (an earlier run's trees) costs several times
# more, and unevenly between tools (the allocator skips recently deleted inodes).

# bench_setup NAME SIZE: builds the release binaries into S (shadowsync) and B (shadowsync-bench) and makes the scratch directory W (of SIZE,
# e.g. 4G, when FRESH_FS=1), removed on exit.
bench_setup() {
  command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
  swift build -c release --product shadowsync >/dev/null
  swift build -c release --product shadowsync-bench >/dev/null
  S=$PWD/.build/release/shadowsync
  B=$PWD/.build/release/shadowsync-bench
  W=$(mktemp -d "/tmp/shadowsync-$1-XXXXXX")
  if [ "${FRESH_FS:-0}" = 1 ]; then
    # Inode tables and journal zeroed now, not by a kernel thread during the measurements.
    truncate -s "$2" "$W.img" && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$W.img" && mount -o loop "$W.img" "$W"
    trap 'umount -l "$W"; rm -rf "$W" "$W.img"' EXIT
  else
    trap 'rm -rf "$W"' EXIT
  fi
}

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.4f}')" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }

# inprocess_rescan FOLDER GITWORK ROUNDS: a running agent's no-op pass (the folder stays open, as in
# 'shadowsync run') beside `git status`, alternating; prints "ours_seconds git_seconds" (medians).
inprocess_rescan() { "$B" rescan --folder "$1" --git "$2" --rounds "$3" | awk '/^figures:/ {print $2, $3}'; }
