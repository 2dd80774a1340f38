#!/bin/bash
# hooks: a release's `migrate` pre-deploy hook changes the data of a database container (a file
# the test's tiny store keeps in a named volume) before `up`; a failing migration rejects its
# release and leaves the old one running with its data untouched; a failing `smoke` post-deploy
# hook rolls the release back, and `on_rollback` runs after. Hook services have a compose profile
# and are never started by `up` (the gate passes without them).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "pre-deploy migrations, post-deploy smoke tests and on_rollback hooks"

# compose_hooks WEB_IMAGE MIGRATION SMOKE: db keeps its table's columns in /www/data/schema
# (volume data, served over HTTP); migrate, smoke and restore are one-off hook services.
compose_hooks() {
    cat <<YAML
services:
  db:
    image: $(image_ref web:1)
    restart: always
    volumes: ["data:/www/data"]
  web:
    image: $1
    restart: always
    depends_on: [db]
  migrate:
    image: $(image_ref web:1)
    profiles: [hooks]
    volumes: ["data:/data"]
    command: ["sh", "-c", "$2"]
  smoke:
    image: $(image_ref web:1)
    profiles: [hooks]
    command: ["sh", "-c", "$3"]
  restore:
    image: $(image_ref web:1)
    profiles: [hooks]
    volumes: ["data:/data"]
    command: ["sh", "-c", "echo restored >>/data/restored; echo restore ran"]
volumes:
  data: {}
YAML
}

# schema: the db container's table columns, one per line.
schema() {
    local id
    id=$(container_ids db | head -n 1)
    docker exec "$id" cat /www/data/schema
}
# smoke test of release N: the columns it needs are served by db.
smoke_for() { echo "wget -q -O- http://db/data/schema | grep -qx $1 && echo smoke ok"; }

make_git_repo
for version in 1 2 3 4; do
    push_image_async web "web:$version" "web v$version"
done
push_images_wait
rev1=$(commit_compose "$(compose_hooks "$(image_ref web:1)" \
    "echo id >/data/schema; echo created table" "$(smoke_for id)")" "release 1")
E2E_HEALTH_STABLE=1s write_config "    hooks:
      pre_deploy: [{service: migrate, timeout: 1m}]
      post_deploy: [{service: smoke, timeout: 1m}]
      on_rollback: [{service: restore, timeout: 1m}]"
start_agentd

say "release 1: its migration creates the table before up, its smoke test passes"
sync_expect 0
d1=$(latest_deployment)
assert_json "$d1" .status succeeded "release 1"
assert_runs web "web v1"
assert_eq "id" "$(schema)" "db's columns after release 1"
assert_eq "" "$(container_ids migrate)$(container_ids smoke)$(container_ids restore)" \
    "hook services started by up"
events=$(show_json "$(json_get "$d1" .id)")
assert_json_true "$events" 'any(.events[]; .phase == "pre_deploy" and (.message | test("created table")))' \
    "the migration's output in the events"
assert_json_true "$events" 'any(.events[]; .phase == "post_deploy" and (.message | test("smoke ok")))' \
    "the smoke test's output in the events"
order=$(json_get "$events" '[.events[].phase | select(. == "pre_deploy" or . == "apply" or . == "gate" or . == "post_deploy")] | unique_by(.) | length')
assert_eq 4 "$order" "phases of release 1"
first_apply=$(json_get "$events" '[.events[] | .phase] | index("apply")')
last_pre=$(json_get "$events" '[.events[] | .phase] | rindex("pre_deploy")')
((last_pre < first_apply)) || fail "the migration ran after apply ($last_pre >= $first_apply)"

say "release 2: its migration adds a column, then the new web runs"
commit_compose "$(compose_hooks "$(image_ref web:2)" \
    "grep -qx email /data/schema || echo email >>/data/schema" "$(smoke_for email)")" \
    "release 2" >/dev/null
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "release 2"
assert_runs web "web v2"
assert_eq $'id\nemail' "$(schema)" "db's columns after release 2"

say "release 3: its migration fails: rejected, release 2 and its data untouched"
containers=$(container_ids)
rev3=$(commit_compose "$(compose_hooks "$(image_ref web:3)" \
    "echo 'ALTER TABLE failed' >&2; exit 3" "$(smoke_for phone)")" "release 3")
sync_expect 1
d3=$(latest_deployment)
assert_json "$d3" .status rejected "release 3"
assert_json "$d3" .revision "$rev3" "the rejected deployment"
assert_contains "$(json_get "$d3" .reason)" "pre_deploy hook migrate failed: exit 3" "release 3's reason"
assert_contains "$(json_get "$d3" .reason)" "ALTER TABLE failed" "release 3's reason"
assert_runs web "web v2"
assert_eq "$containers" "$(container_ids)" "containers after the failed migration"
assert_eq $'id\nemail' "$(schema)" "db's columns after the failed migration"
assert_eq "" "$(container_ids migrate)" "one-off migrate containers left"

say "release 4: migrated, but its smoke test fails: rolled back, on_rollback runs"
commit_compose "$(compose_hooks "$(image_ref web:4)" \
    "grep -qx phone /data/schema || echo phone >>/data/schema" "echo 'GET /orders: 500'; exit 1")" \
    "release 4" >/dev/null
sync_expect 1
d4=$(latest_deployment)
assert_json "$d4" .status rolled_back "release 4"
assert_contains "$(json_get "$d4" .reason)" "post_deploy hook smoke failed: exit 1" "release 4's reason"
assert_runs web "web v2"
db_id=$(container_ids db | head -n 1)
assert_eq "restored" "$(docker exec "$db_id" cat /www/data/restored)" "on_rollback's work"
events=$(show_json "$(json_get "$d4" .id)")
assert_json_true "$events" 'any(.events[]; .phase == "on_rollback" and (.message | test("restore ran")))' \
    "on_rollback's output in the events"

e2e_pass
