#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds, runs every test.
# Real-server tests (sshd, prosody) start and stop their own private instances on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/setup-debian.sh
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
swift build --build-tests
swift test --skip-build
