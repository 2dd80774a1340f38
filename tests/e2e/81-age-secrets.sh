#!/bin/bash
# Secrets in git: an env file encrypted with Debian's `age` to the host's key is committed next
# to the compose file, agentd decrypts it in memory at deploy time and the container sees the
# value, which is nowhere else: not in state.db, agentd's log, the API's answers, the state
# directory (checkouts, caches) or /tmp. A release whose file is encrypted to another key is
# rejected, naming the file, and the running release is kept.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "an age-encrypted env file in git deploys; its plaintext is nowhere on disk or in the API"

command -v age >/dev/null || fail "age is not installed (scripts/setup installs it)"

# compose_env WEB_IMAGE: web with APP_SECRET and APP_MODE from the env files.
compose_env() {
    compose_stack "$1"
    cat <<'YAML'
    environment:
      APP_SECRET: ${APP_SECRET}
      APP_MODE: ${APP_MODE}
YAML
}

# container_env NAME: NAME's value in web's running container.
container_env() {
    local id
    id=$(docker ps -q --filter "label=com.docker.compose.project=$STACK" \
        --filter "label=com.docker.compose.service=web" | head -n 1)
    [[ -n "$id" ]] || return 1
    docker exec "$id" env | sed -n "s/^$1=//p"
}

# commit_encrypted PATH RECIPIENT PLAINTEXT MESSAGE: PATH encrypted to RECIPIENT (the plaintext
# goes to age on stdin, never to a file), committed and pushed; prints the revision.
commit_encrypted() {
    local path=$1 recipient=$2 plaintext=$3 message=$4
    mkdir -p "$(dirname "$WORK/$path")"
    printf '%s\n' "$plaintext" | age -r "$recipient" -o "$WORK/$path"
    git -C "$WORK" add "$path"
    git -C "$WORK" commit -q -m "$message"
    git -C "$WORK" push -q origin main
    git -C "$WORK" rev-parse HEAD
}

# assert_nowhere VALUE WHAT: VALUE is in no file under the state directory, /tmp, agentd's log,
# and no API answer. Not counted: runc's /tmp/runc-process* files, the spec of a process that
# Docker runs in the container (a healthcheck, docker exec) with the container's environment,
# which holds the value by design while the process starts.
assert_nowhere() {
    local value=$1 what=$2 found answers
    found=$(grep -r -a -l -F --exclude='runc-process*' -- "$value" "$T/state" /tmp 2>/dev/null ||
        true)
    [[ -z "$found" ]] || fail "$what: the plaintext is on disk in: $found"
    ! grep -a -q -F -- "$value" "$AGENTD_LOG" || fail "$what: the plaintext is in agentd's log"
    ! sqlite3 -readonly "$(state_db)" .dump | grep -a -q -F -- "$value" ||
        fail "$what: the plaintext is in state.db"
    answers="$(status_json)$(history_json)$(ctl --json diff "$STACK" || true)"
    for id in $(history_json | jq -r '.deployments[].id'); do
        answers+=$(show_json "$id")
    done
    ! grep -a -q -F -- "$value" <<<"$answers" || fail "$what: the plaintext is in an API answer"
}

mkdir -p "$T/host"
age-keygen -o "$T/host/agent.key" 2>/dev/null
age-keygen -o "$T/host/other.key" 2>/dev/null
recipient=$(age-keygen -y "$T/host/agent.key")
other_recipient=$(age-keygen -y "$T/host/other.key")
# Random, so that a match anywhere can only come from this run.
secret="e2e-secret-$(openssl rand -hex 16)"
second_secret="e2e-second-$(openssl rand -hex 16)"

make_git_repo
push_image web web:1 "web v1" >/dev/null
say "release 1: defaults.env in plaintext, secrets.env.age encrypted to the host's key"
commit_file "$STACK_PATH/defaults.env" $'APP_MODE=plain\nAPP_SECRET=placeholder' "defaults" >/dev/null
commit_encrypted "$STACK_PATH/secrets.env.age" "$recipient" "APP_SECRET=$secret" "secrets" >/dev/null
rev1=$(commit_compose "$(compose_env "$(image_ref web:1)")" "release 1")
write_config "    env_files: [defaults.env, secrets.env.age]"
echo "age_identity_file: $T/host/agent.key" >>"$CONFIG"
start_agentd
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .status succeeded "release 1"
assert_json "$first" .revision "$rev1" "release 1"
say "the container sees the decrypted value; the later file overrides the earlier one"
[[ "$(container_env APP_SECRET)" == "$secret" ]] || fail "APP_SECRET in the container is not the decrypted value"
assert_eq "plain" "$(container_env APP_MODE)" "APP_MODE from defaults.env"
assert_nowhere "$secret" "after release 1"

say "release 2: the secret rotated, encrypted as ASCII armor"
printf 'APP_SECRET=%s\n' "$second_secret" | age -a -r "$recipient" -o "$WORK/$STACK_PATH/secrets.env.age"
git -C "$WORK" commit -q -am "rotate the secret"
git -C "$WORK" push -q origin main
rev2=$(git -C "$WORK" rev-parse HEAD)
sync_expect 0
assert_json "$(latest_deployment)" .revision "$rev2" "release 2"
[[ "$(container_env APP_SECRET)" == "$second_secret" ]] || fail "APP_SECRET after the rotation"
containers=$(container_ids)
id2=$(json_get "$(latest_deployment)" .id)

say "release 3: secrets.env.age encrypted to another key is rejected, release 2 keeps running"
commit_encrypted "$STACK_PATH/secrets.env.age" "$other_recipient" "APP_SECRET=$secret" \
    "secrets for another host" >/dev/null
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rejected "the release encrypted to another key"
reason=$(json_get "$bad" .reason)
assert_contains "$reason" "secrets.env.age" "the rejection names the file"
assert_contains "$reason" "no identity matches" "the rejection says why"
assert_eq "$containers" "$(container_ids)" "containers after the rejection"
[[ "$(container_env APP_SECRET)" == "$second_secret" ]] || fail "APP_SECRET after the rejection"
assert_json "$(stack_status)" .current.id "$id2" "current after the rejection"

say "an unreadable identity file is a transient failure: nothing is marked bad"
commit_encrypted "$STACK_PATH/secrets.env.age" "$recipient" "APP_SECRET=$secret" \
    "secrets for this host again" >/dev/null
mv "$T/host/agent.key" "$T/host/agent.key.away"
bad_before=$(bad_release_count)
sync_expect 1
assert_eq "$bad_before" "$(bad_release_count)" "bad releases after a missing identity file"
status=$(stack_status)
assert_json "$status" .last_poll.result error "last poll with the identity file missing"
assert_contains "$(json_get "$status" .last_poll.error)" "age_identity_file" \
    "the poll error names the identity file"
assert_json "$status" .current.id "$id2" "current with the identity file missing"
mv "$T/host/agent.key.away" "$T/host/agent.key"
sync_expect 0
[[ "$(container_env APP_SECRET)" == "$secret" ]] || fail "APP_SECRET once the identity is back"

assert_nowhere "$secret" "at the end"
assert_nowhere "$second_secret" "at the end"
e2e_pass
