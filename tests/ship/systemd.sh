#!/bin/bash
# systemd/agentd.service and agentd.socket: `systemd-analyze verify` reports nothing and the
# sandbox's exposure (`systemd-analyze security --offline=yes`) is 2.0 or lower.
#
# verify checks that executables exist and that the Documentation= man pages open with man. So
# the units are verified as copies whose ExecStart points at an existing binary (/bin/true) with
# MANPATH set to the man pages built from man/*.scd: every other problem is still reported.
source "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null; then
    fail "systemd-analyze is not installed (apt-get install systemd)"
    finish
fi

units=$ship_tmp/units
mkdir -p "$units" "$ship_tmp/man/man1" "$ship_tmp/man/man5" "$ship_tmp/man/man8"
for page in agentd.8 agentctl.1 agent.yaml.5; do
    scdoc <"$ship_root/man/$page.scd" >"$ship_tmp/man/man${page##*.}/$page"
done
sed 's|/usr/sbin/agentd|/bin/true|g' "$ship_root/systemd/agentd.service" >"$units/agentd.service"
cp "$ship_root/systemd/agentd.socket" "$units/agentd.socket"

if grep -q '^ExecStart=/usr/sbin/agentd --config /etc/agentd/agent.yaml$' \
    "$ship_root/systemd/agentd.service"; then
    pass "ExecStart runs /usr/sbin/agentd with /etc/agentd/agent.yaml"
else
    fail "ExecStart is not /usr/sbin/agentd --config /etc/agentd/agent.yaml"
fi

for unit in agentd.service agentd.socket; do
    verify_unit "$units" "$unit" "$ship_tmp/man"
done

# The check is meaningful: a unit without the sandbox scores far above the limit.
exposure() {
    systemd-analyze security --offline=yes "$1" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
score=$(exposure "$units/agentd.service")
if [[ -n $score ]] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    pass "agentd.service exposure $score <= 2.0"
else
    fail "agentd.service exposure '${score}' is above 2.0"
fi
printf '[Service]\nType=notify\nExecStart=/bin/true\n' >"$ship_tmp/bare.service"
bare=$(exposure "$ship_tmp/bare.service")
if [[ -n $bare ]] && awk -v s="$bare" 'BEGIN { exit !(s > 2.0) }'; then
    pass "an unsandboxed unit scores $bare, above the limit (the measure works)"
else
    fail "an unsandboxed unit scores '${bare}': the exposure check measures nothing"
fi

# The settings the daemon's contract relies on (SPEC section 7).
service=$ship_root/systemd/agentd.service
for setting in Type=notify NotifyAccess=main 'ExecReload=/bin/kill -HUP $MAINPID' \
    WatchdogSec=60s Restart=on-failure KillMode=mixed StateDirectory=agentd \
    StateDirectoryMode=0700 RuntimeDirectory=agentd RuntimeDirectoryPreserve=yes \
    ConfigurationDirectory=agentd Environment=HOME=/var/lib/agentd ProtectSystem=strict \
    CapabilityBoundingSet= 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
    if grep -qxF "$setting" "$service"; then
        pass "agentd.service has $setting"
    else
        fail "agentd.service lacks $setting"
    fi
done
# Docker's socket must stay reachable: nothing may hide /run or /var/run.
if grep -Eq '^(InaccessiblePaths|TemporaryFileSystem|BindPaths)=.*(/var)?/run' "$service" ||
    grep -qx 'PrivateNetwork=yes' "$service"; then
    fail "agentd.service hides /var/run/docker.sock or the network"
else
    pass "agentd.service keeps /var/run/docker.sock and the network reachable"
fi

socket=$ship_root/systemd/agentd.socket
for setting in ListenStream=/run/agentd/api.sock SocketMode=0660 SocketGroup=agentd; do
    if grep -qxF "$setting" "$socket"; then
        pass "agentd.socket has $setting"
    else
        fail "agentd.socket lacks $setting"
    fi
done
# The socket path is the default api.socket of agent.yaml, so both ways reach the same file.
if grep -q '^  socket: /run/agentd/api.sock' "$ship_root/config/agent.yaml"; then
    pass "agentd.socket listens where config/agent.yaml's api.socket points"
else
    fail "config/agent.yaml's api.socket differs from agentd.socket's ListenStream"
fi
finish
