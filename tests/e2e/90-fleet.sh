#!/bin/bash
# fleet: with `fleet:`, agentd takes its turn through a real etcd (Debian's etcd, one member on
# loopback ports). A release deploys in a free slot and ends done; while another host holds the
# only slot, the next release waits (status `waiting`, reason "fleet"), pulled, with nothing
# applied; `agentctl fleet status` shows both hosts, `agentctl fleet release` frees the other
# host's slot and the watch deploys the release at once, without a poll; a release that fails
# the gate is rolled back here first, then halted for the fleet in etcd, shown by `fleet status`
# and cleared by `fleet unhalt`; a newer release passes and clears a halt by itself.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "fleet: turns through etcd, a waiting release woken by the watch, a bad release halted, agentctl fleet"

etcd_cluster 1
ETCD_URL=${ETCD_ENDPOINTS[0]}
keys=/agentd/e2e/$STACK

make_git_repo
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async unhealthy web:3 "web v3 unhealthy"
push_image_async web web:4 "web v4"
push_images_wait
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
E2E_HEALTH_STABLE=1s write_config
cat >>"$CONFIG" <<YAML
fleet:
  etcd: {endpoints: ["$ETCD_URL"]}
  host: e2e-host
  group: e2e
  max_updating: 1
  lease_ttl: 5s
YAML
start_agentd

say "release 1 deploys in this host's turn, which ends with its done mark"
sync_expect 0
assert_runs web "web v1"
id1=$(json_get "$(latest_deployment)" .id)
assert_json "$(show_json "$id1")" .status succeeded "release 1"
assert_match "$(etcdctl_ get --prefix --keys-only "$keys/done/")" "^$keys/done/[0-9a-f]{16}/e2e-host$" \
    "the done mark of release 1"
assert_eq "" "$(etcdctl_ get --prefix --keys-only "$keys/slots/")" "slots after release 1"

say "another host holds the only slot: release 2 waits, pulled, with nothing applied"
lease=$(etcdctl_ lease grant 120 | awk '{print $2}')
etcdctl_ put --lease="$lease" "$keys/slots/other-host" \
    '{"host":"other-host","release":"0123456789abcdef","since":"2026-12-05T10:00:00Z"}' >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
sync_expect 0
waiting=$(latest_deployment)
id2=$(json_get "$waiting" .id)
assert_json "$waiting" .status waiting "release 2 while the slot is taken"
assert_json "$waiting" .reason fleet "release 2 while the slot is taken"
status=$(stack_status)
assert_json "$status" .waiting.reason fleet "status: waiting"
assert_contains "$(json_get "$status" .candidate)" \
    "waits for its turn in the fleet: waiting for a fleet slot: 1 of 1 updating (other-host)" \
    "status: candidate"
assert_runs web "web v1"
docker image inspect "$(image_ref web:2)" >/dev/null || fail "release 2's image is not on the host"
assert_match "$(etcdctl_ get --print-value-only "$keys/slots/e2e-host")" '"release":"[0-9a-f]{16}"' \
    "this host's place in the queue"

say "agentctl fleet status shows who holds the slot and who waits"
fleet=$(ctl --json fleet status "$STACK")
assert_json "$fleet" .group e2e "fleet status"
assert_json "$fleet" .host e2e-host "fleet status"
assert_json "$fleet" '.stacks[0].updating[0].host' other-host "fleet status: updating"
assert_json "$fleet" '.stacks[0].queued[0].host' e2e-host "fleet status: queued"
assert_json "$fleet" '.stacks[0].queued | length' 1 "fleet status: queued"
assert_contains "$(ctl fleet status)" "  updating  other-host  release 0123456789abcdef  since "     "fleet status, as people read it"

say "other-host died: agentctl fleet release frees its slot long before its lease (120s) ends;"
say "the watch wakes the stack and release 2 deploys, no poll needed"
ctl fleet release other-host "$STACK" >/dev/null
ctl_expect 2 fleet release other-host "$STACK"
assert_contains "$CTL_ERR" "host other-host holds no slot and is not queued for stack $STACK"     "a second release"
deployed() { [[ "$(deployment_status "$1")" == succeeded ]]; }
wait_for "release 2 deployed" 60 deployed "$id2"
assert_runs web "web v2"

say "release 3 fails the gate: rolled back here first, then halted for the whole fleet"
commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3" >/dev/null
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rolled_back "release 3"
assert_runs web "web v2"
halt=$(etcdctl_ get --print-value-only "$keys/halt")
assert_json "$halt" .host e2e-host "the halt"
assert_contains "$(json_get "$halt" .reason)" unhealthy "the halt's reason"
assert_match "$(json_get "$halt" .release)" '^[0-9a-f]{16}$' "the halted release"
assert_eq "" "$(etcdctl_ get --prefix --keys-only "$keys/slots/")" "slots after the halt"
# This host deployed release 3: its name (the commit) stands for the key.
name3=$(json_get "$(ctl --json fleet status "$STACK")" .stacks[0].halt.name)
assert_eq "$(json_get "$bad" .revision | cut -c1-12)" "$name3" "the halted release's name"
assert_contains "$(ctl fleet status "$STACK")" "  HALTED    release $name3 failed on e2e-host" \
    "fleet status of a halted stack"

say "agentctl fleet unhalt clears the halt; a second one has nothing to clear"
assert_contains "$(ctl fleet unhalt "$STACK")" "$STACK: halt cleared (release $name3 had failed" \
    "fleet unhalt"
assert_eq "" "$(etcdctl_ get --keys-only "$keys/halt")" "the halt after fleet unhalt"
ctl_expect 1 fleet unhalt "$STACK"
assert_eq "agentctl: fleet: stack $STACK is not halted in group e2e" "$CTL_ERR" "a second unhalt"
etcdctl_ put "$keys/halt" "$halt" >/dev/null  # halted again, as if another host failed it

say "release 4 passes and clears the halt"
commit_compose "$(compose_stack "$(image_ref web:4)")" "release 4" >/dev/null
sync_expect 0
assert_runs web "web v4"
assert_eq "" "$(etcdctl_ get --keys-only "$keys/halt")" "the halt after release 4"

e2e_pass
