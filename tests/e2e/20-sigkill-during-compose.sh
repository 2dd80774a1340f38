#!/bin/bash
# SIGKILL agentd while `compose up` runs: the compose process dies with it (no compose keeps
# changing the stack behind the next agentd's back), and the restart finishes the deployment.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "SIGKILL during compose up; compose dies with agentd, the restart completes the deployment"

# A service whose PID 1 is `sleep` (no SIGTERM handler, so the signal is ignored) makes a stop
# wait out the whole grace period: replacing release 1's `slow` container keeps `compose up`
# busy, and silent, for half a minute. (busybox httpd stops at once on SIGTERM.)
slow_stop_stack() {
    compose_stack "$1"
    cat <<YAML
  slow:
    image: $1
    command: ["sleep", "3600"]
    stop_grace_period: 30s
    environment:
      RELEASE: "$2"
YAML
}
# The `compose up` of this scenario's project, when one runs.
compose_up_pids() { pgrep -f -- "-p $STACK .* up -d" || true; }

make_git_repo
push_image web web:1 "web v1" >/dev/null
commit_compose "$(slow_stop_stack "$(image_ref web:1)" 1)" "release 1" >/dev/null
write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)

# Only `slow` changes: compose recreates it alone and prints nothing while it waits.
rev2=$(commit_compose "$(slow_stop_stack "$(image_ref web:1)" 2)" "release 2")
say "agentctl sync (no wait); kill agentd while compose up stops release 1's container"
old_container=$(container_ids slow)
since=$(date +%s)
ctl sync "$STACK" >/dev/null
compose_running() { [[ -n "$(compose_up_pids)" ]]; }
wait_for "compose up of release 2 to run" 60 compose_running
# Kill agentd once compose has asked dockerd to stop release 1's `slow` container (SIGTERM,
# event "kill"): compose then waits silently for the grace period. (Killed earlier, a compose
# that outlived agentd would die anyway of SIGPIPE at its next line of progress on the dead
# pipe.)
stop_sent() {
    docker events --since "$since" --until "$(date +%s)" --filter "container=$old_container" \
        --filter event=kill --format '{{.Action}}' | grep -q kill
}
wait_for "compose up to stop release 1's slow container" 60 stop_sent
pids=$(compose_up_pids)
say "compose up runs as pid(s) ${pids//$'\n'/ }, waiting for the old container to stop"
kill_agentd

compose_gone() { [[ -z "$(compose_up_pids)" ]]; }
# The grace period is 30 s: a compose that outlived agentd would still be there long after this.
wait_for "the compose process to die with agentd" 15 compose_gone
say "compose died with agentd"
records=$(find "$T/state/children" -mindepth 1 -printf '%f ' 2>/dev/null || true)
[[ -z $records ]] || say "records of the killed agentd's process groups: $records"

say "restart agentd; it finishes the interrupted deployment"
start_agentd
finished() {
    local status
    status=$("$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -r '.deployments[0].status') || return 1
    [[ "$status" == succeeded ]]
}
wait_for "the interrupted deployment to succeed" 180 finished
last=$(latest_deployment)
assert_ne "$id1" "$(json_get "$last" .id)" "the newest deployment is release 2's"
assert_json "$(stack_status)" .current.revision "$rev2" "current revision"
assert_runs web "web v1"
assert_eq "running healthy" "$(service_state web)" "web after recovery"
slow_release=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(container_ids slow)" |
    sed -n 's/^RELEASE=//p')
assert_eq 2 "$slow_release" "release of the slow service"
assert_eq 1 "$(container_ids web | wc -l)" "one web container"
assert_eq 1 "$(container_ids slow | wc -l)" "one slow container"
assert_eq "" "$(ls -A "$T/state/children" 2>/dev/null)" "no process group left recorded"
e2e_pass
