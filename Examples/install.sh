#!/usr/bin/env bash
# Builds ShadowSync (release) and installs it for this user in one step: the binaries (shadowsync and
# the web UI's shadowsync-ui), the man page, the
# bash, zsh and fish completions, the systemd user unit and the documentation. Then prints how to keep
# a folder syncing. Needs the build dependencies (bash Examples/setup-debian.sh) and Swift 6 on PATH.
#
#   bash Examples/install.sh                      # into ~/.local (PREFIX=~/.local)
#   bash Examples/install.sh --prefix /opt/ss     # elsewhere (the unit is rewritten to match)
#   bash Examples/install.sh --binary FILE        # install a binary built before instead of building
#   make install PREFIX=~/.local                  # the same through make
set -euo pipefail

prefix="${PREFIX:-$HOME/.local}"
binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac

if [ -z "$binary" ]; then
    if ! command -v swift >/dev/null; then
        echo "install.sh: swift is not on PATH (here: export PATH=/opt/swift/usr/bin:\$PATH); run bash Examples/setup-debian.sh for the libraries" >&2
        exit 2
    fi
    echo "building (release; a few minutes the first time)..."
    swift build -c release --product shadowsync
    swift build -c release --product shadowsync-ui
    binary=.build/release/shadowsync
fi
[ -x "$binary" ] || { echo "install.sh: no executable at $binary" >&2; exit 2; }
# The web UI (`shadowsync ui`) is a program of its own that shadowsync runs from its own directory.
ui="$(dirname "$binary")/shadowsync-ui"

install -D -m 755 "$binary" "$prefix/bin/shadowsync"
[ -x "$ui" ] && install -D -m 755 "$ui" "$prefix/bin/shadowsync-ui"
install -D -m 644 Docs/man/shadowsync.1 "$prefix/share/man/man1/shadowsync.1"
install -D -m 644 Docs/completions/shadowsync.bash "$prefix/share/bash-completion/completions/shadowsync"
install -D -m 644 Docs/completions/_shadowsync "$prefix/share/zsh/site-functions/_shadowsync"
install -D -m 644 Docs/completions/shadowsync.fish "$prefix/share/fish/vendor_completions.d/shadowsync.fish"
for doc in README.md Docs/OPERATIONS.md Docs/DESIGN.md Docs/FORMAT.md Docs/THREAT-MODEL.md; do
    [ -f "$doc" ] && install -D -m 644 "$doc" "$prefix/share/doc/shadowsync/$(basename "$doc")"
done

# The unit runs the binary just installed and points at the documentation just installed.
units="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
mkdir -p "$units"
sed -e "s|^ExecStart=%h/.local/bin/shadowsync |ExecStart=$prefix/bin/shadowsync |" \
    -e "s|file:///usr/share/doc/shadowsync/|file://$prefix/share/doc/shadowsync/|" \
    Examples/systemd/shadowsync@.service > "$units/shadowsync@.service.tmp"
mv "$units/shadowsync@.service.tmp" "$units/shadowsync@.service"
reloaded=no
if command -v systemctl >/dev/null && systemctl --user show-environment >/dev/null 2>&1; then
    systemctl --user daemon-reload && reloaded=yes
fi

echo "installed:"
echo "  $prefix/bin/shadowsync ($("$prefix/bin/shadowsync" --version))"
if [ -x "$ui" ]; then echo "  $prefix/bin/shadowsync-ui (shadowsync ui)"; else echo "note: no shadowsync-ui beside $binary: 'shadowsync ui' is not installed"; fi
echo "  $prefix/share/man/man1/shadowsync.1 (man shadowsync)"
echo "  completions for bash, zsh and fish under $prefix/share"
echo "  $units/shadowsync@.service"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;; esac
[ "$reloaded" = yes ] || echo "note: no systemd user session here; run 'systemctl --user daemon-reload' in one"
cat <<EOT

Set up a folder (shadowsync init, or shadowsync join on the next machine), then keep it syncing:

  systemctl --user enable --now "shadowsync@\$(systemd-escape --path ~/Notes).service"
  loginctl enable-linger "\$USER"        # optional: keep syncing while logged out
  shadowsync status                      # every folder, and whether its daemon runs
EOT
