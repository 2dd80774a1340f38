#!/bin/bash
# Images behind registries that authenticate, as ghcr.io and private registries serve them:
# htpasswd (Basic) and token (Bearer) auth, over TLS with a private CA (`registries: ca_file`)
# or plain HTTP on loopback. Credentials come from a `registries:` entry, from a Docker
# config.json (`auths`, `credHelpers`), or there are none (a public repository: anonymous
# token). agentd resolves the digests with them and hands them to the Docker engine, which pulls
# the images (no local copy exists). Wrong credentials or an untrusted certificate are a poll
# error naming the registry; nothing is deployed, the running containers are untouched, and the
# secrets appear nowhere. Tokens are reused: polls without changes issue no new token.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/registries.sh
source "$(dirname "$0")/registries.sh"
e2e_begin "htpasswd and token registries over TLS; registries:, config.json and anonymous credentials"
registries_begin

readonly user=deployer good=s3cret-pass-1234 bad=not-the-password-5678
make_test_ca
add_htpasswd_user "$REG_DIR/htpasswd" "$user" "$good"
printf '%s:%s\n' "$user" "$good" >"$REG_DIR/users"
start_token_issuer --users "$REG_DIR/users" --public "$STACK/public/" --expires-in 600
start_registry open http
open=$REG_ADDR
start_registry basic tls "{htpasswd: {realm: agentd-e2e, path: $REG_DIR/htpasswd}}"
basic=$REG_ADDR
start_registry token tls "$(token_auth_yaml "https://$ISSUER_HTTPS/token")"
token=$REG_ADDR
start_registry token-http http "$(token_auth_yaml "http://$ISSUER_HTTP/token")"
token_http=$REG_ADDR

web1=$(push_image_via "$open" web web:1 "web v1")
web2=$(push_image_via "$open" web web:2 "web v2")
web3=$(push_image_via "$open" web web:3 "web v3")
web4=$(push_image_via "$open" web web:4 "web v4")
web5=$(push_image_via "$open" web public/web:5 "web v5")

password=$T/registry.password
docker_config=$T/docker
mkdir -p "$docker_config" "$T/bin"

# use_registries [YAML_LIST_ITEMS]: agent.yaml with this `registries:` list (none when empty);
# a running agentd reloads it.
use_registries() {
    write_config
    [[ -z "${1:-}" ]] || printf 'registries:\n%s\n' "$1" >>"$CONFIG"
    [[ -z "$AGENTD_PID" ]] || ctl reload >/dev/null
}

# docker_config_json JSON: $DOCKER_CONFIG/config.json, read by agentd on every lookup.
docker_config_json() { printf '%s\n' "$1" >"$docker_config/config.json"; }

# auth_of USER PASSWORD: config.json's "auth" value.
auth_of() { printf '%s:%s' "$1" "$2" | base64 -w0; }

# assert_poll_error_names REGISTRY WHAT...: the last poll failed with an error naming REGISTRY
# and containing each WHAT; no secret in it.
assert_poll_error_names() {
    local registry=$1 status error
    shift
    status=$(stack_status)
    assert_json "$status" .last_poll.result error "last poll result"
    error=$(json_get "$status" .last_poll.error)
    assert_contains "$error" "$registry" "poll error names the registry"
    local what
    for what in "$@"; do assert_contains "$error" "$what" "poll error"; done
    [[ "$error" != *"$bad"* && "$error" != *"$good"* ]] || fail "poll error shows a password: $error"
}

assert_untouched() {
    assert_eq "$1" "$(history_count)" "history length"
    assert_eq "$2" "$(container_ids)" "containers"
}

# assert_deployed REGISTRY NAME:TAG DIGEST VERSION: the latest deployment succeeded with web at
# REGISTRY/$STACK/NAME@DIGEST, and the container runs that image and serves VERSION.
assert_deployed() {
    local registry=$1 name=$2 digest=$3 version=$4 latest image
    local repo=$registry/$STACK/${name%%:*}
    latest=$(latest_deployment)
    assert_json "$latest" .status succeeded "deployment of $repo"
    image=$(json_get "$latest" .images.web)
    [[ "$image" == "$repo"[:@]* && "$image" == *"@$digest" ]] ||
        fail "image of web: expected ${repo}[:tag]@$digest, got $image"
    assert_runs web "$version"
    assert_runs_digest web "$repo" "$digest"
}

make_git_repo
say "1. htpasswd (Basic) over TLS, credentials and ca_file from a registries: entry"
commit_compose "$(compose_stack "$basic/$STACK/web:1")" "release 1: web from the htpasswd registry" >/dev/null
echo "$bad" >"$password"
use_registries "  - {host: \"$basic\", username: $user, password_file: $password, ca_file: $REG_CA}"
DOCKER_CONFIG=$docker_config PATH="$T/bin:$PATH" start_agentd
sync_expect 1
assert_poll_error_names "$basic" "401"
assert_untouched 0 ""

say "the right password (the file is read at each use)"
echo "$good" >"$password"
sync_expect 0
assert_deployed "$basic" web:1 "$web1" "web v1"
count=$(history_count)
containers=$(container_ids)

say "the same entry without ca_file: the registry's certificate is not trusted"
use_registries "  - {host: \"$basic\", username: $user, password_file: $password}"
sync_expect 1
assert_poll_error_names "$basic" "certificate"
assert_untouched "$count" "$containers"
assert_runs web "web v1"

say "2. token (Bearer) auth over TLS: the token service refuses a wrong password"
commit_compose "$(compose_stack "$token/$STACK/web:2")" "release 2: web from the token registry" >/dev/null
echo "$bad" >"$password"
use_registries "  - {host: \"$token\", username: $user, password_file: $password, ca_file: $REG_CA}"
sync_expect 1
assert_poll_error_names "$token" "token service"
assert_untouched "$count" "$containers"
assert_json_true "$(issuer_stats)" '.refused >= 1' "the issuer refused the wrong password"
assert_runs web "web v1"

say "the right password: agentd and the engine get tokens"
echo "$good" >"$password"
sync_expect 0
assert_deployed "$token" web:2 "$web2" "web v2"
count=$(history_count)
containers=$(container_ids)
issued=$(issuer_stats .issued)
assert_json_true "$(issuer_stats)" ".by_account.$user >= 1" "tokens issued to $user"

say "polls without changes reuse the token (whichever worker runs them)"
manifest_requests() { grep -c "\"HEAD /v2/$STACK/web/manifests/2 " "$REG_DIR/token.log" || true; }
before=$(manifest_requests)
for _ in 1 2 3 4; do sync_expect 0; done
assert_eq "$issued" "$(issuer_stats .issued)" "tokens issued during four polls without changes"
(($(manifest_requests) >= before + 4)) ||
    fail "the polls did not ask the token registry: $before, then $(manifest_requests) HEAD requests"
assert_untouched "$count" "$containers"

say "3. no registries: entry: credentials from \$DOCKER_CONFIG/config.json (auths)"
commit_compose "$(compose_stack "$token_http/$STACK/web:3")" "release 3: web from the plain-HTTP token registry" >/dev/null
use_registries ""
docker_config_json "{\"auths\": {\"$token_http\": {\"auth\": \"$(auth_of "$user" "$bad")\"}}}"
sync_expect 1
assert_poll_error_names "$token_http" "token service"
assert_untouched "$count" "$containers"
docker_config_json "{\"auths\": {\"$token_http\": {\"auth\": \"$(auth_of "$user" "$good")\"}}}"
sync_expect 0
assert_deployed "$token_http" web:3 "$web3" "web v3"

say "4. a credHelpers entry runs docker-credential-e2e; the entry only sets ca_file"
commit_compose "$(compose_stack "$token/$STACK/web:4")" "release 4: web from the token registry again" >/dev/null
cat >"$T/bin/docker-credential-e2e" <<HELPER
#!/bin/sh
# A credential helper as docker-credential-helpers write them: "get" reads the server on stdin.
[ "\$1" = get ] || exit 1
read -r server
echo "\$server" >>"$T/helper.asked"
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$user" "\$(cat "$T/helper.secret")"
HELPER
chmod +x "$T/bin/docker-credential-e2e"
echo "$good" >"$T/helper.secret"
docker_config_json "{\"credHelpers\": {\"$token\": \"e2e\"}}"
use_registries "  - {host: \"$token\", ca_file: $REG_CA}"
sync_expect 0
assert_deployed "$token" web:4 "$web4" "web v4"
assert_eq "$token" "$(sort -u "$T/helper.asked")" "the server the credential helper was asked for"

say "5. anonymous: a public repository gets an anonymous pull token"
commit_compose "$(compose_stack "$token_http/$STACK/public/web:5")" "release 5: a public image" >/dev/null
docker_config_json '{}'
use_registries ""
anonymous=$(issuer_stats '.by_account[""] // 0')
sync_expect 0
assert_deployed "$token_http" public/web:5 "$web5" "web v5"
(($(issuer_stats '.by_account[""] // 0') > anonymous)) || fail "no anonymous token was issued"

say "no password in agentd's log"
! grep -qF -e "$good" -e "$bad" "$AGENTD_LOG" || fail "agentd's log shows a password"

e2e_pass
