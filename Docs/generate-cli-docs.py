#!/usr/bin/env python3
"""Generates the man page and the shell completions from the command line itself, so they cannot drift:
the man page from `shadowsync --experimental-dump-help` (swift-argument-parser's description of every
command, option and help text), the completions from `--generate-completion-script`.

Usage: python3 Docs/generate-cli-docs.py [BINARY] [OUTDIR]
  BINARY defaults to .build/debug/shadowsync, OUTDIR to Docs/. Writes OUTDIR/man/shadowsync.1 and
  OUTDIR/completions/{shadowsync.bash,_shadowsync,shadowsync.fish}. A test (CLITests) regenerates them
  into a temporary directory and compares, so the checked-in files stay true.
"""
import json
import os
import subprocess
import sys

SECTION_OTHER_PAGES = """.SH EXAMPLES
.nf
shadowsync init ~/Notes \\-\\-remote ssh://me@vps.example.org:2222/~/notes.git \\-\\-passphrase\\-file ~/.config/notes.pass
shadowsync device invite \\-\\-folder ~/Notes \\-\\-name desktop > invite.txt
shadowsync join ssh://me@vps.example.org:2222/~/notes.git ~/Notes \\-\\-invite\\-file invite.txt
systemctl \\-\\-user enable \\-\\-now "shadowsync@$(systemd\\-escape \\-\\-path ~/Notes).service"
shadowsync status                       # every folder; inside one, that folder
shadowsync sync                         # a pass now (the daemon runs it when one runs)
shadowsync log todo.txt
shadowsync diff todo.txt \\-\\-at yesterday
shadowsync show todo.txt \\-\\-at HEAD~2
shadowsync restore todo.txt \\-\\-at 2026\\-11\\-01   # into ~/.local/share/shadowsync/restored/
shadowsync config set folder ~/Documents/Notes \\-\\-folder ~/Notes   # after mv ~/Notes ~/Documents/Notes
.fi
.SH FILES
.TP
.I $XDG_CONFIG_HOME/shadowsync/folders/*.conf
One file per synced folder: its remote, shadow directory and agent settings (see Docs/OPERATIONS.md).
.TP
.I $XDG_DATA_HOME/shadowsync/
Shadow ciphertext trees (git work trees), stat indexes, journals, instance locks and the daemon's
control socket (state/agent.sock).
.TP
.I $XDG_DATA_HOME/shadowsync/restored/
Where restore writes by default, outside the synced folder.
.TP
.I ~/.config/systemd/user/shadowsync@.service
The systemd user unit, one instance per folder (installed by Examples/install.sh).
.SH ENVIRONMENT
.TP
.B XDG_CONFIG_HOME, XDG_DATA_HOME
Where the folder configurations and the agent state live (default ~/.config and ~/.local/share):
several agents can run side by side with different values.
.TP
.B HOME
The default for both, and for ~ in config values and ~/.ssh/known_hosts.
.TP
.B SSH_AUTH_SOCK
The ssh\\-agent asked for keys unless ssh.agent = no.
.TP
.B SHADOWSYNC_STALL_SECONDS
A transfer making no progress this long is abandoned as transient (default 120).
.SH EXIT STATUS
0 done: in sync (a conflict that sync resolved into a conflict copy is reported and exits 0); for
diff, no difference.
1 needs a human: the mass\\-delete guard tripped, the shadow repository holds a commit ShadowSync did
not make, a check of doctor or selfcheck failed, verify\\-push refused, config get found the key unset;
for status, a folder needs attention (conflict copies, a needed repair, a server alert, or a daemon
whose last pass failed or that is degraded); for diff, the versions differ.
2 invalid input or state: a usage error (an unknown option, a missing argument), a wrong passphrase,
a corrupt key file, a secret file others can read, a server that rolled back or injected commits.
3 transient: the remote is unreachable, the disk is full, another shadowsync process holds the folder,
the remote kept moving during five push attempts: run again later.
.SH SEE ALSO
.BR git (1),
.BR ssh (1),
.BR prosody (1).
The project's Docs/OPERATIONS.md, Docs/FORMAT.md and Docs/THREAT-MODEL.md.
"""


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote that would start a request."""
    text = text.replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def synopsis_of(arg):
    names = arg.get("names") or []
    preferred = arg.get("preferredName") or (names[0] if names else None)
    if arg["kind"] == "positional":
        text = "<" + arg["valueName"] + ">"
    else:
        prefix = "-" if preferred["kind"] == "short" else "--"
        text = prefix + preferred["name"]
        if arg["kind"] == "option":
            text += " <" + arg["valueName"] + ">"
    if arg.get("isRepeating"):
        text += " ..."
    if arg.get("isOptional"):
        text = "[" + text + "]"
    return text


def names_of(arg):
    if arg["kind"] == "positional":
        return "<" + arg["valueName"] + ">"
    out = []
    for n in arg.get("names") or []:
        out.append(("-" if n["kind"] == "short" else "--") + n["name"])
    text = ", ".join(out)
    if arg["kind"] == "option":
        text += " <" + arg["valueName"] + ">"
    return text


def visible(args):
    return [a for a in args or [] if a.get("shouldDisplay", True)
            and not (a["kind"] == "flag" and any(n["name"] in ("help", "version") for n in a.get("names") or []))]


def describe(command, path, out):
    """Appends one command (and, depth first, its subcommands) to the man page."""
    if command["commandName"] == "help":
        return
    full = " ".join(path)
    args = visible(command.get("arguments"))
    subs = command.get("subcommands") or []
    if len(path) > 1:
        out.append(".SS " + roff(full))
        out.append(".B " + roff(full + " " + " ".join(synopsis_of(a) for a in args)).rstrip())
        out.append(".PP")
        if command.get("abstract"):
            out.append(roff(command["abstract"]))
        if command.get("discussion"):
            out.append(".PP")
            out.append(roff(command["discussion"]))
        for a in args:
            out.append(".TP")
            out.append(".B " + roff(names_of(a)))
            text = a.get("abstract") or ""
            if a.get("discussion"):
                text += " " + a["discussion"]
            if a.get("defaultValue") is not None and a["kind"] != "flag":
                text += " (default: " + a["defaultValue"] + ")"
            out.append(roff(text.strip()) or "\\&")
    for s in subs:
        describe(s, path + [s["commandName"]], out)


def man_page(info, version):
    root = info["command"]
    name = root["commandName"]
    out = [
        '.TH SHADOWSYNC 1 "" "shadowsync ' + version + '" "User Commands"',
        ".SH NAME",
        name + " \\- " + roff(root.get("abstract", "")),
        ".SH SYNOPSIS",
        ".B " + name,
        ".I command",
        "[options]",
        ".SH DESCRIPTION",
        roff(root.get("discussion") or root.get("abstract", "")),
        ".SH COMMANDS",
    ]
    describe(root, [name], out)
    out.append(SECTION_OTHER_PAGES.rstrip("\n"))
    return "\n".join(out) + "\n"


def run(binary, *args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/shadowsync"
    outdir = sys.argv[2] if len(sys.argv) > 2 else "Docs"
    info = json.loads(run(binary, "--experimental-dump-help"))
    version = run(binary, "--version").strip()
    os.makedirs(os.path.join(outdir, "man"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "completions"), exist_ok=True)
    with open(os.path.join(outdir, "man", "shadowsync.1"), "w") as f:
        f.write(man_page(info, version))
    for shell, file in (("bash", "shadowsync.bash"), ("zsh", "_shadowsync"), ("fish", "shadowsync.fish")):
        with open(os.path.join(outdir, "completions", file), "w") as f:
            f.write(run(binary, "--generate-completion-script", shell))


if __name__ == "__main__":
    main()
