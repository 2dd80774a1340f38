#!/bin/bash
# man/*.scd: each page builds with scdoc, renders with `man -l`, has the sections a reader looks
# for, and documents every command-line option of its program.
source "$(dirname "$0")/lib.sh"

declare -A sections=(
    [agentd.8]="NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS FILES EXIT STATUS"
    [agentctl.1]="NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS EXIT STATUS"
    [agent.yaml.5]="NAME SYNOPSIS DESCRIPTION TOP LEVEL STACKS REGISTRIES"
)
declare -A words=(
    [agentd.8]="--config --once --check-config --log-level --help --version SIGHUP SIGTERM Type=notify"
    [agentctl.1]="--socket --json AGENTD_SOCKET status history show sync --wait watch rollback --to pause resume reload config --limit"
    [agent.yaml.5]="state_dir api.socket defaults registries stacks"
)

for page in agentd.8 agentctl.1 agent.yaml.5; do
    source_file=$ship_root/man/$page.scd
    built=$ship_tmp/$page
    if ! scdoc <"$source_file" >"$built" 2>"$ship_tmp/scdoc.err"; then
        fail "scdoc $page.scd: $(cat "$ship_tmp/scdoc.err")"
        continue
    fi
    pass "scdoc builds $page"
    text=$(MANWIDTH=80 man -l "$built" 2>"$ship_tmp/man.err")
    if [[ -s $ship_tmp/man.err ]]; then
        fail "man -l $page warns: $(head -3 "$ship_tmp/man.err")"
    fi
    name=${page%.*}
    if printf '%s\n' "$text" | head -1 | grep -q "^$name(${page##*.})"; then
        pass "man -l $page renders with the header $name(${page##*.})"
    else
        fail "man -l $page: no header $name(${page##*.})"
    fi
    for heading in ${sections[$page]}; do
        # Multi-word headings (EXIT STATUS, TOP LEVEL) are checked word by word at line start.
        if printf '%s\n' "$text" | grep -Eq "^${heading}( |$)|^[A-Z]+ ${heading}$"; then
            pass "$page has section $heading"
        else
            fail "$page lacks section $heading"
        fi
    done
    for word in ${words[$page]}; do
        if printf '%s\n' "$text" | grep -qF -- "$word"; then
            pass "$page mentions $word"
        else
            fail "$page does not mention $word"
        fi
    done
    # Lines wider than MANWIDTH mean a code block that will be cut on a terminal.
    if printf '%s\n' "$text" | awk 'length($0) > 80 { bad = 1 } END { exit !bad }'; then
        fail "$page has lines wider than 80 columns"
    else
        pass "$page fits 80 columns"
    fi
done

# Every option the built programs accept is documented (when the build has them).
documents_options() {
    local page=$1 missing="" option
    shift
    for option in $("$@" 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -qF -- "*$option*" "$ship_root/man/$page.scd" || missing+=" $option"
    done
    if [[ -z $missing ]]; then
        pass "$page documents every option of '${*##*/}'"
    else
        fail "$page does not document:$missing (from ${*##*/})"
    fi
}
if [[ -x $ship_build/agentd && -x $ship_build/agentctl ]]; then
    documents_options agentd.8 "$ship_build/agentd" --help
    documents_options agentctl.1 "$ship_build/agentctl" --help
    for command in $("$ship_build/agentctl" --help | sed -n '/^Subcommands:/,$p' |
        awk 'NR > 1 && NF { print $1 }'); do
        documents_options agentctl.1 "$ship_build/agentctl" "$command" --help
        if grep -Eq "^\*(.*\*)?$command[* ]" "$ship_root/man/agentctl.1.scd"; then
            pass "agentctl.1 documents the command $command"
        else
            fail "agentctl.1 does not document the command $command"
        fi
    done
else
    echo "note: no agentd/agentctl in $ship_build: options not compared with --help"
fi

# The meson build makes the same pages (man/meson.build, used by the top-level meson.build).
if grep -q "subdir('man')" "$ship_root/meson.build"; then
    if [[ -f $ship_build/build.ninja ]] && ninja -C "$ship_build" >/dev/null 2>&1 &&
        [[ -s $ship_build/man/agentd.8 && -s $ship_build/man/agentctl.1 &&
            -s $ship_build/man/agent.yaml.5 ]]; then
        pass "meson builds the three man pages into $ship_build/man"
    else
        fail "meson did not build the man pages into $ship_build/man"
    fi
else
    echo "note: meson.build has no subdir('man') yet; man/meson.build is checked by package.sh"
fi
finish
