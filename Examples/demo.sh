#!/usr/bin/env bash
# The main job on the embedded default: builds shadowsync and runs it with no server.
# Today that is the vault self-check (create a vault and key file, encrypt a small folder with awkward
# names into shadow objects, decrypt it back, refuse tampering and a wrong passphrase).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/setup-debian.sh
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product shadowsync
.build/release/shadowsync selfcheck
