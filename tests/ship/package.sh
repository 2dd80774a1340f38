#!/bin/bash
# debian/ (dpkg-buildpackage -b with debhelper, through packaging/build-deb): the .deb builds
# from the tree, installs with dpkg, puts every file where Debian and systemd look (completion
# for bash, zsh and fish included), validates its example configuration with the installed
# agentd, keeps the admin's configuration (conffile) on upgrade and remove, and leaves nothing
# behind after purge.
#
# Installs and purges the package "agentd" on this machine: it refuses to run when agentd is
# installed already or /var/lib/agentd exists, so that it never destroys a real installation.
# The test build ($AGENTD_BUILD_DIR) is packaged; $AGENTD_DEB_BUILD_DIR names another one
# (configured with --prefix=/usr --sysconfdir=/etc, as scripts/build does).
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
    fail "package.sh installs a package: run it as root"
    finish
fi
if dpkg-query -W agentd >/dev/null 2>&1 || [[ -e /var/lib/agentd ]]; then
    fail "agentd is installed (or /var/lib/agentd exists) on this machine: not touching it"
    finish
fi

# The test build (prefix /usr, scripts/build) is reused: a second build would double the time.
build_dir=${AGENTD_DEB_BUILD_DIR:-$ship_build}
# No agentd-dbgsym package: nothing here looks at it, and making it takes half a minute.
if ! deb=$(DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
    "$ship_root/packaging/build-deb" --build-dir "$build_dir" --output "$ship_tmp" \
    2>"$ship_tmp/build.err" | tail -1) || [[ ! -f $deb ]]; then
    fail "packaging/build-deb failed: $(tail -5 "$ship_tmp/build.err")"
    finish
fi
pass "dpkg-buildpackage -b built $(basename "$deb")"
trap 'dpkg -P agentd >/dev/null 2>&1; rm -rf "$ship_tmp"' EXIT

control=$(dpkg-deb -f "$deb")
for field in 'Package: agentd' 'Depends: .*libc6' 'Recommends: docker.io | docker-ce, docker-compose | docker-compose-plugin'; do
    if grep -q "^$field" <<<"$control"; then
        pass "control has $field"
    else
        fail "control lacks $field"
    fi
done
if [[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == /etc/agentd/agent.yaml ]]; then
    pass "the only conffile is /etc/agentd/agent.yaml"
else
    fail "conffiles: $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | xargs)"
fi

check "dpkg -i installs it" dpkg -i "$deb"
files=(/usr/sbin/agentd /usr/bin/agentctl /lib/systemd/system/agentd.service
    /lib/systemd/system/agentd.socket /etc/agentd/agent.yaml /usr/share/man/man8/agentd.8.gz
    /usr/share/man/man1/agentctl.1.gz /usr/share/man/man5/agent.yaml.5.gz
    /usr/share/bash-completion/completions/agentctl /usr/share/zsh/vendor-completions/_agentctl
    /usr/share/fish/vendor_completions.d/agentctl.fish /usr/share/agentd/agent.schema.json
    /usr/share/agentd/sigstore/trusted_root.json /usr/share/doc/agentd/copyright
    /usr/share/doc/agentd/changelog.gz)
for file in "${files[@]}"; do
    if [[ -f $file ]] && dpkg -S "$file" 2>/dev/null | grep -q '^agentd:'; then
        pass "installed $file"
    else
        fail "not installed by the package: $file"
    fi
done
# The default of verify.cosign.trusted_root is the tree's copy, byte for byte (not a conffile:
# a new package brings Sigstore's rotated keys).
check "the installed Sigstore trusted root is config/sigstore/trusted_root.json" \
    cmp /usr/share/agentd/sigstore/trusted_root.json "$ship_root/config/sigstore/trusted_root.json"
[[ -x /usr/sbin/agentd && -x /usr/bin/agentctl ]] && pass "agentd and agentctl are executable" ||
    fail "agentd or agentctl is not executable"
check "postinst created the group agentd" getent group agentd
# One version everywhere: meson.build's project version names the package and both programs.
deb_version=$(dpkg-deb -f "$deb" Version)
for program in /usr/sbin/agentd /usr/bin/agentctl; do
    said=$("$program" --version 2>&1)
    if [[ $said == "$(basename "$program") $deb_version" ]]; then
        pass "$program --version says the package's version $deb_version"
    else
        fail "$program --version says \"$said\", the package is $deb_version"
    fi
done
check "the installed agentd accepts the installed example" \
    /usr/sbin/agentd --check-config --config /etc/agentd/agent.yaml
check "man finds agentd(8) where it is installed" man -w 8 agentd
if MANWIDTH=80 man 5 agent.yaml 2>/dev/null | grep -q '^TOP LEVEL'; then
    pass "man 5 agent.yaml renders"
else
    fail "man 5 agent.yaml does not render"
fi
check "the installed completion registers for agentctl" bash -c \
    'source /usr/share/bash-completion/completions/agentctl && complete -p agentctl'

# Every shared library the binaries link directly (NEEDED; the libraries those need are their
# packages' business) comes from a package named in Depends.
depends_names=$(dpkg-query -W -f='${Depends}' agentd | tr ',|' '\n\n' | awk '{ print $1 }')
missing=""
for binary in /usr/sbin/agentd /usr/bin/agentctl; do
    for soname in $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        lib=$(ldd "$binary" | awk -v so="$soname" '$1 == so && $3 ~ /^\// { print $3 }')
        [[ -z $lib ]] && continue  # the dynamic loader itself
        # With merged /usr, dpkg may know the file under /lib or /usr/lib, by link or target.
        package=""
        for path in "$lib" "$(realpath "$lib")"; do
            for candidate in "$path" "${path#/usr}" "/usr${path}"; do
                [[ -z $package ]] &&
                    package=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1)
            done
        done
        if [[ -z $package ]]; then
            missing+=" (no package owns $lib)"
        else
            # A dependency may name a virtual package the library's package provides
            # (libspdlog1.10 provides libspdlog1.10-fmt9, which its shlibs file names).
            names=$(printf '%s\n' "$package"
                dpkg-query -W -f='${Provides}' "$package" | tr ',' '\n' | awk '{ print $1 }')
            grep -qxFf <(grep . <<<"$names") <<<"$depends_names" ||
                missing+=" $package($soname)"
        fi
    done
done
if [[ -z $missing ]]; then
    pass "Depends names the package of every library agentd and agentctl link"
else
    fail "Depends ($(dpkg-query -W -f='${Depends}' agentd)) lacks:$missing"
fi

# The admin's configuration survives a reinstall and a remove; purge takes it.
echo "# changed by the admin" >>/etc/agentd/agent.yaml
dpkg -i "$deb" </dev/null >/dev/null 2>&1
if tail -1 /etc/agentd/agent.yaml | grep -q 'changed by the admin'; then
    pass "reinstalling keeps the admin's changes to /etc/agentd/agent.yaml"
else
    fail "reinstalling replaced the admin's /etc/agentd/agent.yaml"
fi
mkdir -p /var/lib/agentd && touch /var/lib/agentd/state.db
check "dpkg -r removes it" dpkg -r agentd
gone=""
for file in "${files[@]}"; do
    [[ $file == /etc/* ]] && continue
    [[ -e $file ]] && gone+=" $file"
done
[[ -z $gone ]] && pass "dpkg -r removed the program files" || fail "dpkg -r left:$gone"
if [[ -f /etc/agentd/agent.yaml ]] && dpkg-query -W -f='${Status}' agentd | grep -q config-files; then
    pass "dpkg -r keeps the conffile /etc/agentd/agent.yaml"
else
    fail "dpkg -r did not keep /etc/agentd/agent.yaml"
fi
check "dpkg -P purges it" dpkg -P agentd
if [[ ! -e /etc/agentd/agent.yaml && ! -e /etc/agentd && ! -e /var/lib/agentd ]] &&
    ! dpkg-query -W agentd >/dev/null 2>&1; then
    pass "dpkg -P removed /etc/agentd, /var/lib/agentd and the package's record"
else
    fail "dpkg -P left: $(ls -d /etc/agentd /var/lib/agentd 2>/dev/null | xargs)"
fi
finish
