#!/bin/bash

__shadowsync_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__shadowsync_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__shadowsync_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__shadowsync_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_shadowsync() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __shadowsync_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|join|sync|status|log|restore|show|diff|conflicts|decrypt|fsck|key|device|run|pause|resume|trust-host|config|doctor|verify-push|selfcheck|repair|resync|ui|forget|help)
        # Offer subcommand argument completions
        "_shadowsync_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init join sync status log restore show diff conflicts decrypt fsck key device run pause resume trust-host config doctor verify-push selfcheck repair resync ui forget help' -- "${cur}"))
        ;;
    esac
}

_shadowsync_init() {
    repeating_flags=()
    non_repeating_flags=(--no-passphrase --version -h --help)
    repeating_options=()
    non_repeating_options=(--remote --shadow --device-name --passphrase-file --passphrase-command --kdf-profile --ssh-key --ssh-key-passphrase-file --known-hosts --accept-host-key)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--remote')
        return
        ;;
    '--shadow')
        return
        ;;
    '--device-name')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--passphrase-command')
        return
        ;;
    '--kdf-profile')
        return
        ;;
    '--ssh-key')
        return
        ;;
    '--ssh-key-passphrase-file')
        return
        ;;
    '--known-hosts')
        return
        ;;
    '--accept-host-key')
        return
        ;;
    esac
}

_shadowsync_join() {
    repeating_flags=()
    non_repeating_flags=(--prefer-local --prefer-remote --no-passphrase --version -h --help)
    repeating_options=(--config)
    non_repeating_options=(--key --key-file --invite --invite-file --shadow --device-name --passphrase-file --passphrase-command --kdf-profile --ssh-key --ssh-key-passphrase-file --known-hosts --accept-host-key)
    __shadowsync_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--key')
        return
        ;;
    '--key-file')
        return
        ;;
    '--invite')
        return
        ;;
    '--invite-file')
        return
        ;;
    '--shadow')
        return
        ;;
    '--device-name')
        return
        ;;
    '--config')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--passphrase-command')
        return
        ;;
    '--kdf-profile')
        return
        ;;
    '--ssh-key')
        return
        ;;
    '--ssh-key-passphrase-file')
        return
        ;;
    '--known-hosts')
        return
        ;;
    '--accept-host-key')
        return
        ;;
    esac
}

_shadowsync_sync() {
    repeating_flags=()
    non_repeating_flags=(--allow-mass-delete --accept-fork --replace-refused --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_status() {
    repeating_flags=()
    non_repeating_flags=(--all --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_log() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder --limit)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_shadowsync_restore() {
    repeating_flags=()
    non_repeating_flags=(--here --version -h --help)
    repeating_options=()
    non_repeating_options=(--at --to --folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--at')
        return
        ;;
    '--to')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_show() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--at --folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--at')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_diff() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--at --folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--at')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_conflicts() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_decrypt() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--key --key-file --passphrase-file --passphrase-command --to --rev)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--key')
        return
        ;;
    '--key-file')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--passphrase-command')
        return
        ;;
    '--to')
        return
        ;;
    '--rev')
        return
        ;;
    esac
}

_shadowsync_fsck() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_key() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __shadowsync_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    export|passwd|rotate)
        # Offer subcommand argument completions
        "_shadowsync_key_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'export passwd rotate' -- "${cur}"))
        ;;
    esac
}

_shadowsync_key_export() {
    repeating_flags=()
    non_repeating_flags=(--read-only --verify-only --recovery --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_key_passwd() {
    repeating_flags=()
    non_repeating_flags=(--no-new-passphrase --version -h --help)
    repeating_options=()
    non_repeating_options=(--old-passphrase-file --old-passphrase-command --new-passphrase-file --new-passphrase-command --kdf-profile --folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--old-passphrase-file')
        return
        ;;
    '--old-passphrase-command')
        return
        ;;
    '--new-passphrase-file')
        return
        ;;
    '--new-passphrase-command')
        return
        ;;
    '--kdf-profile')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_key_rotate() {
    repeating_flags=()
    non_repeating_flags=(--reencrypt --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_device() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __shadowsync_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|rename|invite|revoke)
        # Offer subcommand argument completions
        "_shadowsync_device_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list rename invite revoke' -- "${cur}"))
        ;;
    esac
}

_shadowsync_device_list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_device_rename() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_device_invite() {
    repeating_flags=()
    non_repeating_flags=(--read-only --version -h --help)
    repeating_options=()
    non_repeating_options=(--name --expires-hours --folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--name')
        return
        ;;
    '--expires-hours')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_device_revoke() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_run() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_pause() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_resume() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_trust-host() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--fingerprint --known-hosts)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--fingerprint')
        return
        ;;
    '--known-hosts')
        return
        ;;
    esac
}

_shadowsync_config() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __shadowsync_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    get|set|list)
        # Offer subcommand argument completions
        "_shadowsync_config_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'get set list' -- "${cur}"))
        ;;
    esac
}

_shadowsync_config_get() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_config_set() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_config_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_doctor() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_verify-push() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--key-file)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--key-file')
        return
        ;;
    esac
}

_shadowsync_selfcheck() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __shadowsync_offer_flags_options 0
}

_shadowsync_repair() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_resync() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--folder)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--folder')
        return
        ;;
    esac
}

_shadowsync_ui() {
    repeating_flags=()
    non_repeating_flags=(--open --version -h --help)
    repeating_options=()
    non_repeating_options=(--listen)
    __shadowsync_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--listen')
        return
        ;;
    esac
}

_shadowsync_forget() {
    repeating_flags=()
    non_repeating_flags=(--yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--keep-within --keep-last --folder)
    __shadowsync_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--keep-within')
        return
        ;;
    '--keep-last')
        return
        ;;
    '--folder')
        return
        ;;
    esac
}

_shadowsync_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __shadowsync_offer_flags_options -1
}

complete -o filenames -F _shadowsync shadowsync
