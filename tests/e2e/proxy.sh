#!/bin/bash
# Helpers for scenarios that put tests/e2e/registry_proxy.py (a controllable, misbehaving proxy)
# between agentd/Docker and the test registry. Source after lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/proxy.sh"
#   proxy_start                          # sets PROXY=127.0.0.1:PORT
#   commit_compose "$(compose_stack "$(proxy_image_ref web:1)")" ...
#   proxy_answer 2 '^HEAD /v2/.*/manifests/' 429 '"retry_after": "1"'
#   proxy_count manifest_head "$STACK/web" 429
#   proxy_fault -1 "^GET /v2/.*/blobs/" cut   # connection-level faults: hang, cut, delay
#
# The proxy stops, and images pulled through it are removed, when the scenario exits.

PROXY=""
PROXY_PID=""
PROXY_LOG=""

# proxy_start: starts the proxy in front of $AGENTD_TEST_REGISTRY on a free loopback port.
proxy_start() {
    local port_file=$T/proxy.port
    PROXY_LOG=$T/proxy.log
    /usr/bin/python3 "$E2E_ROOT/tests/e2e/registry_proxy.py" --upstream "$AGENTD_TEST_REGISTRY" \
        --port-file "$port_file" </dev/null >>"$PROXY_LOG" 2>&1 &
    PROXY_PID=$!
    trap proxy_on_exit EXIT
    local end=$((SECONDS + 20))
    until [[ -s "$port_file" ]] && curl -fsS --max-time 2 -o /dev/null \
        "http://127.0.0.1:$(cat "$port_file")/_proxy/requests" 2>/dev/null; do
        kill -0 "$PROXY_PID" 2>/dev/null || fail "the registry proxy exited: $(tail -n 5 "$PROXY_LOG")"
        ((SECONDS < end)) || fail "the registry proxy did not answer within 20s"
        sleep 0.1
    done
    PROXY=127.0.0.1:$(cat "$port_file")
    say "registry proxy on $PROXY in front of $AGENTD_TEST_REGISTRY"
}

proxy_stop() {
    [[ -n "$PROXY_PID" ]] || return 0
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
}

# The EXIT trap: containers first (images in use cannot be removed), then the images pulled
# through the proxy and the proxy itself, then lib.sh's cleanup with the scenario's exit status.
proxy_on_exit() {
    local rc=$? ids=()
    set +e
    stop_agentd >/dev/null 2>&1
    if [[ -n "$STACK" ]]; then
        mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$STACK")
        ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null 2>&1
        if [[ -n "$PROXY" ]]; then
            mapfile -t ids < <(docker images -q "$PROXY/$STACK/*" | sort -u)
            ((${#ids[@]} == 0)) || docker rmi -f "${ids[@]}" >/dev/null 2>&1
        fi
    fi
    proxy_stop
    (exit "$rc")
    e2e_cleanup
}

# proxy_image_ref NAME:TAG: push_image's image, as reached through the proxy.
proxy_image_ref() { echo "$PROXY/$STACK/$1"; }

# proxied_release_1 [N]: the registry fault scenarios up to their first fault: WEB_PORT chosen,
# the git repository made, the proxy started, web:1..N (default 3) pushed, release 1
# (pulled through the proxy) committed, deployed by agentd, serving and recorded as succeeded,
# and a fault_snapshot taken.
proxied_release_1() {
    local n
    WEB_PORT=$(closed_port)
    make_git_repo
    proxy_start
    for ((n = 1; n <= ${1:-3}; n++)); do push_image_async web "web:$n" "web $n"; done
    push_images_wait
    commit_compose "$(compose_stack "$(proxy_image_ref web:1)")" "release 1" >/dev/null
    write_config
    start_agentd
    wait_for "release 1 to serve on port $WEB_PORT" 90 serves "web 1"
    wait_for "release 1 to be recorded as succeeded" 30 newest_is succeeded
    fault_snapshot
}

# proxy_control METHOD WHAT [JSON]: one control request (see registry_proxy.py); prints the reply.
proxy_control() {
    local method=$1 what=$2 body=${3:-}
    curl -fsS --max-time 10 -X "$method" ${body:+--data "$body"} "http://$PROXY/_proxy/$what" ||
        fail "registry proxy: $method $what failed"
}

# proxy_reset: forgets the requests recorded so far.
proxy_reset() { proxy_control POST reset >/dev/null; }

# proxy_requests: the recorded requests, a JSON array of {method, path, kind, repo, status,
# injected}.
proxy_requests() { proxy_control GET requests; }

# proxy_summary [REQUESTS_JSON]: the recorded requests as "METHOD /path STATUS; ...", for messages.
proxy_summary() {
    local requests=${1:-$(proxy_requests)}
    jq -r '[.[] | "\(.method) \(.path) \(.status)"] | join("; ")' <<<"$requests"
}

# proxy_count KIND [REPO] [STATUS]: how many recorded requests are of KIND (tags, manifest_head,
# manifest_get, blob, token, base, ...), for repository REPO and answered with STATUS.
proxy_count() {
    local kind=$1 repo=${2:-} status=${3:-}
    proxy_requests | jq --arg k "$kind" --arg r "$repo" --arg s "$status" \
        '[.[] | select(.kind == $k and ($r == "" or .repo == $r) and
                       ($s == "" or .status == ($s | tonumber)))] | length'
}

# proxy_answer COUNT MATCH STATUS [EXTRA_JSON_FIELDS]: the next COUNT requests whose
# "METHOD /path?query" matches the regular expression MATCH get STATUS (COUNT -1: until
# proxy_clear_rules). EXTRA_JSON_FIELDS, e.g. '"retry_after": "1"', '"retry_after_in": 1' (an
# HTTP-date), '"body": "{"', '"headers": {"X": "y"}'.
proxy_answer() {
    local count=$1 match=$2 status=$3 extra=${4:-}
    local rule
    rule=$(jq -cn --argjson c "$count" --arg m "$match" --argjson s "$status" \
        "{count: \$c, match: \$m, status: \$s${extra:+, $extra}}") ||
        fail "proxy_answer: bad rule fields: $extra"
    proxy_control POST rules "$rule" >/dev/null
}

proxy_clear_rules() { proxy_control DELETE rules >/dev/null; }

# proxy_bearer on|off [TOKEN_ANSWER]: act as a Bearer token realm (tokens valid for an hour);
# TOKEN_ANSWER ok (default), malformed (not JSON) or wrong_shape.
proxy_bearer() {
    local on=false
    [[ "$1" == on ]] && on=true
    proxy_control POST auth \
        "{\"bearer\": $on, \"expires_in\": 3600, \"token_answer\": \"${2:-ok}\"}" >/dev/null
}

# proxy_revoke_tokens: every token issued so far is refused from now on.
proxy_revoke_tokens() { proxy_control POST revoke >/dev/null; }

# proxy_fault COUNT MATCH hang|cut|forward [EXTRA_JSON_FIELDS]: the next COUNT requests matching
# MATCH get no answer at all (hang: the connection stays open until the client gives up), or
# the upstream's answer cut off part way through its body (cut; '"cut_after": BYTES', default
# half), or the upstream's answer after a delay (forward with '"delay": SECONDS').
proxy_fault() {
    local count=$1 match=$2 action=$3 extra=${4:-}
    local rule
    rule=$(jq -cn --argjson c "$count" --arg m "$match" --arg a "$action" \
        "{count: \$c, match: \$m, action: \$a${extra:+, $extra}}") ||
        fail "proxy_fault: bad rule fields: $extra"
    proxy_control POST rules "$rule" >/dev/null
}

# proxy_hanging KIND [REPO]: a request of KIND (for REPO) is being held open by a hang rule now.
proxy_hanging() {
    proxy_requests | jq -e --arg k "$1" --arg r "${2:-}" \
        'any(.[]; .kind == $k and ($r == "" or .repo == $r) and .done == false)' >/dev/null
}
