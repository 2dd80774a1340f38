#!/bin/bash
# SIGKILL agentd while `compose up` runs: the compose process dies with it (no compose keeps
# changing the stack behind the next agentd's back), and the restart finishes the deployment.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "SIGKILL during compose up; compose dies with agentd, the restart completes the deployment"

# busybox httpd is the container's PID 1 and has no SIGTERM handler, so a stop waits out the
# whole grace period: replacing release 1's container keeps `compose up` busy for half a minute.
slow_stop_stack() {
    compose_stack "$1"
    echo "    stop_grace_period: 30s"
}
# The `compose up` of this scenario's project, when one runs.
compose_up_pids() { pgrep -f -- "-p $STACK .* up -d" || true; }

make_git_repo
push_image web web:1 "web v1" >/dev/null
commit_compose "$(slow_stop_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)

web2=$(push_image web web:2 "web v2")
rev2=$(commit_compose "$(slow_stop_stack "$(image_ref web:2)")" "release 2")
say "agentctl sync (no wait); kill agentd while compose up stops release 1's container"
old_container=$(container_ids web)
since=$(date +%s)
ctl sync "$STACK" >/dev/null
compose_running() { [[ -n "$(compose_up_pids)" ]]; }
wait_for "compose up of release 2 to run" 60 compose_running
# Kill agentd once compose has asked dockerd to stop release 1's container (SIGTERM, event
# "kill"): compose then waits silently for the grace period. (Killed earlier, a compose that
# outlived agentd would die anyway of SIGPIPE at its next line of progress on the dead pipe.)
stop_sent() {
    docker events --since "$since" --until "$(date +%s)" --filter "container=$old_container" \
        --filter event=kill --format '{{.Action}}' | grep -q kill
}
wait_for "compose up to stop release 1's container" 60 stop_sent
pids=$(compose_up_pids)
say "compose up runs as pid(s) $(echo $pids), waiting for the old container to stop"
kill_agentd

compose_gone() { [[ -z "$(compose_up_pids)" ]]; }
# The grace period is 30 s: a compose that outlived agentd would still be there long after this.
wait_for "the compose process to die with agentd" 15 compose_gone
say "compose died with agentd"
[[ -n "$(ls -A "$T/state/children" 2>/dev/null)" ]] &&
    say "records of the killed agentd's process groups: $(ls "$T/state/children" | xargs)"

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
assert_runs web "web v2"
assert_runs_digest web "$(image_ref web)" "$web2"
assert_eq "running healthy" "$(service_state web)" "web after recovery"
assert_eq 1 "$(container_ids web | wc -l)" "one web container"
assert_eq "" "$(ls -A "$T/state/children" 2>/dev/null)" "no process group left recorded"
e2e_pass
