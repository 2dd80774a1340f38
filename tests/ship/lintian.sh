#!/bin/bash
# debian/: `dpkg-buildpackage -b` (through packaging/build-deb, from the test build) makes a
# package that lintian passes without any error or warning, on the .deb, the .buildinfo and the
# .changes. An override must say why (a comment line above it in debian/*lintian-overrides).
# The source tree and its parent directory are left as they were.
source "$(dirname "$0")/lib.sh"

if ! command -v lintian >/dev/null; then
    fail "lintian is not installed (scripts/setup installs it)"
    finish
fi

# The test build (prefix /usr, scripts/build) is packaged, as in package.sh: no second compile.
build_dir=${AGENTD_DEB_BUILD_DIR:-$ship_build}
status_before=$(git -C "$ship_root" status --porcelain 2>/dev/null)
# What dpkg-buildpackage writes next to a tree it builds in (agentd_*.deb, .changes, ...): only
# those names, since other programs may write in a parent such as /tmp meanwhile.
package_files() { find "$ship_root/.." -maxdepth 1 -name 'agentd[_-]*' -printf '%f\n' | sort; }
parent_before=$(package_files)
# No agentd-dbgsym package: nothing here looks at it, and making it takes half a minute.
if ! deb=$(DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
    "$ship_root/packaging/build-deb" --build-dir "$build_dir" --output "$ship_tmp/out" \
    2>"$ship_tmp/build.err" | tail -1) || [[ ! -f $deb ]]; then
    fail "packaging/build-deb failed: $(tail -5 "$ship_tmp/build.err")"
    finish
fi
pass "dpkg-buildpackage -b built $(basename "$deb")"
changes=("$ship_tmp"/out/*.changes)
if [[ -f ${changes[0]} ]] && ls "$ship_tmp"/out/*.buildinfo >/dev/null 2>&1; then
    pass "it wrote $(basename "${changes[0]}") and a .buildinfo"
else
    fail "no .changes or .buildinfo in: $(cd "$ship_tmp/out" && echo *)"
fi
if [[ $(git -C "$ship_root" status --porcelain 2>/dev/null) == "$status_before" &&
    $(package_files) == "$parent_before" ]]; then
    pass "the source tree and its parent directory are unchanged"
else
    fail "building changed the tree or its parent: $(git -C "$ship_root" status --porcelain | xargs)" \
        "$(comm -13 <(echo "$parent_before") <(package_files) | xargs)"
fi

# The .changes names the .deb and the .buildinfo: lintian checks all three. It exits non-zero
# for an error tag, and when it could not check.
lintian --tag-display-limit 0 --display-level '>=warning' --show-overrides "${changes[@]}" \
    >"$ship_tmp/lintian.out" 2>"$ship_tmp/lintian.err"
status=$?
if grep -q '^[EW]: ' "$ship_tmp/lintian.out"; then
    fail "lintian reports errors or warnings:"
    grep '^[EW]: ' "$ship_tmp/lintian.out" | sed 's/^/    /'
elif ((status != 0)); then
    fail "lintian could not check the package (exit $status): $(tail -5 "$ship_tmp/lintian.err")"
else
    pass "lintian reports no error and no warning"
fi
if grep -q '^O: ' "$ship_tmp/lintian.out"; then
    echo "note: overridden:"
    grep '^O: ' "$ship_tmp/lintian.out" | sed 's/^/    /'
fi

# Every override says why: a comment right above each entry.
for overrides in "$ship_root"/debian/*lintian-overrides "$ship_root"/debian/source/lintian-overrides; do
    [[ -f $overrides ]] || continue
    uncommented=$(awk '/^[^#[:space:]]/ && previous !~ /^#/ { print FILENAME ":" FNR ": " $0 }
        { previous = $0 }' "$overrides")
    if [[ -z $uncommented ]]; then
        pass "every entry of ${overrides#"$ship_root"/} has a comment saying why"
    else
        fail "overrides without a comment: $uncommented"
    fi
done
finish
