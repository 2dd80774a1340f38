#!/bin/bash
# The fault matrix, blobs (tests/e2e/registry_proxy.py in front of the registry): every blob
# GET is cut off mid-body, so the engine's pull fails: the deployment is `failed`, the release
# is not marked bad, release 1 keeps serving in the same containers, and the next scheduled poll
# retries it and deploys it once blobs arrive whole. Then a slow blob holds a deployment in the
# pull phase and agentd is SIGKILLed there: the old release serves, state.db is whole, and the
# restart completes the deployment (or rolls it back).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/proxy.sh
source "$(dirname "$0")/proxy.sh"
E2E_POLL_INTERVAL=2s
E2E_PUSH_ONLY=1  # the engine must fetch every blob through the proxy
e2e_begin "blob cut off mid-pull: failed, not bad, retried; SIGKILL during pull"

proxied_release_1 4

say "every blob GET is cut off half way; release 2 is committed"
proxy_reset
proxy_fault -1 "^GET /v2/$STACK/web/blobs/sha256:" cut
commit_compose "$(compose_stack "$(proxy_image_ref web:2)")" "release 2" >/dev/null
pull_failed() {
    "$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -e '.deployments[0] | .status == "failed" and (.reason | contains("pull"))' >/dev/null
}
wait_for "a deployment of release 2 to fail in its pull" 150 pull_failed
d=$(latest_deployment)
say "deployment $(json_get "$d" .id): $(json_get "$d" .reason)"
(($(proxy_count blob "$STACK/web") > 0)) || fail "no blob was requested: $(proxy_summary)"
assert_eq 0 "$(bad_release_count)" "releases marked bad after a pull cut off"
fault_survived same-containers

say "blobs arrive whole again: the next scheduled poll retries release 2"
proxy_clear_rules
wait_for "release 2 deployed by a scheduled poll" 120 serves "web 2"
wait_for "release 2 recorded as succeeded" 30 newest_is succeeded
assert_runs_digest web "$(proxy_image_ref web)" "$(pushed_digest web:2)"

say "a slow blob holds release 3 in the pull phase; SIGKILL agentd there"
fault_snapshot
proxy_fault -1 "^GET /v2/$STACK/web/blobs/sha256:" forward '"replace": true, "delay": 30'
commit_compose "$(compose_stack "$(proxy_image_ref web:3)")" "release 3" >/dev/null
wait_for "release 3 in the pull phase" 60 in_phase pull
interrupted=$(json_get "$(latest_deployment)" .id)
kill_agentd
fault_survived same-containers
proxy_clear_rules
start_agentd
assert_interrupted_ends "$interrupted" "web 2" "web 3"

fault_recovers "$(proxy_image_ref web:4)" "web 4"

e2e_pass
