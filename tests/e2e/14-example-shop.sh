#!/bin/bash
# The example deploy repository (examples/deploy/shop: web behind a healthcheck, a worker, a
# database with a named volume, a one-off migrate service) deploys and is upgraded; the one-off
# service's clean exit passes the gate and the named volume keeps its data across releases.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "the example shop stack: one-off migrate and a named volume across releases"

port=$(closed_port)
example() {
    sed -e "s|localhost:5000/shop|$AGENTD_TEST_REGISTRY/$STACK|" \
        -e "s|127.0.0.1:8080:80|127.0.0.1:$port:80|" \
        -e "s|:1\.0\.0$|:$1|" "$E2E_ROOT/examples/deploy/shop/compose.yaml"
}
migrations() {
    docker run --rm -v "${STACK}_db-data:/data" agentd-test/busybox:latest cat /data/migrations
}

make_git_repo
push_image web web:1.0.0 "shop web 1.0.0" >/dev/null
push_image worker worker:1.0.0 "shop worker 1.0.0" >/dev/null
rev1=$(commit_compose "$(example 1.0.0)" "shop 1.0.0")
write_config
start_agentd

sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the example's first release"
assert_eq "db,migrate,web,worker" "$(jq -r '.images | keys | join(",")' <<<"$d")" \
    "services with images"
assert_runs web "shop web 1.0.0"
assert_eq "running none" "$(service_state db)" "the database"
assert_eq "exited none" "$(service_state migrate)" "the one-off migrate service"
assert_eq "0" "$(docker inspect -f '{{.State.ExitCode}}' "$(container_ids migrate | head -n 1)")" \
    "migrate's exit code"
assert_eq "migrated to $rev1" "$(migrations)" "the migrations volume after 1.0.0"

say "release 1.1.0"
push_image web web:1.1.0 "shop web 1.1.0" >/dev/null
push_image worker worker:1.1.0 "shop worker 1.1.0" >/dev/null
rev2=$(commit_compose "$(example 1.1.0)" "shop 1.1.0")
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "the example's second release"
assert_runs web "shop web 1.1.0"
assert_eq "migrated to $rev1
migrated to $rev2" "$(migrations)" "the named volume kept the first migration"

e2e_pass
