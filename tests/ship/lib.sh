# Shared by the tests in tests/ship/: PASS/FAIL lines and the paths of the tree.
# A test sources this file, calls pass/fail (or check) for each assertion and ends with finish,
# which exits 1 when anything failed.

ship_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The build with agentd and agentctl (scripts/test sets it; default: build/ in the tree).
ship_build=${AGENTD_BUILD_DIR:-$ship_root/build}
ship_failures=0

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    ship_failures=$((ship_failures + 1))
}
# check DESCRIPTION COMMAND...: PASS when the command exits 0, else FAIL with its output.
check() {
    local description=$1 output
    shift
    if output=$("$@" 2>&1); then
        pass "$description"
    else
        fail "$description"
        printf '%s\n' "$output" | sed 's/^/    /' | head -40
    fi
}
# verify_unit DIR UNIT [MANPATH]: PASS when `systemd-analyze verify` of DIR/UNIT exits 0 and
# prints nothing (it checks that ExecStart's program exists and that the Documentation= man pages
# open with man: MANPATH names where they are when they are not installed).
verify_unit() {
    local dir=$1 unit=$2 manpath=${3:-} output rc shown=$1/$2
    [[ $dir == "$ship_tmp"/* ]] && shown=$unit
    output=$(cd "$dir" && if [[ -n $manpath ]]; then
        MANPATH=$manpath systemd-analyze verify "./$unit" 2>&1
    else
        systemd-analyze verify "./$unit" 2>&1
    fi)
    rc=$?
    if [[ $rc -eq 0 && -z $output ]]; then
        pass "systemd-analyze verify $shown: clean"
    else
        fail "systemd-analyze verify $shown (exit $rc)"
        printf '%s\n' "$output" | sed 's/^/    /'
    fi
}
finish() {
    exit $((ship_failures > 0 ? 1 : 0))
}

# A temporary directory removed when the test exits.
ship_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ship-test.XXXXXX")
trap 'rm -rf "$ship_tmp"' EXIT
