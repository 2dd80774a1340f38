#!/bin/bash
# e2e: timeout 900
# agentd as a container (packaging/container/Dockerfile, docs/container.md): the users' image,
# built here FROM a Debian 12 base made by mmdebstrap (Docker Hub is not reachable), with the
# .deb of the tested build. Run as examples/agentd-in-compose runs it (the Docker socket, the
# state directory at the same path as on the host, the configuration file read-only), it deploys
# and promotes a release whose compose file bind-mounts a file of the repository by a relative
# path, rejects an unhealthy one and restores the good release exactly; it answers agentctl
# inside the container, becomes healthy by the image's HEALTHCHECK, logs to `docker logs`,
# reloads on `docker kill -s HUP`, and `docker stop` ends it cleanly (exit 0) long before the
# stop timeout.
#
# The base image is tagged by a hash of what makes it (mmdebstrap's arguments) and kept between
# runs (making it takes minutes); the agentd image and container are removed at the end.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "agentd in a container: deploy, promote, roll back, health, logs, docker stop"

for tool in mmdebstrap dpkg-buildpackage; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup installs it)"
done

readonly mirrors=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)
# As debian:bookworm-slim: Priority required packages and apt, no documentation.
readonly debootstrap_args=(--variant=minbase --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' bookworm)
# What the official image sets.
readonly import_changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["bash"]')
debian_base=agentd-e2e/debian-bookworm-slim:$(printf '%s\n' "${debootstrap_args[@]}" "${mirrors[@]}" \
    "${import_changes[@]}" | sha256sum | cut -c1-16)
readonly debian_base
agentd_image=agentd-e2e/agentd:$STACK
readonly agentd_image
# The container carries a compose project label named after the stack, so that the harness's
# cleanup (and the runner's, after a scenario it had to kill) removes it with the stack's own.
agentd_container=$STACK-agentd
readonly agentd_container
LOGS_PID=""

on_exit() {
    local rc=$?
    trap - ERR
    set +e
    docker rm -f "$agentd_container" >/dev/null 2>&1
    [[ -z "$LOGS_PID" ]] || wait "$LOGS_PID" 2>/dev/null
    docker rmi -f "$agentd_image" >/dev/null 2>&1
    (exit "$rc")
    e2e_cleanup
}
trap on_exit EXIT

if docker image inspect "$debian_base" >/dev/null 2>&1; then
    say "base image $debian_base (made by an earlier run)"
else
    say "making the base image $debian_base with mmdebstrap"
    mmdebstrap --quiet "${debootstrap_args[@]}" "$T/base.tar" "${mirrors[@]}" \
        >"$T/mmdebstrap.log" 2>&1 || fail "mmdebstrap failed: $(tail -5 "$T/mmdebstrap.log")"
    docker import "${import_changes[@]}" "$T/base.tar" "$debian_base" >/dev/null
    rm -f "$T/base.tar"
fi

say "packaging the tested build ($e2e_build_dir) with packaging/build-deb"
mkdir "$T/image"
deb=$(DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
    "$E2E_ROOT/packaging/build-deb" --build-dir "$e2e_build_dir" --output "$T/image" \
    2>"$T/build-deb.log" | tail -n 1) || fail "packaging/build-deb failed: $(tail -5 "$T/build-deb.log")"
[[ -f "$deb" ]] || fail "packaging/build-deb made no .deb: $(tail -5 "$T/build-deb.log")"
cp "$E2E_ROOT/packaging/container/Dockerfile" "$T/image/"
say "docker build of packaging/container/Dockerfile FROM $debian_base with $(basename "$deb")"
docker build -q --force-rm --build-arg "BASE=$debian_base" -t "$agentd_image" "$T/image" >"$T/docker-build.log" 2>&1 ||
    fail "docker build failed: $(tail -20 "$T/docker-build.log")"
assert_eq '["CMD","agentctl","status"]' \
    "$(docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$agentd_image")" "the image's HEALTHCHECK"

# The users' compose file of the same setup is one compose v1 reads (compose v2 reads more).
example=$E2E_ROOT/examples/agentd-in-compose/compose.yaml
docker-compose -f "$example" config -q 2>"$T/example.err" ||
    fail "docker-compose does not accept $example: $(cat "$T/example.err")"

make_git_repo
web1=$(push_image web web:1 "web v1")
push_image worker worker:1 "worker v1" >/dev/null
# web bind-mounts ./motd.txt of the repository: compose, running in the container against the
# host's engine, names its path in the state directory, which must be the same on the host.
with_motd() {
    sed '0,/^    restart: always$/s||&\n    volumes: ["./motd.txt:/www/motd.txt:ro"]|'
}
commit_file "$STACK_PATH/motd.txt" "motd of release 1" "motd" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)" "$(image_ref worker:1)" | with_motd)" "release 1")
write_config
say "starting agentd in container $agentd_container"
# The state directory, the socket and the repository live in $T: mounted at the same path, so
# agentctl on this side reaches the socket too. --network host: the registry listens on loopback.
docker run -d --name "$agentd_container" --label "com.docker.compose.project=$agentd_container" \
    --network host -v /var/run/docker.sock:/var/run/docker.sock -v "$T:$T" \
    -v "$CONFIG:/etc/agentd/agent.yaml:ro" -e "AGENTD_SOCKET=$SOCKET" \
    --health-interval 1s --health-start-period 30s --stop-timeout 120 "$agentd_image" >/dev/null
docker logs -f "$agentd_container" >>"$AGENTD_LOG" 2>&1 &
LOGS_PID=$!
running() { [[ "$(docker inspect -f '{{.State.Running}}' "$agentd_container" 2>&1)" == true ]]; }
end=$((SECONDS + 60))
until agentd_answers; do
    running || fail "the container stopped: $(docker inspect -f '{{.State.Status}}, exit {{.State.ExitCode}}' "$agentd_container")"
    ((SECONDS < end)) || fail "agentd in the container did not answer on $SOCKET within 60s"
    sleep 0.25
done

say "release 1"
sync_expect 0
good=$(latest_deployment)
assert_json "$good" .status succeeded "release 1"
assert_json "$good" .revision "$rev1" "release 1's revision"
assert_image "$good" web web "$web1"
assert_runs web "web v1"
assert_runs worker "worker v1"
assert_eq "motd of release 1" "$(project_file "$STACK" web /www/motd.txt)" \
    "the repository's file web bind-mounts by a relative path"
assert_eq "running healthy" "$(service_state web)" "web after release 1"

say "release 2: a new healthy image is promoted"
web2=$(push_image web web:2 "web v2")
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)" "$(image_ref worker:1)" | with_motd)" "release 2")
sync_expect 0
promoted=$(latest_deployment)
assert_json "$promoted" .status succeeded "release 2"
assert_json "$promoted" .revision "$rev2" "release 2's revision"
assert_image "$promoted" web web "$web2"
assert_eq superseded "$(deployment_status "$(json_get "$good" .id)")" "release 1 after release 2"
assert_runs web "web v2"
assert_runs_digest web "$(image_ref web)" "$web2"
good=$promoted

say "release 3: web fails its healthcheck"
push_image unhealthy web:3 "web v3 unhealthy" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:3)" "$(image_ref worker:1)" | with_motd)" "release 3" >/dev/null
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rolled_back "release 3"
assert_contains "$(json_get "$bad" .reason)" unhealthy "the rollback reason"
current=$(json_get "$(stack_status)" .current)
assert_json "$current" .id "$(json_get "$good" .id)" "the current deployment after the rollback"
assert_json "$current" .revision "$rev2" "the current revision after the rollback"
assert_eq "$(json_get "$good" '.images | tojson')" "$(json_get "$current" '.images | tojson')" \
    "the current images after the rollback: release 2's, exactly"
assert_runs web "web v2"
assert_runs worker "worker v1"
assert_runs_digest web "$(image_ref web)" "$web2"
assert_eq "running healthy" "$(service_state web)" "web after the rollback"

say "agentctl inside the container, the image's healthcheck, docker logs"
out=$(docker exec "$agentd_container" agentctl status) || fail "docker exec agentctl status failed: $out"
assert_contains "$out" "$STACK" "agentctl status in the container"
healthy() { [[ "$(docker inspect -f '{{.State.Health.Status}}' "$agentd_container")" == healthy ]]; }
wait_for "the container's health to be healthy" 60 healthy
logs=$(docker logs "$agentd_container" 2>&1)
assert_contains "$logs" "agentd: ready" "docker logs"
assert_contains "$logs" "$STACK" "docker logs name the stack"

say "docker kill -s HUP: tini passes the signal on, agentd reloads agent.yaml"
docker kill -s HUP "$agentd_container" >/dev/null
reloaded() { docker logs "$agentd_container" 2>&1 | grep -q "SIGHUP: reloading"; }
wait_for "agentd to log the reload" 30 reloaded
agentd_answers || fail "agentd does not answer after the reload"

say "docker stop"
started=$SECONDS
docker stop "$agentd_container" >/dev/null
took=$((SECONDS - started))
assert_eq "0" "$(docker inspect -f '{{.State.ExitCode}}' "$agentd_container")" "agentd's exit status after docker stop"
((took < 60)) || fail "docker stop took ${took}s (the stop timeout is 120s)"
assert_contains "$(docker logs "$agentd_container" 2>&1)" "agentd: stopped" "docker logs after docker stop"
assert_runs web "web v2"
say "docker stop took ${took}s"

e2e_pass
