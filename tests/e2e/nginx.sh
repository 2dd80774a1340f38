#!/bin/bash
# Helpers for the blue-green scenarios: nginx as the proxy, on the host (Debian's) or as the
# `nginx` service of the stack's compose file (an image made from the host's nginx package,
# tests/images/build), and a load loop through it. Source after lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/nginx.sh"
#   nginx_start                 # on the host: NGINX_PORT, NGINX_CONF, NGINX_UPSTREAMS,
#                               # NGINX_PID_FILE
#   blue_green_yaml             # the stack's strategy and blue_green keys for write_config
# or
#   nginx_service_setup         # as a service: NGINX_PORT, NGINX_CONF (in NGINX_CONF_DIR),
#                               # NGINX_UPSTREAMS (in NGINX_UPSTREAM_DIR)
#   nginx_service_yaml IMAGE    # the service's text for the compose file
#   blue_green_service_yaml     # the stack's strategy and blue_green keys for write_config
# then
#   load_start main /version    # requests through nginx until load_stop
#   load_stop main; load_failures main   # the requests that did not answer 200
#
# nginx on the host is stopped when the scenario exits (the service goes with the stack's
# containers).

NGINX_DIR=""
NGINX_PORT=""
NGINX_CONF=""
NGINX_UPSTREAMS=""
NGINX_PID_FILE=""
NGINX_CONF_DIR=""
NGINX_UPSTREAM_DIR=""
E2E_LOADS=()

# nginx_placeholder FILE: the upstream file before the first switch, in agentd's format, pointing
# at a closed port (nginx answers 502 until the first switch).
nginx_placeholder() {
    cat >"$1" <<CONF
# agentd: stack=$STACK slot=blue deployment=0
upstream ${STACK}_web {
    server 127.0.0.1:$(closed_port);
}
CONF
}

# nginx_start: nginx (its own master, not the system's) on a free loopback port, sending / to
# the upstream ${STACK}_web that agentd writes into $NGINX_UPSTREAMS. Before the first switch
# the file holds a placeholder in agentd's format that points at a closed port.
nginx_start() {
    command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup installs it)"
    NGINX_DIR=$T/nginx
    NGINX_PORT=$(closed_port)
    NGINX_CONF=$NGINX_DIR/nginx.conf
    NGINX_UPSTREAMS=$NGINX_DIR/upstreams.conf
    NGINX_PID_FILE=$NGINX_DIR/nginx.pid
    mkdir -p "$NGINX_DIR/temp"
    nginx_placeholder "$NGINX_UPSTREAMS"
    cat >"$NGINX_CONF" <<CONF
daemon on;
worker_processes 1;
pid $NGINX_PID_FILE;
error_log $NGINX_DIR/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $NGINX_DIR/temp/body;
    proxy_temp_path $NGINX_DIR/temp/proxy;
    fastcgi_temp_path $NGINX_DIR/temp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/temp/uwsgi;
    scgi_temp_path $NGINX_DIR/temp/scgi;
    include $NGINX_UPSTREAMS;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { proxy_pass http://${STACK}_web; }
    }
}
CONF
    nginx -c "$NGINX_CONF" -p "$NGINX_DIR" || fail "nginx did not start: $(tail -n 5 "$NGINX_DIR/error.log")"
    trap nginx_on_exit EXIT
}

nginx_stop() {
    [[ -n "$NGINX_PID_FILE" && -s "$NGINX_PID_FILE" ]] || return 0
    kill -QUIT "$(cat "$NGINX_PID_FILE")" 2>/dev/null || true
    local end=$((SECONDS + 10))
    while [[ -s "$NGINX_PID_FILE" ]] && kill -0 "$(cat "$NGINX_PID_FILE")" 2>/dev/null; do
        ((SECONDS < end)) || { kill -KILL "$(cat "$NGINX_PID_FILE")" 2>/dev/null; break; }
        sleep 0.1
    done
}

nginx_on_exit() {
    local rc=$?
    local name
    for name in "${E2E_LOADS[@]}"; do touch "$T/load.$name.stop" 2>/dev/null; done
    nginx_stop
    # e2e_cleanup reads the scenario's status from $?; without `set +e` a failing status would
    # end the trap here, and agentd and the containers would outlive the scenario.
    set +e
    (exit "$rc")
    e2e_cleanup
}

# nginx_service_setup: the host directories of nginx as the `nginx` service of the stack's
# compose file (on the shared project), which publishes its port 80 on 127.0.0.1:$NGINX_PORT:
# $NGINX_CONF_DIR (bind-mounted at /etc/nginx/conf.d, which the image's nginx.conf includes in
# its http block) holds $NGINX_CONF, the site: the upstream file's include and / to upstream
# ${STACK}_web; $NGINX_UPSTREAM_DIR (bind-mounted at /etc/nginx/agentd: a directory, since agentd
# replaces the file by a rename) holds $NGINX_UPSTREAMS, the placeholder.
nginx_service_setup() {
    NGINX_DIR=$T/nginx
    NGINX_PORT=$(closed_port)
    NGINX_CONF_DIR=$NGINX_DIR/conf.d
    NGINX_CONF=$NGINX_CONF_DIR/site.conf
    NGINX_UPSTREAM_DIR=$NGINX_DIR/agentd
    NGINX_UPSTREAMS=$NGINX_UPSTREAM_DIR/upstreams.conf
    mkdir -p "$NGINX_CONF_DIR" "$NGINX_UPSTREAM_DIR"
    nginx_placeholder "$NGINX_UPSTREAMS"
    cat >"$NGINX_CONF" <<CONF
include /etc/nginx/agentd/upstreams.conf;
server {
    listen 80;
    location / { proxy_pass http://${STACK}_web; }
}
CONF
    trap nginx_on_exit EXIT
}

# nginx_service_yaml IMAGE [UPSTREAM_MOUNT]: the `nginx` service (restart: always, its port
# published on $NGINX_PORT, the two directories bind-mounted read-only), to append to a compose
# file's services. UPSTREAM_MOUNT replaces the upstream directory's volume line.
nginx_service_yaml() {
    local upstreams=${2:-$NGINX_UPSTREAM_DIR:/etc/nginx/agentd:ro}
    cat <<YAML
  nginx:
    image: $1
    restart: always
    ports: ["127.0.0.1:$NGINX_PORT:80"]
    volumes:
      - $NGINX_CONF_DIR:/etc/nginx/conf.d:ro
      - $upstreams
YAML
}

# blue_green_head_yaml KEEP_OLD_FOR: the keys every blue-green stack here has, up to `proxy:`.
blue_green_head_yaml() {
    cat <<YAML
    strategy: blue_green
    blue_green:
      services: [web]
      keep_old_for: $1
      drain: 1s
      soak: 4s
      proxy:
YAML
}

# blue_green_service_yaml [KEEP_OLD_FOR]: the stack keys of a blue-green stack proxied by the
# nginx service (nginx -t run inside its container, SIGHUP through the Engine API).
blue_green_service_yaml() {
    blue_green_head_yaml "${1:-10m}"
    cat <<YAML
        nginx: service
        service: nginx
        upstream_file: $NGINX_UPSTREAMS
YAML
}

# blue_green_yaml [KEEP_OLD_FOR]: the stack keys of a blue-green stack proxied by this nginx.
blue_green_yaml() {
    blue_green_head_yaml "${1:-10m}"
    cat <<YAML
        nginx: host
        upstream_file: $NGINX_UPSTREAMS
        test: [nginx, -c, $NGINX_CONF, -p, $NGINX_DIR, -t]
        reload: [nginx, -c, $NGINX_CONF, -p, $NGINX_DIR, -s, reload]
        pid_file: $NGINX_PID_FILE
YAML
}

# proxied: what nginx serves at /version now ("" when it does not answer 200).
proxied() { curl -fsS --max-time 5 "http://127.0.0.1:$NGINX_PORT/version" 2>/dev/null || true; }
proxies() { [[ "$(proxied)" == "$1" ]]; }

# load_start NAME PATH: requests through nginx, one after another, until load_stop NAME (at
# most 10 minutes); each request is a line of $T/load.NAME: START_MS END_MS STATUS BODY.
load_start() {
    local name=$1 path=$2
    rm -f "$T/load.$name" "$T/load.$name.stop"
    /usr/bin/python3 "$E2E_ROOT/tests/e2e/load_loop.py" "$NGINX_PORT" "$path" "$T/load.$name" \
        "$T/load.$name.stop" 600 </dev/null >"$T/load.$name.log" 2>&1 &
    echo $! >"$T/load.$name.pid"
    E2E_LOADS+=("$name")
    local end=$((SECONDS + 20))
    until [[ -s "$T/load.$name" ]]; do
        ((SECONDS < end)) || fail "the load loop $name sent nothing: $(cat "$T/load.$name.log")"
        sleep 0.1
    done
}

load_stop() {
    local name=$1
    touch "$T/load.$name.stop"
    local pid
    pid=$(cat "$T/load.$name.pid")
    local end=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < end)) || fail "the load loop $name did not stop"
        sleep 0.1
    done
}

# load_failures NAME: the requests that did not answer 200, one line each.
load_failures() { awk '$3 != 200' "$T/load.$1"; }
load_count() { wc -l <"$T/load.$1"; }

# assert_no_failed_requests NAME WHAT: every request of the load loop answered 200.
assert_no_failed_requests() {
    local failed
    failed=$(load_failures "$1")
    [[ -z "$failed" ]] || fail "$2: $(wc -l <<<"$failed") of $(load_count "$1") requests failed, e.g.: $(head -n 3 <<<"$failed")"
    say "$2: all $(load_count "$1") requests answered 200"
}

# assert_switch_timeline NAME DEPLOYMENT V0 V1 [V2]: in load loop NAME, nginx served V0 to every
# request that ended before DEPLOYMENT began its first switch, V1 to every one that started
# after that switch was recorded (and ended before the next one began), V2 after the second.
# A switch begins with a `switch` event ("traffic to slot", "traffic back to slot", "slot X
# still runs") and is recorded by "traffic on slot". Each window must hold requests.
assert_switch_timeline() {
    local name=$1 d=$2
    shift 2
    local versions=("$@") begins=() dones=() at message
    while IFS='|' read -r at message; do
        if [[ "$message" == "traffic on slot"* ]]; then dones+=("$at"); else begins+=("$at"); fi
    done < <(sqlite3 -readonly "$(state_db)" "SELECT at, message FROM events WHERE deployment_id = $d AND phase = 'switch' AND message NOT LIKE 'the proxy still%' ORDER BY id;")
    ((${#begins[@]} == ${#versions[@]} - 1 && ${#dones[@]} == ${#versions[@]} - 1)) ||
        fail "deployment $d: ${#begins[@]} switches begun and ${#dones[@]} recorded, expected $((${#versions[@]} - 1))"
    local i from to count wrong
    for i in "${!versions[@]}"; do
        from=0
        to=99999999999999
        ((i == 0)) || from=${dones[i - 1]}
        ((i == ${#versions[@]} - 1)) || to=${begins[i]}
        count=$(awk -v a="$from" -v b="$to" '$1 > a && $2 < b' "$T/load.$name" | wc -l)
        ((count > 0)) || fail "deployment $d: no request between its switches ($from to $to)"
        wrong=$(awk -v a="$from" -v b="$to" -v v="${versions[i]}" \
            '$1 > a && $2 < b && substr($0, index($0, $4)) != v' "$T/load.$name" | head -n 3)
        [[ -z "$wrong" ]] || fail "deployment $d: nginx served other than '${versions[i]}' between its switches: $wrong"
        say "deployment $d: $count requests served '${versions[i]}' in their window"
    done
}

# blue_green_rollbacks REV1 D2: three rounds under load, each without a failed request, from
# release 1 (REV1) on blue and release 2 (deployment D2) serving "web v2" from green, with
# keep_old_for long enough for all three: release 3 passes its slot's gate and fails the soak
# (traffic back on green); `agentctl rollback` to release 1, whose slot was replaced (blue starts
# it again); `agentctl rollback` inside keep_old_for (a switch back to green, nothing pulled,
# applied or started). The scenario's `release IMAGE` prints a release's compose file, web its
# first service. Sets D5, the last deployment; leaves the stack paused (by the rollbacks).
blue_green_rollbacks() {
    local rev1=$1 d2=$2 d3 d4
    say "automatic rollback: release 3 passes its slot's gate, then fails the soak"
    load_start soak /version
    # Its /health goes away 7 s after the start: after the slot's own gate, during the soak. Web's
    # command only (the first service).
    commit_compose "$(release "$(image_ref web:3)" | sed '0,/restart: always/s|restart: always|restart: always\n    command: ["/bin/sh", "-c", "trap \\"exit 0\\" TERM INT; httpd -f -p 80 -h /www \& sleep 7; rm /www/health; wait"]|')" "release 3" >/dev/null
    sync_expect 1
    d3=$(json_get "$(latest_deployment)" .id)
    assert_json "$(latest_deployment)" .status rolled_back "release 3"
    assert_contains "$(json_get "$(latest_deployment)" .reason)" "soak" "release 3: why"
    load_stop soak
    assert_no_failed_requests soak "automatic rollback"
    assert_switch_timeline soak "$d3" "web v2" "web v3" "web v2"
    assert_json_true "$(show_json "$d3")" \
        'any(.events[]; .phase == "rollback" and (.message | contains("traffic back on slot green")))' \
        "release 3: switched back"
    assert_eq "web v2" "$(proxied)" "nginx serves release 2 again"
    assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$d2" "the upstream file"

    say "rollback to release 1, whose slot was replaced: blue starts it again"
    load_start rollback /version
    ctl_expect 0 rollback "$STACK"
    d4=$(json_get "$(latest_deployment)" .id)
    assert_json "$(latest_deployment)" .status succeeded "rollback to release 1"
    assert_json "$(latest_deployment)" .revision "$rev1" "rollback to release 1"
    wait_for "release 1 served" 10 proxies "web v1"
    load_stop rollback
    assert_no_failed_requests rollback "rollback (a new start)"
    assert_switch_timeline rollback "$d4" "web v2" "web v1"

    say "rollback inside keep_old_for: a switch back to green, no container started"
    local starts_before
    starts_before=$(docker ps -aq --filter "label=com.docker.compose.project=$STACK-green" | sort)
    load_start instant /version
    ctl_expect 0 rollback "$STACK"
    D5=$(json_get "$(latest_deployment)" .id)
    assert_json "$(latest_deployment)" .status succeeded "rollback to release 2"
    wait_for "release 2 served" 10 proxies "web v2"
    load_stop instant
    assert_no_failed_requests instant "rollback (a switch)"
    assert_switch_timeline instant "$D5" "web v1" "web v2"
    assert_json_true "$(show_json "$D5")" \
        'any(.events[]; .phase == "switch" and (.message | contains("no container started")))' \
        "the instant rollback says so"
    assert_eq "$starts_before" \
        "$(docker ps -aq --filter "label=com.docker.compose.project=$STACK-green" | sort)" \
        "the instant rollback created no container"
    ! jq -e 'any(.events[]; .phase == "apply" or .phase == "pull")' <<<"$(show_json "$D5")" \
        >/dev/null || fail "the instant rollback pulled or applied"
}
