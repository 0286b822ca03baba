#!/usr/bin/env bash
# Installs what ShadowSync needs on Debian 12, only if missing: the C libraries it links, and the real
# servers its tests run on loopback (OpenSSH, prosody). Needs root (or sudo) when something is missing.
set -euo pipefail

# gitolite3: real git hosting behind the test sshd (GitoliteTests); its package sets nothing up without an admin key.
packages=(pkg-config libgit2-dev libsodium-dev libstrophe-dev openssh-server openssh-client prosody git gitolite3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Tools the tests and benchmarks run, from any source: python3 (the tree generator, a TCP relay that
# simulates an outage, the second implementation of Docs/FORMAT.md) and script(1) (a terminal for the progress line).
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
# openssl makes the test prosody's self-signed certificate.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# strace counts the fsyncs of written files; setpriv (util-linux) runs an agent as another user.
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
# The web UI's test drives a real browser: headless Chromium through chromedriver and Debian's Selenium
# (for /usr/bin/python3, which a python3 earlier in PATH may not be).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
/usr/bin/python3 -c 'import selenium' >/dev/null 2>&1 || missing+=(python3-selenium)
# Optional, for benchmarks only (CI needs neither): SHADOWSYNC_BENCH_TOOLS=1 also installs rclone and
# restic, which Examples/bench-import.sh and bench-anchors.sh compare against.
if [ "${SHADOWSYNC_BENCH_TOOLS:-0}" = 1 ]; then
    command -v rclone >/dev/null 2>&1 || missing+=(rclone)
    command -v restic >/dev/null 2>&1 || missing+=(restic)
fi
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    # The packages' own services stay off: policy-rc.d or no systemd (tests start private instances).
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    echo "setup: add /opt/swift/usr/bin to PATH" >&2
fi
