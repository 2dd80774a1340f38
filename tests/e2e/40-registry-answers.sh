#!/bin/bash
# The fault matrix, registry answers (tests/e2e/registry_proxy.py in front of the registry):
# a registry answering 500, or 503 beyond the retries, a manifest that is garbage and one cut
# off mid-body (to agentd's own digest lookup), and a garbage manifest handed to the engine's
# pull. Each is a poll error or a failed pull: release 1 keeps serving on its published port in
# the same containers, state.db stays whole with everything recorded before, the failed release
# is not marked bad (42-registry-blobs shows the next poll retrying a failed pull), and agentd's
# own polling deploys a new release once the registry behaves. (429 with Retry-After, 503
# retried and malformed tag lists: 17-registry-errors.)
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/proxy.sh
source "$(dirname "$0")/proxy.sh"
E2E_POLL_INTERVAL=2s
e2e_begin "registry 500, 503, garbage and truncated manifests: old release serves, polls recover"

proxied_release_1
count=$(history_count)

# poll_fails WHAT NEEDLE...: the next cycle is a poll error containing each NEEDLE; nothing is
# deployed or touched.
poll_fails() {
    local what=$1 status
    shift
    sync_expect 1
    status=$(stack_status)
    say "last poll error: $(json_get "$status" .last_poll.error)"
    assert_json "$status" .last_poll.result error "last poll result with $what"
    for needle in "$@"; do
        assert_contains "$(json_get "$status" .last_poll.error)" "$needle" "last poll error with $what"
    done
    assert_eq "$count" "$(history_count)" "history length with $what"
    assert_eq "$FAULT_CONTAINERS" "$(container_ids)" "containers with $what"
    assert_eq "web 1" "$(served)" "what web serves with $what"
}

manifests="^(HEAD|GET) /v2/$STACK/web/manifests/"
say "every manifest request answers 500; release 2 is committed meanwhile"
proxy_answer -1 "$manifests" 500 '"replace": true, "body": "{\"errors\": [{\"code\": \"UNKNOWN\"}]}"'
commit_compose "$(compose_stack "$(proxy_image_ref web:2)")" "release 2" >/dev/null
poll_fails "HTTP 500" "$PROXY" "$STACK/web" "500"

say "503 beyond the retries"
proxy_answer -1 "$manifests" 503 '"replace": true'
proxy_reset
poll_fails "HTTP 503" "$PROXY" "$STACK/web" "503"
# 1 + RetryPolicy::retries (3) attempts per poll, at least.
(($(proxy_count manifest_head "$STACK/web" 503) >= 4)) ||
    fail "503 was not retried: $(proxy_summary)"

# One rule per step ("replace": no scheduled poll sees half of a step): HEAD gets the answer's
# headers without Docker-Content-Digest, so agentd GETs the manifest to hash it itself.
say "HEAD without a digest, and a GET that answers garbage instead of a manifest"
proxy_answer -1 "$manifests" 200 \
    '"replace": true, "body": "<html>this is not a manifest</html>", "headers": {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"}'
poll_fails "a garbage manifest" "$PROXY" "$STACK/web" "is not a manifest"

say "HEAD without a digest, and a manifest GET cut off mid-body"
proxy_fault -1 "$manifests" cut '"replace": true, "drop_headers": ["Docker-Content-Digest"]'
poll_fails "a truncated manifest" "$PROXY" "$STACK/web"

say "the engine's pull gets a garbage manifest: the pull fails, the release is not bad"
proxy_answer -1 "^GET /v2/$STACK/web/manifests/sha256:" 200 \
    '"replace": true, "body": "{\"schemaVersion\": 2, \"garbage\": true}", "headers": {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"}'
sync_expect 1
d=$(latest_deployment)
say "deployment $(json_get "$d" .id): $(json_get "$d" .status): $(json_get "$d" .reason)"
assert_json "$d" .status failed "the deployment whose pull got a garbage manifest"
assert_contains "$(json_get "$d" .reason)" "pull" "why it failed"
assert_eq 0 "$(bad_release_count)" "releases marked bad after a failed pull"
fault_survived same-containers

say "the registry behaves again"
proxy_clear_rules
fault_recovers "$(proxy_image_ref web:3)" "web 3"

e2e_pass
