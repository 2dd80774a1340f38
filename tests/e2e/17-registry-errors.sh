#!/bin/bash
# A misbehaving registry (tests/e2e/registry_proxy.py in front of the test registry, also a
# Bearer token realm): 429 and 503 are retried after Retry-After or a backoff and the release is
# deployed; a too long Retry-After, a tag list that is not JSON or of the wrong shape and a token
# answer that is not JSON are poll errors naming the registry and repository, and nothing is
# touched (the fault matrix's checks: web keeps serving on its published port in the same
# containers, state.db stays whole with everything recorded before); a poll that finds nothing
# new asks the registry as little as possible.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/proxy.sh
source "$(dirname "$0")/proxy.sh"
e2e_begin "registry errors: 429/503 retried, malformed answers are poll errors, few requests"

readonly images=(web worker cron)

# web behind a healthcheck, worker and cron idle; every tag is chosen by a policy.
three_services() {
    compose_stack "$(proxy_image_ref web:latest)" "$(proxy_image_ref worker:latest)"
    cat <<YAML
  cron:
    image: $(proxy_image_ref cron:latest)
    restart: always
YAML
}

# assert_untouched WHAT: the poll failed with an error containing each further argument, and
# the running release, its containers and the history are what they were.
assert_untouched() {
    local what=$1 status needle
    shift
    status=$(stack_status)
    say "last poll error: $(json_get "$status" .last_poll.error)"
    assert_json "$status" .last_poll.result error "last poll result with $what"
    for needle in "$@"; do
        assert_contains "$(json_get "$status" .last_poll.error)" "$needle" "last poll error with $what"
    done
    assert_json "$status" .current.id "$current_id" "current deployment with $what"
    assert_eq "$count" "$(history_count)" "history length with $what"
    assert_eq "$containers" "$(container_ids)" "containers with $what"
    assert_runs web "web 1.1.0"
    fault_survived same-containers
}

WEB_PORT=$(closed_port)
make_git_repo
proxy_start
proxy_bearer on
for name in "${images[@]}"; do
    variant=worker
    [[ "$name" == web ]] && variant=web
    push_image "$variant" "$name:1.0.0" "$name 1.0.0" >/dev/null
done
commit_compose "$(three_services)" "web, worker and cron, tags chosen by policy" >/dev/null
write_config "$(printf '    images:\n      web: {semver: "^1"}\n      worker: {semver: "^1"}\n      cron: {semver: "^1"}')"
start_agentd

sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the first deployment"
assert_json_true "$d" ".images.web | startswith(\"$(proxy_image_ref web:1.0.0)@sha256:\")" \
    "web's image, resolved through the proxy"
assert_runs web "web 1.0.0"
assert_ne 0 "$(proxy_count token)" "tokens issued by the proxy's realm"

say "a no-op poll: one tags/list and one manifest HEAD per image, nothing else"
count=$(history_count)
# Twice: any worker thread may run a poll, and each must reuse the tokens already issued.
for round in 1 2; do
    proxy_reset
    sync_expect 0
    requests=$(proxy_requests)
    for name in "${images[@]}"; do
        repo=$STACK/$name
        tags=$(jq --arg r "$repo" '[.[] | select(.repo == $r and .kind == "tags")] | length' <<<"$requests")
        heads=$(jq --arg r "$repo" '[.[] | select(.repo == $r and .kind == "manifest_head")] | length' <<<"$requests")
        ((tags <= 1)) || fail "round $round: $tags tags/list requests for $repo: $(proxy_summary "$requests")"
        ((heads <= 1)) || fail "round $round: $heads manifest HEADs for $repo: $(proxy_summary "$requests")"
    done
    jq -e 'all(.[]; (.kind == "tags" or .kind == "manifest_head") and .status == 200)' \
        <<<"$requests" >/dev/null ||
        fail "round $round: expected only tags/list and manifest HEADs answered 200 (no manifest GET, blob, token or 401), got: $(proxy_summary "$requests")"
    assert_json "$(stack_status)" .last_poll.result ok "round $round: last poll result"
done
assert_eq "$count" "$(history_count)" "history length after no-op polls"

say "429 with Retry-After in seconds, 503 with an HTTP-date, 503 without: retried, then served"
web11=$(push_image web web:1.1.0 "web 1.1.0")
worker11=$(push_image worker worker:1.1.0 "worker 1.1.0")
proxy_reset
proxy_answer 2 "^HEAD /v2/$STACK/web/manifests/" 429 '"retry_after": "1"'
proxy_answer 1 "^GET /v2/$STACK/worker/tags/list" 503 '"retry_after_in": 1'
proxy_answer 2 "^GET /v2/$STACK/cron/tags/list" 503
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the deployment after 429 and 503"
assert_json "$d" .images.web "$(proxy_image_ref web:1.1.0)@$web11" "web after 429"
assert_json "$d" .images.worker "$(proxy_image_ref worker:1.1.0)@$worker11" "worker after 503"
assert_runs web "web 1.1.0"
assert_eq 2 "$(proxy_count manifest_head "$STACK/web" 429)" "web manifest HEADs answered 429"
assert_ne 0 "$(proxy_count manifest_head "$STACK/web" 200)" "web manifest HEADs served after 429"
assert_eq 1 "$(proxy_count tags "$STACK/worker" 503)" "worker tag lists answered 503"
assert_eq 1 "$(proxy_count tags "$STACK/worker" 200)" "worker tag lists served after 503"
assert_eq 2 "$(proxy_count tags "$STACK/cron" 503)" "cron tag lists answered 503"
assert_eq 1 "$(proxy_count tags "$STACK/cron" 200)" "cron tag lists served after 503"
current_id=$(json_get "$d" .id)
count=$(history_count)
containers=$(container_ids)
fault_snapshot

say "a Retry-After beyond the cap is not waited for: the poll fails at once"
proxy_answer 1 "^GET /v2/$STACK/web/tags/list" 429 '"retry_after": "3600"'
sync_expect 1
assert_untouched "a 429 asking for an hour" "$PROXY" "$STACK/web" "HTTP 429" "Retry-After: 3600"

say "web 1.2.0 is pushed, but the tag list is not JSON"
push_image web web:1.2.0 "web 1.2.0" >/dev/null
proxy_answer -1 "^GET /v2/$STACK/web/tags/list" 200 '"body": "{\"name\": \"web\", \"tags\": [\"1.2.0\""'
sync_expect 1
assert_untouched "a tag list that is not JSON" "$PROXY" "$STACK/web" "malformed tag list" "not JSON"
proxy_clear_rules

say "a tag list of the wrong shape"
proxy_answer -1 "^GET /v2/$STACK/web/tags/list" 200 '"body": "{\"name\": \"web\", \"tags\": {\"1.2.0\": true}}"'
sync_expect 1
assert_untouched "a tag list of the wrong shape" "$PROXY" "$STACK/web" "malformed tag list" \
    '"tags" is an object, not a list'
proxy_clear_rules

say "the token service answers malformed JSON"
proxy_bearer on malformed
proxy_revoke_tokens
sync_expect 1
assert_untouched "a malformed token answer" "$PROXY" "token service" "malformed JSON"

say "the token service answers JSON without a token string"
proxy_bearer on wrong_shape
proxy_revoke_tokens
sync_expect 1
assert_untouched "a token answer of the wrong shape" "$PROXY" "token service" "without a token"

say "the registry behaves again: web 1.2.0 is deployed"
proxy_bearer on ok
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "the deployment once the registry behaves"
assert_runs web "web 1.2.0"
wait_for "web 1.2.0 on the published port" 30 serves "web 1.2.0"
fault_store_survived

e2e_pass
