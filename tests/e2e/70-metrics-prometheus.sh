#!/bin/bash
# api.listen: /healthz, /readyz and /metrics on TCP, no control route there; promtool accepts
# the exposition; a real Prometheus scrapes agentd and its query API returns agentd's series;
# the counters move as a release is promoted and the next one rolled back; a failing poll makes
# /readyz 503 naming the stack and why. The example alert rules of docs/operations.md pass
# `promtool check rules`.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "metrics, health and readiness on api.listen, scraped by a real Prometheus"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    fail "prometheus and promtool are missing (Debian package prometheus; scripts/setup)"
fi

PROM_PID=""
prom_on_exit() {
    local rc=$?
    set +e
    if [[ -n "$PROM_PID" ]]; then
        kill -TERM "$PROM_PID" 2>/dev/null
        wait "$PROM_PID" 2>/dev/null
    fi
    (exit "$rc")
    e2e_cleanup
}
trap prom_on_exit EXIT

E2E_HEALTH_TIMEOUT=15s
make_git_repo
push_image web web:1 "web v1" >/dev/null
push_image worker worker:1 "worker v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)" "$(image_ref worker:1)")" "release 1")
write_config
port=$(closed_port)
sed -i "s|^  socket: .*|&\n  listen: 127.0.0.1:$port|" "$CONFIG"
start_agentd
base=http://127.0.0.1:$port

# code_of METHOD PATH: the HTTP status agentd's listener answers.
code_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$1" "$base$2"; }
metrics() { curl -fsS --max-time 10 "$base/metrics"; }
# metric_value 'SERIES{labels}': its value in a scrape now ("" when absent).
metric_value() { metrics | awk -v s="$1" '$1 == s { print $2 }'; }

say "healthz and readyz"
health=$(curl -fsS --max-time 10 "$base/healthz")
assert_json "$health" .status ok "healthz status"
assert_json "$health" .version "$("$AGENTD" --version | awk '{print $2}')" "healthz version"
assert_json_true "$health" '.uptime_seconds >= 0' "healthz uptime"

say "no control route, nor the socket API, on TCP"
assert_eq 404 "$(code_of POST "/v1/stacks/$STACK/sync")" "POST sync on TCP"
assert_eq 404 "$(code_of POST "/v1/stacks/$STACK/rollback")" "POST rollback on TCP"
assert_eq 404 "$(code_of POST /v1/reload)" "POST reload on TCP"
assert_eq 404 "$(code_of GET /v1/status)" "GET status on TCP"
assert_eq 404 "$(code_of GET /v1/events)" "GET events (live progress) on TCP"
assert_eq 405 "$(code_of POST /metrics)" "POST /metrics"
assert_eq 0 "$(history_count)" "deployments after the requests on TCP"

say "a real Prometheus scrapes agentd every second"
prom_port=$(closed_port)
cat >"$T/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: agentd
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
promtool check config "$T/prometheus.yml" >/dev/null
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn </dev/null >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
# prom_value QUERY: the first value of an instant query, "" when there is none (yet).
prom_value() {
    curl -fsS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // empty'
}
prom_equals() { [[ "$(prom_value "$1")" == "$2" ]]; }

say "release 1 is promoted"
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "release 1"
metrics >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics: $(promtool check metrics <"$T/metrics.txt" 2>&1)"
assert_eq 1 "$(metric_value "agentd_deployments_total{stack=\"$STACK\",result=\"succeeded\"}")" "succeeded deployments"
assert_eq 1 "$(metric_value "agentd_release_info{stack=\"$STACK\",revision=\"$rev1\",tag=\"\"}")" "release info"
# agentd's own first poll at start and the sync's (the one that deployed is either)
polls=$(metric_value "agentd_polls_total{stack=\"$STACK\"}")
assert_match "$polls" '^[12]$' "polls"
assert_eq 0 "$(metric_value "agentd_poll_errors_total{stack=\"$STACK\"}")" "poll errors"
assert_eq 1 "$(metric_value "agentd_gate_duration_seconds_count{stack=\"$STACK\"}")" "gates"
assert_match "$(metric_value "agentd_registry_requests_total{host=\"$AGENTD_TEST_REGISTRY\",code=\"200\"}")" '^[1-9][0-9]*$' "registry requests answered 200"
ready=$(curl -sS --max-time 10 -w '\n%{http_code}' "$base/readyz")
assert_eq 200 "$(tail -n 1 <<<"$ready")" "readyz code after a good poll"
assert_json "$(head -n 1 <<<"$ready")" .status ok "readyz status"
assert_json_true "$(head -n 1 <<<"$ready")" '[.checks[] | select(.ok)] | length == 3' "readyz checks"

say "Prometheus's query API returns agentd's series"
wait_for "Prometheus to see release 1's deployment" 30 \
    prom_equals "agentd_deployments_total{stack=\"$STACK\",result=\"succeeded\"}" 1
assert_eq 1 "$(prom_value "up{job=\"agentd\"}")" "Prometheus's up for agentd"
assert_eq 1 "$(prom_value "agentd_release_info{stack=\"$STACK\",revision=\"$rev1\"}")" "release info in Prometheus"

say "release 2 fails its gate and is rolled back: the counters move"
push_image unhealthy web:2 "web v2 unhealthy" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)" "$(image_ref worker:1)")" "release 2" >/dev/null
sync_expect 1
assert_json "$(latest_deployment)" .status rolled_back "release 2"
assert_eq 1 "$(metric_value "agentd_deployments_total{stack=\"$STACK\",result=\"rolled_back\"}")" "rolled back deployments"
assert_eq 1 "$(metric_value "agentd_rollbacks_total{stack=\"$STACK\",kind=\"automatic\"}")" "automatic rollbacks"
assert_eq $((polls + 1)) "$(metric_value "agentd_polls_total{stack=\"$STACK\"}")" "polls after release 2"
assert_eq 3 "$(metric_value "agentd_gate_duration_seconds_count{stack=\"$STACK\"}")" "gates: release 1, release 2, the restore"
assert_eq 1 "$(metric_value "agentd_release_info{stack=\"$STACK\",revision=\"$rev1\",tag=\"\"}")" "release info after the rollback"
metrics | promtool check metrics || fail "promtool check metrics after the rollback"
wait_for "Prometheus to see the rollback" 30 \
    prom_equals "agentd_rollbacks_total{stack=\"$STACK\",kind=\"automatic\"}" 1
wait_for "Prometheus to see the last poll" 30 \
    prom_equals "agentd_polls_total{stack=\"$STACK\"}" $((polls + 1))

say "the git repository disappears: the poll fails, readyz says which stack and why"
mv "$BARE" "$BARE.gone"
sync_expect 1
ready=$(curl -sS --max-time 10 -w '\n%{http_code}' "$base/readyz")
assert_eq 503 "$(tail -n 1 <<<"$ready")" "readyz code after a failed poll"
ready=$(head -n 1 <<<"$ready")
assert_json "$ready" .status degraded "readyz status after a failed poll"
assert_json "$ready" "[.checks[] | select(.name == \"stack $STACK\") | .ok][0]" false "the stack's check"
assert_contains "$(json_get "$ready" "[.checks[] | select(.name == \"stack $STACK\") | .detail][0]")" \
    "failed: git" "the stack's check says why"
assert_eq 1 "$(metric_value "agentd_poll_errors_total{stack=\"$STACK\"}")" "poll errors"
mv "$BARE.gone" "$BARE"
sync_expect 0
assert_eq 200 "$(code_of GET /readyz)" "readyz code once the poll succeeds again"

say "the example alert rules of docs/operations.md"
promtool check rules "$E2E_ROOT/examples/monitoring/agentd-alerts.yml" >/dev/null ||
    fail "promtool check rules: $(promtool check rules "$E2E_ROOT/examples/monitoring/agentd-alerts.yml" 2>&1)"

e2e_pass
