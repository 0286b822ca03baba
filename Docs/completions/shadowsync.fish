function __shadowsync_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __shadowsync_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __shadowsync_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __shadowsync_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __shadowsync_parse_tokens -S
    set -l unparsed_tokens (__shadowsync_tokens -pc)
    switch $unparsed_tokens[1]
    case 'shadowsync'
        __shadowsync_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'init'
            __shadowsync_parse_subcommand 1 'remote=' 'shadow=' 'device-name=' 'passphrase-file=' 'passphrase-command=' 'no-passphrase' 'kdf-profile=' 'ssh-key=' 'ssh-key-passphrase-file=' 'known-hosts=' 'accept-host-key=' 'version' 'h/help'
        case 'join'
            __shadowsync_parse_subcommand 2 'key=' 'key-file=' 'invite=' 'invite-file=' 'shadow=' 'prefer-local' 'prefer-remote' 'device-name=' 'config=+' 'passphrase-file=' 'passphrase-command=' 'no-passphrase' 'kdf-profile=' 'ssh-key=' 'ssh-key-passphrase-file=' 'known-hosts=' 'accept-host-key=' 'version' 'h/help'
        case 'sync'
            __shadowsync_parse_subcommand 0 'folder=' 'allow-mass-delete' 'accept-fork' 'replace-refused' 'version' 'h/help'
        case 'status'
            __shadowsync_parse_subcommand 0 'folder=' 'all' 'json' 'version' 'h/help'
        case 'log'
            __shadowsync_parse_subcommand 1 'folder=' 'json' 'limit=' 'version' 'h/help'
        case 'restore'
            __shadowsync_parse_subcommand 1 'at=' 'to=' 'here' 'folder=' 'version' 'h/help'
        case 'show'
            __shadowsync_parse_subcommand 1 'at=' 'folder=' 'version' 'h/help'
        case 'diff'
            __shadowsync_parse_subcommand 1 'at=' 'folder=' 'version' 'h/help'
        case 'conflicts'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'decrypt'
            __shadowsync_parse_subcommand 1 'key=' 'key-file=' 'passphrase-file=' 'passphrase-command=' 'to=' 'rev=' 'version' 'h/help'
        case 'fsck'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'key'
            __shadowsync_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'export'
                __shadowsync_parse_subcommand 0 'read-only' 'verify-only' 'recovery' 'folder=' 'version' 'h/help'
            case 'passwd'
                __shadowsync_parse_subcommand 0 'old-passphrase-file=' 'old-passphrase-command=' 'new-passphrase-file=' 'new-passphrase-command=' 'no-new-passphrase' 'kdf-profile=' 'folder=' 'version' 'h/help'
            case 'rotate'
                __shadowsync_parse_subcommand 0 'reencrypt' 'folder=' 'version' 'h/help'
            end
        case 'device'
            __shadowsync_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __shadowsync_parse_subcommand 0 'folder=' 'json' 'version' 'h/help'
            case 'rename'
                __shadowsync_parse_subcommand 1 'folder=' 'version' 'h/help'
            case 'invite'
                __shadowsync_parse_subcommand 0 'read-only' 'name=' 'expires-hours=' 'folder=' 'version' 'h/help'
            case 'revoke'
                __shadowsync_parse_subcommand 1 'folder=' 'json' 'version' 'h/help'
            end
        case 'run'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'pause'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'resume'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'trust-host'
            __shadowsync_parse_subcommand 1 'fingerprint=' 'known-hosts=' 'version' 'h/help'
        case 'config'
            __shadowsync_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'get'
                __shadowsync_parse_subcommand 1 'folder=' 'version' 'h/help'
            case 'set'
                __shadowsync_parse_subcommand 2 'folder=' 'version' 'h/help'
            case 'list'
                __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
            end
        case 'doctor'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'verify-push'
            __shadowsync_parse_subcommand 0 'key-file=' 'version' 'h/help'
        case 'selfcheck'
            __shadowsync_parse_subcommand 0 'version' 'h/help'
        case 'repair'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'resync'
            __shadowsync_parse_subcommand 0 'folder=' 'version' 'h/help'
        case 'ui'
            __shadowsync_parse_subcommand 0 'listen=' 'open' 'version' 'h/help'
        case 'forget'
            __shadowsync_parse_subcommand -r 1 'keep-within=' 'keep-last=' 'yes' 'folder=' 'version' 'h/help'
        case 'help'
            __shadowsync_parse_subcommand -r 1 'version'
        end
    end
end

function __shadowsync_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __shadowsync_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __shadowsync_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __shadowsync_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__shadowsync_tokens -p)
    if test -z "$(__shadowsync_tokens -t)"
        set -l index (count (__shadowsync_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'shadowsync' -f
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'init' -d 'Create a vault for a folder and push it to a remote.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'join' -d 'Join an existing vault: verify, decrypt into DIR, keep what DIR holds.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'sync' -d 'One full pass: commit local changes, fetch, verify, merge, apply, push.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'status' -d 'What is pending, what was verified, which conflict copies exist; every folder when run outside one.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'log' -d 'Decrypted history: when, which device, which paths.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'restore' -d 'Restore a file or directory as it was at a revision, never overwriting.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'show' -d 'Print a file as it was at a revision (a symlink: its target).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'diff' -d 'Unified diff of a file from a revision (default: the last synced one) to the folder now.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'conflicts' -d 'Conflict copies in the folder, and this machine\'s conflict log.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'decrypt' -d 'Offline recovery: verify and decrypt a repository into a new directory.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'fsck' -d 'Verify every signature and decrypt every file of the current tree.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'key' -d 'Key management.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'device' -d 'The machines admitted to the vault.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'run' -d 'The live agent: watch the folder, commit and push changes within seconds, apply what others push.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'pause' -d 'Stop the running daemon from syncing until \'resume\' (it keeps watching).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'resume' -d 'Let a paused daemon sync again (a pass starts at once).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'trust-host' -d 'Read an SSH server\'s host key and add it to known_hosts once you confirmed its fingerprint.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'config' -d 'Read or change a folder\'s settings.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'doctor' -d 'Check config, key file, and the remote step by step (reachability, host key, login, repository).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'verify-push' -d 'Server-side check for a pre-receive hook: refuse pushes not signed by this vault\'s writers.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'selfcheck' -d 'Check the vault format end to end on this machine (no server needed).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'repair' -d 'Put the shadow repository back on the last commit ShadowSync made (after git was run there by hand).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'resync' -d 'Forget the history this machine verified, verify the server\'s from its root and merge this folder onto it.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'ui' -d 'A local web page for every folder on this machine: state, conflicts, history, ignore rules.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'forget' -d 'Remove paths from all of history, or squash old history by a retention policy (a signed rewrite).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" remote' -l 'remote' -d 'The bare repository: ssh://user@host[:port]/path, user@host:path (an existing empty repository), or a local path (created if missing).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" shadow' -l 'shadow' -d 'Where the ciphertext tree goes (default: under $XDG_DATA_HOME/shadowsync).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" device-name' -l 'device-name' -d 'This machine\'s name in the vault (default: the host name).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" passphrase-file' -l 'passphrase-file' -d 'Read the key file\'s passphrase from this file (never from the command line).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" passphrase-command' -l 'passphrase-command' -d 'A shell command that prints the key file\'s passphrase (a keyring or askpass program); remembered as passphrase-command and run whenever the key is opened.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" no-passphrase' -l 'no-passphrase' -d 'Store the key unprotected (only on a machine whose disk is encrypted).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" kdf-profile' -l 'kdf-profile' -d 'Argon2id cost of the key file: moderate (default, 256 MiB) or interactive (64 MiB).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" ssh-key' -l 'ssh-key' -d 'SSH private key for the remote (ed25519 or ECDSA; remembered as ssh.key).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" ssh-key-passphrase-file' -l 'ssh-key-passphrase-file' -d 'File holding the SSH key\'s passphrase (remembered as ssh.key-passphrase-file).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" known-hosts' -l 'known-hosts' -d 'known_hosts file to check the server against (default ~/.ssh/known_hosts; remembered as ssh.known_hosts).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" accept-host-key' -l 'accept-host-key' -d 'Trust an unknown server whose host key has exactly this fingerprint (SHA256:...), recording it in known_hosts.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync init" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" key' -l 'key' -d 'The capability string or invite (visible to other users in the process list: prefer --key-file).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" key-file' -l 'key-file' -d 'A file holding the capability string or invite (or a ShadowSync key file).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" invite' -l 'invite' -d 'A one-time invite from \'shadowsync device invite\' (visible to other users in the process list: prefer --invite-file).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" invite-file' -l 'invite-file' -d 'A file holding a one-time invite from \'shadowsync device invite\'.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" shadow' -l 'shadow' -d 'Where the ciphertext tree goes.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" prefer-local' -l 'prefer-local' -d 'A file already in DIR keeps its path even if older; the incoming version becomes the conflict copy.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" prefer-remote' -l 'prefer-remote' -d 'The incoming version takes the path even if older; a differing file already in DIR becomes the conflict copy.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" device-name' -l 'device-name' -d 'This machine\'s name in the vault (default: the host name).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join"' -l 'config' -d 'A setting of the new folder, as \'config set\' takes it, applied before the first push (repeatable): with the doorbell\'s keys (xmpp.jid, xmpp.password-file, ...) the join\'s push rings the other agents.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" passphrase-file' -l 'passphrase-file' -d 'Read the key file\'s passphrase from this file (never from the command line).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" passphrase-command' -l 'passphrase-command' -d 'A shell command that prints the key file\'s passphrase (a keyring or askpass program); remembered as passphrase-command and run whenever the key is opened.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" no-passphrase' -l 'no-passphrase' -d 'Store the key unprotected (only on a machine whose disk is encrypted).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" kdf-profile' -l 'kdf-profile' -d 'Argon2id cost of the key file: moderate (default, 256 MiB) or interactive (64 MiB).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" ssh-key' -l 'ssh-key' -d 'SSH private key for the remote (ed25519 or ECDSA; remembered as ssh.key).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" ssh-key-passphrase-file' -l 'ssh-key-passphrase-file' -d 'File holding the SSH key\'s passphrase (remembered as ssh.key-passphrase-file).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" known-hosts' -l 'known-hosts' -d 'known_hosts file to check the server against (default ~/.ssh/known_hosts; remembered as ssh.known_hosts).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" accept-host-key' -l 'accept-host-key' -d 'Trust an unknown server whose host key has exactly this fingerprint (SHA256:...), recording it in known_hosts.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync join" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" allow-mass-delete' -l 'allow-mass-delete' -d 'Commit even if most files vanished at once (the mass-delete guard).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" accept-fork' -l 'accept-fork' -d 'Merge the server\'s history though it forked from the one this machine verified (after a fork or a move to a repository another machine filled).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" replace-refused' -l 'replace-refused' -d 'When the server\'s head is a commit no writer made (unsigned, tampered, or signed by a revoked or unknown device), push a signed commit over it on top of this machine\'s verified history.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync sync" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync status" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync status" all' -l 'all' -d 'List every configured folder, even inside one.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync status" json' -l 'json' -d 'Machine-readable output (one schema with and without a daemon).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync status" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync log" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync log" json' -l 'json' -d 'Machine-readable output.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync log" limit' -l 'limit' -d 'At most this many commits (default: all).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync log" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync log" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" at' -l 'at' -d 'A commit id from \'shadowsync log\' (4+ hex digits), HEAD~N (first parents, as log lists them), a date (2026-11-01 is the end of that day, 2026-11-01T14:30; UTC), \'yesterday\' or \'N days ago\'.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" to' -l 'to' -d 'Write here instead (must not exist).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" here' -l 'here' -d 'Write beside the original, inside the folder, as name.restored-<commit>.ext.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync restore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync show" at' -l 'at' -d 'A commit id from \'shadowsync log\' (4+ hex digits), HEAD~N (first parents, as log lists them), a date (2026-11-01 is the end of that day, 2026-11-01T14:30; UTC), \'yesterday\' or \'N days ago\'. Default: HEAD.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync show" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync show" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync diff" at' -l 'at' -d 'A commit id from \'shadowsync log\' (4+ hex digits), HEAD~N (first parents, as log lists them), a date (2026-11-01 is the end of that day, 2026-11-01T14:30; UTC), \'yesterday\' or \'N days ago\'. Default: HEAD.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync diff" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync diff" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync diff" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync conflicts" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync conflicts" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync conflicts" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" key' -l 'key' -d 'The capability string.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" key-file' -l 'key-file' -d 'A file holding the capability string, or a ShadowSync key file.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" passphrase-file' -l 'passphrase-file' -d 'Passphrase file for a protected key file.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" passphrase-command' -l 'passphrase-command' -d 'A shell command that prints a protected key file\'s passphrase.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" to' -l 'to' -d 'Output directory (new or empty).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" rev' -l 'rev' -d 'Revision (default: the main branch).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync decrypt" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync fsck" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync fsck" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync fsck" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync key" -eq 1' -fa 'export' -d 'Print a capability string for another machine (it is a secret, except --verify-only).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync key" -eq 1' -fa 'passwd' -d 'Change the key file\'s passphrase (atomically: the file opens with the old or the new one at every moment).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync key" -eq 1' -fa 'rotate' -d 'Start a new key epoch, sealed to every device not revoked: what is written from now on uses it (published with a sync pass).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" read-only' -l 'read-only' -d 'Decrypt and verify, never write.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" verify-only' -l 'verify-only' -d 'Verify signatures only (for a server hook or mirror): cannot decrypt.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" recovery' -l 'recovery' -d 'The recovery key: the vault key itself, which decrypts everything and admits a new device when every machine is lost (keep it offline).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" old-passphrase-file' -l 'old-passphrase-file' -d 'File holding the current passphrase (default: the folder\'s passphrase-file or passphrase-command, else asked).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" old-passphrase-command' -l 'old-passphrase-command' -d 'Shell command printing the current passphrase.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" new-passphrase-file' -l 'new-passphrase-file' -d 'File holding the new passphrase (remembered as passphrase-file; default: asked twice).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" new-passphrase-command' -l 'new-passphrase-command' -d 'Shell command printing the new passphrase (remembered as passphrase-command).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" no-new-passphrase' -l 'no-new-passphrase' -d 'Store the key unprotected from now on (only on a machine whose disk is encrypted).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" kdf-profile' -l 'kdf-profile' -d 'Argon2id cost of the new wrapping: moderate (default, 256 MiB) or interactive (64 MiB).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key passwd" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key rotate" reencrypt' -l 'reencrypt' -d 'Also re-encrypt every file of the folder under the new epoch, in the same commit (the history keeps the old versions under the old keys).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key rotate" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key rotate" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync key rotate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync device" -eq 1' -fa 'list' -d 'Every admitted device: name, id, role, who admitted it and when, its last commit.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync device" -eq 1' -fa 'rename' -d 'Give this device a new name (published with a sync pass).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync device" -eq 1' -fa 'invite' -d 'Print a one-time invite another machine joins with (\'join REPO DIR --invite INVITE\'); this machine need not be online then.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync device" -eq 1' -fa 'revoke' -d 'Stop accepting a device\'s signatures (a lost or stolen machine), published with a sync pass.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device list" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device list" json' -l 'json' -d 'Machine-readable output.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device list" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device rename" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device rename" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device rename" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" read-only' -l 'read-only' -d 'The new device may read, never write.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" name' -l 'name' -d 'The name the new device takes unless it gives its own.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" expires-hours' -l 'expires-hours' -d 'Hours the invite stays usable (default 72, at most 8760: a year).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device invite" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device revoke" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device revoke" json' -l 'json' -d 'Machine-readable output (holds_vault_key: whether the device keeps reading new key epochs).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device revoke" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync device revoke" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync run" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync run" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync pause" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync pause" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync pause" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resume" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resume" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resume" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync trust-host" fingerprint' -l 'fingerprint' -d 'The fingerprint you checked (SHA256:...): no question asked, refused if the server shows another.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync trust-host" known-hosts' -l 'known-hosts' -d 'The known_hosts file to add to (default ~/.ssh/known_hosts).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync trust-host" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync trust-host" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync config" -eq 1' -fa 'get' -d 'Print one setting (exit 1 when unset).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync config" -eq 1' -fa 'set' -d 'Change one setting (an empty value removes an optional one). Secrets only by file.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_positional "shadowsync config" -eq 1' -fa 'list' -d 'Every setting of the folder, and what each key means.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config get" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config get" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config get" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config set" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config set" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config set" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config list" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config list" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync config list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync doctor" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync doctor" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync doctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync verify-push" key-file' -l 'key-file' -d 'A file holding the capability string (verify-only is enough).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync verify-push" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync verify-push" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync selfcheck" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync selfcheck" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync repair" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync repair" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync repair" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resync" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resync" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync resync" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync ui" listen' -l 'listen' -d 'Loopback address and port to listen on (port 0: any free port).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync ui" open' -l 'open' -d 'Open the page in the default browser (xdg-open).'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync ui" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync ui" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" keep-within' -l 'keep-within' -d 'Keep the commits made within this long before now (e.g. 90d, 12h, 30m).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" keep-last' -l 'keep-last' -d 'Keep the newest N commits of the main line.' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" yes' -l 'yes' -d 'Do it without asking.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" folder' -l 'folder' -d 'The synced folder (default: the one containing the current directory).' -rfka ''
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" version' -l 'version' -d 'Show the version.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync forget" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'shadowsync' -n '__shadowsync_should_offer_completions_for_flags_or_options "shadowsync help" version' -l 'version' -d 'Show the version.'
