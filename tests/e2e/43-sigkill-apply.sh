#!/bin/bash
# The fault matrix, SIGKILL of agentd during apply: release 2 recreates a database service
# whose healthcheck passes only after a while, and web depends on it being healthy, so
# `compose up` (the apply phase) lasts that long. agentd is killed there; state.db stays whole
# with everything recorded before; the restart finishes the deployment (succeeded, serving
# release 2, or rolled_back, serving release 1) and agentd's own polling deploys a new release.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
E2E_POLL_INTERVAL=2s
E2E_HEALTH_TIMEOUT=60s
e2e_begin "SIGKILL during apply (a slow compose up); the restart completes the deployment"

WEB_PORT=$(closed_port)
# web (WEB) depends on db being healthy; db is ready (/tmp/ready) DELAY seconds after it starts.
# RELEASE changes db's environment, so compose recreates it.
slow_stack() {
    local web=$1 release=$2 delay=$3
    compose_stack "$web"
    cat <<YAML
    depends_on:
      db: {condition: service_healthy}
  db:
    image: $web
    restart: always
    environment: {RELEASE: "$release"}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep $delay & wait; touch /tmp/ready; while true; do sleep 1 & wait; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 60
YAML
}

make_git_repo
for n in 1 2 3; do push_image_async web "web:$n" "web $n"; done
push_images_wait
commit_compose "$(slow_stack "$(image_ref web:1)" 1 0)" "release 1" >/dev/null
write_config
start_agentd
wait_for "release 1 to serve on port $WEB_PORT" 120 serves "web 1"
wait_for "release 1 to be recorded as succeeded" 60 newest_is succeeded
fault_snapshot

say "release 2: db takes 20s to become healthy, web waits for it"
commit_compose "$(slow_stack "$(image_ref web:2)" 2 20)" "release 2" >/dev/null
wait_for "release 2 in the apply phase" 60 in_phase apply
interrupted=$(json_get "$(latest_deployment)" .id)
# Inside compose up: db is being recreated, web (release 1) not yet.
kill_agentd
# Containers may rightly be changing now (a compose up was cut short): the store must be whole.
fault_store_survived
start_agentd
assert_interrupted_ends "$interrupted" "web 1" "web 2"
assert_eq "running healthy" "$(service_state db)" "db after recovery"
assert_eq 1 "$(container_ids db | wc -l)" "db containers after recovery"

fault_recovers "$(image_ref web:3)" "web 3" "$(slow_stack "$(image_ref web:3)" 3 0)"

e2e_pass
