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
finish() {
    exit $((ship_failures > 0 ? 1 : 0))
}

# A temporary directory removed when the test exits.
ship_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ship-test.XXXXXX")
trap 'rm -rf "$ship_tmp"' EXIT
