#!/bin/bash
# The package's life on a host, on the real engine: the package of the previous release is
# installed, the admin edits /etc/agentd/agent.yaml, agentd deploys a stack (two releases);
# the package of this tree replaces it (apt-get install ./new.deb): the configuration is the
# admin's, state.db is the same file at this tree's schema version, the history is the same, the
# stack's container was not restarted and the new agentd redeploys nothing; `apt-get remove`
# keeps configuration and state, `apt-get purge` removes them.
#
# "The previous release" is the commit $AGENTD_LIFECYCLE_OLD_REV (default: the first commit
# with debian/), built by tests/ship/build-old-deb with its own debian/ and a version below this
# tree's (several minutes: AGENTD_LIFECYCLE_OLD_DEB=PATH uses a .deb built before). The package
# of this tree is the test build ($AGENTD_BUILD_DIR) packaged by packaging/build-deb, as
# package.sh does.
#
# systemd is not PID 1 here, so agentd is started by hand as agentd.service would run it (root,
# group agentd, HOME and state in /var/lib/agentd, the API socket in /run/agentd), and what the
# maintainer scripts ask of systemd is recorded: deb-systemd-helper, deb-systemd-invoke and
# systemctl are wrapped by logging scripts first in the PATH apt-get gives dpkg (DPkg::Path), and
# /run/systemd/system (the maintainer scripts' "systemd is running" test) exists during each
# dpkg run. deb-systemd-helper then runs for real (its state under /var/lib/systemd must be gone
# after purge); deb-systemd-invoke and systemctl only log.
#
# Installs and purges the package "agentd": it refuses to run when agentd is installed or
# /etc/agentd, /var/lib/agentd or /run/agentd exist. Needs the Docker engine and the test
# registry (scripts/services: AGENTD_TEST_REGISTRY).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

old_rev=${AGENTD_LIFECYCLE_OLD_REV:-47ff3807ba995b7b7224d41090c209905a5219df}
stack=lifecycle$$
socket=/run/agentd/api.sock
config=/etc/agentd/agent.yaml
state_db=/var/lib/agentd/state.db
systemd_log=$ship_tmp/systemd-calls.log
agentd_log=$ship_tmp/agentd.log
agentd_pid=""

# die MESSAGE: one FAIL line, and the test ends (the trap cleans up).
die() {
    fail "$*"
    finish
}

if [[ $(id -u) -ne 0 ]]; then
    die "lifecycle.sh installs a package: run it as root"
fi
if dpkg-query -W agentd >/dev/null 2>&1 || [[ -e /etc/agentd || -e /var/lib/agentd || -e /run/agentd ]]; then
    die "agentd is installed (or /etc/agentd, /var/lib/agentd or /run/agentd exists) on this machine: not touching it"
fi
[[ -n ${AGENTD_TEST_REGISTRY:-} ]] ||
    die "AGENTD_TEST_REGISTRY is not set (scripts/services, then source its env file)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer"
group_existed=0
getent group agentd >/dev/null && group_existed=1
fake_systemd_dir=0

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    [[ -n $agentd_pid ]] && kill -KILL "$agentd_pid" 2>/dev/null
    ((fake_systemd_dir)) && rmdir /run/systemd/system 2>/dev/null
    dpkg -P agentd >/dev/null 2>&1
    rm -rf /etc/agentd /var/lib/agentd /run/agentd
    docker ps -aq --filter "label=com.docker.compose.project=$stack" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$stack" |
        xargs -r docker network rm >/dev/null 2>&1
    docker images -q --filter "reference=$AGENTD_TEST_REGISTRY/$stack/*" | sort -u |
        xargs -r docker rmi -f >/dev/null 2>&1
    ((group_existed)) || delgroup --system --quiet agentd 2>/dev/null
    rm -rf "$ship_tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# The two packages

if [[ -n ${AGENTD_LIFECYCLE_OLD_DEB:-} ]]; then
    old_deb=$AGENTD_LIFECYCLE_OLD_DEB
    [[ -f $old_deb ]] || die "AGENTD_LIFECYCLE_OLD_DEB=$old_deb is not a file"
else
    git -C "$ship_root" cat-file -e "$old_rev^{commit}" 2>/dev/null ||
        die "commit $old_rev (the previous release) is not in this clone (a shallow clone?)"
    started=$SECONDS
    if ! old_deb=$("$ship_root/tests/ship/build-old-deb" "$old_rev" "$ship_tmp/old" \
        2>"$ship_tmp/old-build.err" | tail -1) || [[ ! -f $old_deb ]]; then
        die "tests/ship/build-old-deb $old_rev failed: $(tail -5 "$ship_tmp/old-build.err")"
    fi
    echo "built the previous release's package in $((SECONDS - started)) s"
fi
pass "the previous release's package: $(basename "$old_deb")"
if ! new_deb=$(DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
    "$ship_root/packaging/build-deb" --build-dir "${AGENTD_DEB_BUILD_DIR:-$ship_build}" \
    --output "$ship_tmp/new" 2>"$ship_tmp/new-build.err" | tail -1) || [[ ! -f $new_deb ]]; then
    die "packaging/build-deb failed: $(tail -5 "$ship_tmp/new-build.err")"
fi
old_version=$(dpkg-deb -f "$old_deb" Version)
new_version=$(dpkg-deb -f "$new_deb" Version)
if dpkg --compare-versions "$old_version" lt "$new_version"; then
    pass "dpkg sorts the previous release $old_version below this tree's $new_version"
else
    die "the previous release $old_version does not sort below this tree's $new_version"
fi

# ---------------------------------------------------------------------------------------------
# What the maintainer scripts ask of systemd

mkdir -p "$ship_tmp/bin"
for tool in deb-systemd-helper deb-systemd-invoke systemctl; do
    {
        echo '#!/bin/sh'
        echo "echo \"$tool \$*\" >>\"$systemd_log\""
        # deb-systemd-helper keeps the units' enable state in files: it runs for real.
        [[ $tool == deb-systemd-helper ]] && echo 'exec /usr/bin/deb-systemd-helper "$@"'
        echo 'exit 0'
    } >"$ship_tmp/bin/$tool"
    chmod +x "$ship_tmp/bin/$tool"
done

# apt_get PHASE ARGS...: apt-get ARGS as an unattended admin would run it (no questions; a
# changed conffile keeps the admin's version), with systemd's tools recorded under "== PHASE".
apt_get() {
    local phase=$1 rc=0
    shift
    echo "== $phase" >>"$systemd_log"
    if [[ ! -e /run/systemd/system ]]; then
        mkdir /run/systemd/system && fake_systemd_dir=1
    fi
    # apt-get runs dpkg with PATH=DPkg::Path (default /usr/sbin:/usr/bin:/sbin:/bin), not its own.
    DEBIAN_FRONTEND=noninteractive apt-get -y -q \
        -o "DPkg::Path=$ship_tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" \
        </dev/null >"$ship_tmp/$phase.out" 2>&1 || rc=$?
    if ((fake_systemd_dir)); then
        rmdir /run/systemd/system
        fake_systemd_dir=0
    fi
    if ((rc != 0)); then
        fail "apt-get $* ($phase) exited $rc"
        sed 's/^/    /' "$ship_tmp/$phase.out" | tail -20
        return 1
    fi
    pass "apt-get $* ($phase)"
}

# calls PHASE: the lines logged by the wrapped tools during apt_get PHASE.
calls() {
    awk -v phase="== $1" '/^== / { on = ($0 == phase); next } on' "$systemd_log"
}

# expect_call PHASE REGEX WHY / expect_no_call PHASE REGEX WHY
expect_call() {
    if calls "$1" | grep -Eq "$2"; then
        pass "$1: the maintainer scripts ran '$2' ($3)"
    else
        fail "$1: no call matching '$2' ($3); calls: $(calls "$1" | paste -sd ';')"
    fi
}
expect_no_call() {
    if calls "$1" | grep -Eq "$2"; then
        fail "$1: the maintainer scripts ran $(calls "$1" | grep -E "$2" | paste -sd ';') ($3)"
    else
        pass "$1: nothing matching '$2' ($3)"
    fi
}

# ---------------------------------------------------------------------------------------------
# agentd as agentd.service runs it

start_agentd() {
    install -d -m 0700 /var/lib/agentd
    install -d -m 0750 -g agentd /run/agentd
    (cd / && umask 0022 && HOME=/var/lib/agentd exec setpriv --regid agentd --clear-groups -- \
        /usr/sbin/agentd --config "$config") </dev/null >>"$agentd_log" 2>&1 &
    agentd_pid=$!
    local end=$((SECONDS + 30))
    until /usr/bin/agentctl --socket "$socket" status >/dev/null 2>&1; do
        if ! kill -0 "$agentd_pid" 2>/dev/null || ((SECONDS >= end)); then
            fail "agentd ($1) did not answer on $socket within 30 s: $(tail -5 "$agentd_log")"
            return 1
        fi
        sleep 0.2
    done
    pass "agentd $1 answers on $socket"
}

# stop_agentd: SIGTERM, as systemctl stop; it must end within 60 s.
stop_agentd() {
    kill -TERM "$agentd_pid"
    local end=$((SECONDS + 60))
    while kill -0 "$agentd_pid" 2>/dev/null; do
        if ((SECONDS >= end)); then
            fail "agentd did not stop within 60 s of SIGTERM"
            kill -KILL "$agentd_pid"
            break
        fi
        sleep 0.2
    done
    wait "$agentd_pid" 2>/dev/null
    agentd_pid=""
}

ctl() { timeout 150 /usr/bin/agentctl --socket "$socket" "$@"; }
# The deployments as "id status revision" lines, newest first.
history_lines() {
    ctl --json history "$stack" | jq -r '.deployments[] | "\(.id) \(.status) \(.revision)"'
}
# The stack's containers: "id started-at restart-count" lines.
containers() {
    docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$stack" |
        xargs -r docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Status}}' |
        sort
}
schema_version() { sqlite3 "$state_db" 'SELECT MAX(version) FROM schema_migrations'; }

# The stack: a git repository with a compose file naming an image in the test registry.
repo=$ship_tmp/deploy.git
work=$ship_tmp/work
git init -q --bare -b main "$repo"
git init -q -b main "$work"
git -C "$work" config user.name "lifecycle test"
git -C "$work" config user.email "lifecycle@example.invalid"
git -C "$work" config commit.gpgsign false
git -C "$work" remote add origin "$repo"
# release N: the compose file runs worker:N (an idle busybox image); prints the revision.
release() {
    "$ship_root/tests/images/build" worker "$stack/worker:$1" "release $1" >/dev/null \
        2>>"$ship_tmp/images.log" || {
        echo "tests/images/build worker failed: $(tail -3 "$ship_tmp/images.log")" >&2
        return 1
    }
    mkdir -p "$work/stack"
    printf 'services:\n  worker:\n    image: %s\n    restart: always\n' \
        "$AGENTD_TEST_REGISTRY/$stack/worker:$1" >"$work/stack/compose.yaml"
    git -C "$work" add stack/compose.yaml
    git -C "$work" commit -q -m "release $1"
    git -C "$work" push -q origin main
    git -C "$work" rev-parse HEAD
}

# ---------------------------------------------------------------------------------------------
# Install the previous release, configure, deploy

apt_get "install $old_version" install "$old_deb" || finish
expect_no_call "install $old_version" 'deb-systemd-helper enable ' "installing does not enable agentd"
expect_call "install $old_version" 'deb-systemd-helper update-state agentd.service' \
    "deb-systemd-helper learns the units, so that purge can remove what they leave"
expect_call "install $old_version" 'deb-systemd-invoke start agentd\.service agentd\.socket' \
    "postinst asks to start the units: deb-systemd-invoke starts only enabled ones"
# deb-systemd-invoke asks `systemctl is-enabled`, which reads the unit files without systemd.
enabled_state() { systemctl --root=/ is-enabled agentd.service agentd.socket 2>&1 | paste -sd ' '; }
if [[ $(enabled_state) == "disabled disabled" ]]; then
    pass "agentd.service and agentd.socket are disabled after install: nothing starts them"
else
    fail "systemctl is-enabled agentd.service agentd.socket after install: $(enabled_state)"
fi
check "postinst: the group agentd exists" getent group agentd
[[ -f $config ]] || die "the previous release installed no $config"

cat >"$config" <<YAML
# agent.yaml of the lifecycle test (the admin's edit)
state_dir: /var/lib/agentd
api:
  socket: $socket
stacks:
  - name: $stack
    git:
      url: file://$repo
      path: stack
      branch: main
    poll_interval: 1h
    health:
      timeout: 30s
      stable: 2s
YAML
cp "$config" "$ship_tmp/agent.yaml.admin"

rev1=$(release 1) || die "release 1 could not be made"
start_agentd "$old_version" || finish
ctl sync "$stack" --wait >"$ship_tmp/sync1.out" 2>&1 || die "release 1 did not deploy: $(cat "$ship_tmp/sync1.out")"
rev2=$(release 2) || die "release 2 could not be made"
ctl sync "$stack" --wait >"$ship_tmp/sync2.out" 2>&1 || die "release 2 did not deploy: $(cat "$ship_tmp/sync2.out")"
history_before=$(history_lines)
if [[ $(wc -l <<<"$history_before") == 2 ]] && grep -q " succeeded $rev2\$" <<<"$history_before" &&
    grep -q " superseded $rev1\$" <<<"$history_before"; then
    pass "the previous release deployed release 1, then release 2"
else
    die "history under the previous release: $history_before"
fi
stop_agentd
containers_before=$(containers)
[[ $(wc -l <<<"$containers_before") == 1 && $containers_before == *" running" ]] ||
    die "the stack's container before the upgrade: $containers_before"
schema_before=$(schema_version)
inode_before=$(stat -c %i "$state_db")

# ---------------------------------------------------------------------------------------------
# Upgrade to this tree's package

apt_get "upgrade to $new_version" install "$new_deb" || finish
if [[ $(dpkg-query -W -f='${Version}' agentd) == "$new_version" ]]; then
    pass "agentd $new_version is installed"
else
    fail "the upgrade did not install $new_version"
fi
if [[ $(/usr/sbin/agentd --version 2>&1) == "agentd $new_version" ]]; then
    pass "/usr/sbin/agentd is this tree's"
else
    fail "/usr/sbin/agentd --version: $(/usr/sbin/agentd --version 2>&1)"
fi
check "the upgrade kept the admin's $config byte for byte" cmp "$config" "$ship_tmp/agent.yaml.admin"
example() { dpkg-deb --fsys-tarfile "$1" | tar -xO ./etc/agentd/agent.yaml; }
if cmp -s <(example "$old_deb") <(example "$new_deb"); then
    if [[ -z $(find /etc/agentd -name 'agent.yaml.dpkg-*') ]]; then
        pass "the example agent.yaml is the same in both packages: no conffile question, no .dpkg-* file"
    else
        fail "unchanged example, yet the upgrade left $(find /etc/agentd -name 'agent.yaml.dpkg-*')"
    fi
elif cmp -s /etc/agentd/agent.yaml.dpkg-dist <(example "$new_deb"); then
    pass "the new example agent.yaml waits in agent.yaml.dpkg-dist (--force-confold kept the admin's)"
else
    fail "the example changed but /etc/agentd/agent.yaml.dpkg-dist is not the new one"
fi
expect_no_call "upgrade to $new_version" 'deb-systemd-invoke (stop|restart|try-restart)' \
    "the upgrade neither stops nor restarts agentd (--no-stop-on-upgrade)"
expect_call "upgrade to $new_version" 'deb-systemd-invoke start agentd\.service agentd\.socket' \
    "postinst's start leaves a running agentd running and starts only enabled units"
expect_no_call "upgrade to $new_version" 'deb-systemd-helper enable ' "the upgrade does not enable agentd"
if [[ $(enabled_state) == "disabled disabled" ]]; then
    pass "agentd.service and agentd.socket are still disabled after the upgrade"
else
    fail "systemctl is-enabled agentd.service agentd.socket after the upgrade: $(enabled_state)"
fi
echo "    upgrade asked systemd: $(calls "upgrade to $new_version" | paste -sd ';')"

# The units as installed, with the installed agentd and man pages.
for unit in agentd.service agentd.socket; do
    verify_unit /lib/systemd/system "$unit"
done
if [[ $(stat -c %i "$state_db") == "$inode_before" ]]; then
    pass "state.db is the same file after the upgrade"
else
    fail "the upgrade replaced state.db"
fi
start_agentd "$new_version" || finish
head_schema=$(grep -c '^ *Migration{[0-9]' "$ship_root/agent/state/sqlite_migrations.cpp")
schema_after=$(schema_version)
if [[ $schema_after == "$head_schema" ]]; then
    pass "state.db is at this tree's schema version $head_schema (the previous release's: $schema_before)"
else
    fail "state.db schema version $schema_after after the upgrade, this tree's is $head_schema"
fi
check "sqlite3 PRAGMA integrity_check: ok" bash -c "[[ \$(sqlite3 '$state_db' 'PRAGMA integrity_check') == ok ]]"
history_after=$(history_lines)
if [[ $history_after == "$history_before" ]]; then
    pass "agentctl history lists the previous release's deployments unchanged"
else
    fail "history after the upgrade: $history_after; before: $history_before"
fi
ctl sync "$stack" --wait >"$ship_tmp/sync3.out" 2>&1 ||
    fail "a sync under $new_version failed: $(cat "$ship_tmp/sync3.out")"
if [[ $(history_lines) == "$history_before" ]]; then
    pass "the new agentd deploys nothing new for the running release"
else
    fail "history after a sync under $new_version: $(history_lines)"
fi
if [[ $(containers) == "$containers_before" ]]; then
    pass "the stack's container has the same id, StartedAt and RestartCount after the upgrade"
else
    fail "the stack's container changed: before $containers_before; after $(containers)"
fi
stop_agentd

# ---------------------------------------------------------------------------------------------
# Remove, purge

apt_get remove remove agentd || finish
expect_call remove 'deb-systemd-invoke stop agentd\.service agentd\.socket' "prerm stops agentd"
if [[ ! -e /usr/sbin/agentd && ! -e /usr/bin/agentctl && ! -e /lib/systemd/system/agentd.service ]]; then
    pass "apt-get remove removed the programs and units"
else
    fail "apt-get remove left: $(find /usr/sbin/agentd /usr/bin/agentctl /lib/systemd/system/agentd.service 2>/dev/null | paste -sd ' ')"
fi
check "apt-get remove kept the admin's $config" cmp "$config" "$ship_tmp/agent.yaml.admin"
if [[ -f $state_db && $(sqlite3 "$state_db" 'SELECT COUNT(*) FROM deployments') == 2 ]]; then
    pass "apt-get remove kept state.db and its 2 deployments"
else
    fail "apt-get remove did not keep $state_db"
fi
if [[ $(containers) == "$containers_before" ]]; then
    pass "the stack keeps running after remove"
else
    fail "the stack's container changed on remove"
fi

apt_get purge purge agentd || finish
expect_call purge 'deb-systemd-helper purge agentd\.service agentd\.socket' "purge forgets the units' enable state"
if [[ ! -e /etc/agentd && ! -e /var/lib/agentd ]] && ! dpkg-query -W agentd >/dev/null 2>&1; then
    pass "apt-get purge removed /etc/agentd, /var/lib/agentd and the package's record"
else
    fail "apt-get purge left: $(find /etc/agentd /var/lib/agentd -maxdepth 0 2>/dev/null | paste -sd ' ')"
fi
left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -name '*agentd*' 2>/dev/null)
if [[ -z $left ]]; then
    pass "no unit link or deb-systemd-helper state of agentd is left"
else
    fail "left after purge: $left"
fi
check "the group agentd stays after purge (Debian keeps system groups)" getent group agentd
if [[ $(containers) == "$containers_before" ]]; then
    pass "the stack keeps running after purge (its containers are the admin's)"
else
    fail "the stack's container changed on purge"
fi
finish
