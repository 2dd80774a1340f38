#!/bin/bash
# Notifications: receivers run by the test get the right payloads for a promotion and a
# rollback (generic JSON, ntfy); a receiver that hangs does not hold up the deployment; one that
# is down while agentd restarts gets its notifications once it is back. Receivers' URLs (their
# tokens) never reach agentd's log.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "notifications reach their receivers through the outbox, across a restart"

trap e2e_cleanup EXIT

# got NAME EVENT: NAME got a generic notification of EVENT.
got() { received "$1" | jq -s -e --arg e "$2" 'any(.[]; .event == $e)' >/dev/null; }
# ntfy_got NAME TITLE: NAME got an ntfy message titled TITLE.
ntfy_got() {
    [[ -f "$T/$1.log" ]] && jq -s -e --arg t "$2" 'any(.[]; .headers.title == $t)' "$T/$1.log" >/dev/null
}

receiver generic
receiver hang --hang
generic_url="http://127.0.0.1:$(cat "$T/generic.port")/hooks/GENERICSECRET"
hang_url="http://127.0.0.1:$(cat "$T/hang.port")/services/HANGSECRET"
printf '%s\n' "$hang_url" >"$T/hang.url"
# The ntfy receiver is down until agentd has restarted.
ntfy_port=$(closed_port)
ntfy_url="http://127.0.0.1:$ntfy_port/NTFYSECRET"

make_git_repo
push_image web web:1 "web v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
E2E_HEALTH_TIMEOUT=10s E2E_HEALTH_STABLE=2s write_config
cat >>"$CONFIG" <<YAML
notifications:
  - url: $generic_url
    format: generic
  - url_file: $T/hang.url
    format: slack
  - url: $ntfy_url
    format: ntfy
    events: [succeeded, rolled_back]
YAML
start_agentd

say "agentd started: the generic receiver hears of it; the hanging one holds its request"
wait_for "the started notification" 30 got generic started
wait_for "a request to the hanging receiver" 30 test -s "$T/hang.log"

say "release 1 is deployed while a receiver hangs"
sync_expect 0
good=$(latest_deployment)
good_id=$(json_get "$good" .id)
wait_for "the succeeded notification" 60 got generic succeeded
note=$(received generic | jq -c 'select(.event == "succeeded")' | head -n 1)
assert_json "$note" .version 1 "payload version"
assert_json "$note" .stack "$STACK" "succeeded: stack"
assert_json "$note" .deployment "$good_id" "succeeded: deployment"
assert_json "$note" .release.revision "$rev1" "succeeded: revision"
assert_json_true "$note" '.release.images.web | test("web:1@sha256:")' "succeeded: web's image"
assert_contains "$(json_get "$note" .summary)" "deployed" "succeeded: summary"
# The hanging receiver was asked, in Slack's format, and never answered.
assert_json "$(head -n 1 "$T/hang.log" | jq -c '.body | fromjson')" '.text | type' string \
    "slack payload's text"

say "release 2 is unhealthy and rolled back"
push_image unhealthy web:2 "web v2 unhealthy" >/dev/null
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
sync_expect 1
bad_id=$(json_get "$(latest_deployment)" .id)
wait_for "the rolled_back notification" 60 got generic rolled_back
note=$(received generic | jq -c 'select(.event == "rolled_back")' | head -n 1)
assert_json "$note" .deployment "$bad_id" "rolled_back: deployment"
assert_json "$note" .release.revision "$rev2" "rolled_back: revision"
assert_contains "$(json_get "$note" .reason)" unhealthy "rolled_back: reason"

say "agentd restarts while the ntfy receiver is down"
pending=$(sqlite3 -readonly "$(state_db)" \
    "SELECT count(*) FROM outbox WHERE next_attempt_at IS NOT NULL AND attempts > 0;")
((pending >= 2)) || fail "expected the ntfy notifications waiting in the outbox, found $pending"
stop_agentd
receiver ntfy --port "$ntfy_port"
start_agentd
wait_for "ntfy: succeeded" 30 ntfy_got ntfy "agentd: $STACK deployed"
wait_for "ntfy: rolled back" 30 ntfy_got ntfy "agentd: $STACK rolled back"
line=$(jq -c --arg t "agentd: $STACK rolled back" 'select(.headers.title == $t)' "$T/ntfy.log" | head -n 1)
assert_json "$line" .headers.priority 4 "ntfy priority of a rollback"
assert_json "$line" .headers.tags "rewind,warning" "ntfy tags of a rollback"
assert_contains "$(json_get "$line" .body)" "rolled back (deployment $bad_id)" "ntfy body"
# Its events: started is not among them.
if jq -s -e 'any(.[]; .headers.title == "agentd started")' "$T/ntfy.log" >/dev/null; then
    fail "the ntfy receiver got a started notification it did not ask for"
fi

say "no receiver's URL in agentd's log"
for secret in GENERICSECRET HANGSECRET NTFYSECRET; do
    if grep -q "$secret" "$AGENTD_LOG"; then fail "agentd's log shows a receiver's URL ($secret)"; fi
done
grep -q "(slack #2) failed" "$AGENTD_LOG" || fail "the hanging receiver's failures are not logged"

e2e_pass
