#!/bin/bash
# Webhooks on api.listen (api.webhook_secret_file): a GitHub-style signed push makes the stack
# deploy the pushed commit although its poll_interval is an hour, and the deployment's trigger
# is "webhook"; unsigned, wrongly signed, oversized, malformed and unknown-event webhooks get
# 401, 401, 413, 400 and 202 and change nothing; a burst of 1000 webhooks is answered 202 or 429
# and agentctl status keeps answering meanwhile.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "signed webhooks trigger a deploy at once; bad ones change nothing"

E2E_HEALTH_STABLE=1s
make_git_repo
push_image web web:1 "web v1" >/dev/null
push_image web web:2 "web v2" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
E2E_POLL_INTERVAL=1h write_config
port=$(closed_port)
secret="e2e webhook secret $RANDOM$RANDOM"
printf '%s\n' "$secret" >"$T/webhook.secret"
sed -i "s|^  socket: .*|&\n  listen: 127.0.0.1:$port\n  webhook_secret_file: $T/webhook.secret|" "$CONFIG"
start_agentd
hook=http://127.0.0.1:$port/webhooks/github

latest_is() { [[ "$(latest_deployment | jq -r "$1")" == "$2" ]]; }
say "agentd's first poll deploys release 1"
wait_for "release 1 to be promoted" 60 latest_is '.revision + " " + .status' "$rev1 succeeded"

# push_body REF [URL]: a GitHub push event's body for the stack's repository.
push_body() {
    jq -cn --arg ref "$1" --arg url "${2:-file://$BARE}" \
        '{ref: $ref, deleted: false, repository: {clone_url: $url, html_url: "https://example.invalid/deploy"}}'
}
# signature BODY [SECRET]: X-Hub-Signature-256's value as GitHub computes it.
signature() {
    printf '%s' "$1" | openssl dgst -sha256 -hmac "${2:-$secret}" -r | awk '{print "sha256=" $1}'
}
# post EVENT BODY [SIGNATURE-HEADER...]: prints the answer's body, then its status code.
post() {
    local event=$1 body=$2
    shift 2
    curl -sS --max-time 10 -w '\n%{http_code}' -X POST "$hook" -H "Content-Type: application/json" \
        -H "X-GitHub-Event: $event" -H "X-GitHub-Delivery: e2e-$RANDOM" "$@" --data-binary "$body"
}
signed_post() { post "$1" "$2" -H "X-Hub-Signature-256: $(signature "$2" "${3:-$secret}")"; }

say "bad webhooks get their codes and change nothing"
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
body=$(push_body refs/heads/main)
before=$(history_count)
answer=$(post push "$body")
assert_eq 401 "$(tail -n 1 <<<"$answer")" "unsigned push"
answer=$(signed_post push "$body" "not the secret")
assert_eq 401 "$(tail -n 1 <<<"$answer")" "wrongly signed push"
assert_contains "$(head -n 1 <<<"$answer")" "X-Hub-Signature-256" "the 401 names the header"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$hook" \
    -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(printf '0%.0s' {1..64})" \
    --data-binary "@$T/big.json")
assert_eq 413 "$code" "body over 1 MiB"
answer=$(signed_post push '{"ref": "refs/heads/main", "repository": ')
assert_eq 400 "$(tail -n 1 <<<"$answer")" "malformed JSON"
answer=$(signed_post issues '{"action": "opened"}')
assert_eq 202 "$(tail -n 1 <<<"$answer")" "unknown event"
assert_json "$(head -n 1 <<<"$answer")" .status ignored "unknown event's answer"
answer=$(signed_post push "$(push_body refs/heads/main https://github.com/acme/other.git)")
assert_eq 202 "$(tail -n 1 <<<"$answer")" "push to another repository"
assert_json "$(head -n 1 <<<"$answer")" .status ignored "another repository's answer"
answer=$(signed_post ping '{"zen": "Design for failure."}')
assert_eq 200 "$(tail -n 1 <<<"$answer")" "ping"
assert_eq "$before" "$(history_count)" "deployments after the bad webhooks"
assert_json "$(latest_deployment)" .revision "$rev1" "release after the bad webhooks"


say "a signed push deploys release 2 at once, triggered by the webhook"
answer=$(signed_post push "$body")
assert_eq 202 "$(tail -n 1 <<<"$answer")" "signed push"
assert_json "$(head -n 1 <<<"$answer")" .status triggered "signed push's answer"
assert_json "$(head -n 1 <<<"$answer")" '.stacks[0]' "$STACK" "stack triggered"
wait_for "release 2 to be promoted" 60 latest_is '.revision + " " + .status' "$rev2 succeeded"
assert_json "$(latest_deployment)" .trigger webhook "release 2's trigger"
assert_contains "$(cat "$AGENTD_LOG")" "triggered [\"$STACK\"]" "the log names what the webhook triggered"

say "a burst of 1000 webhooks: answered 202 or 429, the API keeps answering"
signature_header="X-Hub-Signature-256: $(signature "$body")"
python3 - "$hook" "$body" "$signature_header" >"$T/burst.txt" <<'PY' &
import http.client, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
url, body, header = urllib.parse.urlsplit(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
name, value = header.split(": ", 1)
def one(i):
    # A connection over the listener's limit per address is closed unanswered: sent again.
    for attempt in range(20):
        try:
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            c.request("POST", url.path, body, {"X-GitHub-Event": "push", name: value,
                                                "X-GitHub-Delivery": f"burst-{i}"})
            return c.getresponse().status
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected) as e:
            error = type(e).__name__
            time.sleep(0.05)
        finally:
            c.close()
    return error
with ThreadPoolExecutor(4) as pool:  # under the listener's 8 connections per address
    for status in pool.map(one, range(1000)):
        print(status)
PY
burst=$!
answered=0
while kill -0 "$burst" 2>/dev/null; do
    timeout 10 "$AGENTCTL" --socket "$SOCKET" status >/dev/null || fail "agentctl status did not answer during the burst"
    answered=$((answered + 1))
done
wait "$burst"
assert_eq 1000 "$(wc -l <"$T/burst.txt")" "answers to the burst"
assert_eq "" "$(grep -v -x -e 202 -e 429 "$T/burst.txt" | sort | uniq -c)" "answers other than 202 and 429"
assert_match "$(grep -c -x 429 "$T/burst.txt")" '^[1-9][0-9]*$' "rate-limited answers"
say "agentctl status answered $answered times during the burst"
assert_json_true "$(status_json)" '.stacks | length == 1' "status after the burst"
assert_json "$(latest_deployment)" .revision "$rev2" "release after the burst"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/healthz")" "healthz after the burst"

e2e_pass
