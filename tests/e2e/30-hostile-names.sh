#!/bin/bash
# Hostile names from the network: a git remote advertising tags like "--privileged", "-rf",
# "a..b", control characters or a 10 KB semver-looking name, a registry whose tag list holds
# "--privileged", "-v/:/host", "../x" and a 10 KB tag, and a release whose compose file names
# the image "--privileged". agentd skips the names (one warning, each shown escaped and capped),
# picks the good tags, rejects the release with the hostile image naming it, keeps serving the
# release before it, and none of the names ever reaches a docker or compose command line.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/proxy.sh
source "$(dirname "$0")/proxy.sh"
# shellcheck source=SCRIPTDIR/git_faults.sh
source "$(dirname "$0")/git_faults.sh"
e2e_begin "hostile git tags, registry tags and image names are skipped or rejected, never run"

# Every docker and docker-compose agentd starts goes through a wrapper that records its argv.
real_docker=$(command -v docker)
real_compose=$(command -v docker-compose)
mkdir -p "$T/bin"
for tool in docker docker-compose; do
    real=$real_docker
    [[ "$tool" == docker-compose ]] && real=$real_compose
    cat >"$T/bin/$tool" <<SH
#!/bin/bash
printf '%s\n' "$tool \$*" >>"$T/argv.log"
exec "$real" "\$@"
SH
    chmod +x "$T/bin/$tool"
done
export PATH="$T/bin:$PATH"

make_git_repo
proxy_start
git_daemon_trap proxy_on_exit
git_daemon_start
WEB_PORT=$(closed_port)
push_image web web:1.0.0 "web 1.0.0" >/dev/null
commit_compose "$(served_stack "$(proxy_image_ref web:1.0.0)")" "web follows ^1" >/dev/null
push_git_tag v1.0.0
E2E_GIT_FOLLOW='tags: {semver: "^1"}' write_config '    images:
      web: {semver: "^1"}'
use_git_daemon  # a real git server: upload-pack advertises what packed-refs holds
start_agentd
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .tag v1.0.0 "the first release"
assert_serves "web 1.0.0"

say "v1.1.0 released; the remote also advertises hostile tags, the registry hostile tags"
push_image web web:1.1.0 "web 1.1.0" >/dev/null
commit_file README.md "release 1.1.0" "release 1.1.0" >/dev/null
push_git_tag v1.1.0
# Written into packed-refs, as a hostile or broken server holds them; git's upload-pack
# advertises them all. Names git accepts (the first line) stay; the others make git refuse
# pushes to the repository ("bad object"), so they are removed again after this poll.
head=$(git -C "$WORK" rev-parse HEAD)
long_semver="v1.$(printf '9%.0s' $(seq 10240)).0"
git_valid=("--privileged" "-rf" "-v1.9.0" "$long_semver" "$(printf 'v%.0s' $(seq 300))")
git_invalid=("v1.9.0..x" "v1.9.0$(printf '\001')" "v1.9.0 --privileged")
{
    [[ -f "$BARE/packed-refs" ]] || echo "# pack-refs with: peeled "
    for name in "${git_valid[@]}" "${git_invalid[@]}"; do echo "$head refs/tags/$name"; done
} >>"$BARE/packed-refs"
hostile_list=$(jq -cn --arg long "$(printf '1%.0s' $(seq 10240))" \
    '{name: "x", tags: ["1.0.0", "1.1.0", "--privileged", "-v/:/host", "../x", "1.9.0\n",
                        "1.9.0 --privileged", $long]}')
proxy_answer -1 "^GET /v2/$STACK/web/tags/list" 200 \
    "\"body\": $(jq -cn --arg b "$hostile_list" '$b'), \"headers\": {\"Content-Type\": \"application/json\"}"
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the release after the hostile tags"
assert_json "$d" .tag v1.1.0 "the good git tag picked"
assert_json_true "$d" ".images.web | startswith(\"$(proxy_image_ref web:1.1.0)@sha256:\")" \
    "the good image tag picked"
assert_serves "web 1.1.0"
assert_json "$(stack_status)" .last_poll.result ok "the poll with hostile names about"
# One warning per source naming a few, escaped and capped: no raw control character, no 10 KB.
grep -a -q 'skipping [0-9]* tag(s) whose names agentd does not take' "$AGENTD_LOG" ||
    fail "no warning about the skipped git tags in the agentd log"
grep -a -q 'skipping [0-9]* invalid tag(s) of '"$STACK"'/web ("--privileged"' "$AGENTD_LOG" ||
    fail "no warning naming the skipped registry tags"
if LC_ALL=C grep -a -q $'\001' "$AGENTD_LOG"; then fail "a control character reached the log"; fi
longest=$(awk '{ if (length($0) > max) max = length($0) } END { print max + 0 }' "$AGENTD_LOG")
((longest < 2000)) || fail "a log line of $longest characters: a long name was not capped"

grep -a -v -e 'v1\.9\.0\.\.x' -e $'v1\.9\.0\001' -e 'v1\.9\.0 --privileged' "$BARE/packed-refs" \
    >"$T/packed-refs" || true
cp "$T/packed-refs" "$BARE/packed-refs"

say "v1.2.0's compose file names the image \"--privileged\""
store_snapshot
current_id=$(json_get "$(stack_status)" .current.id)
commit_compose "$(served_stack "--privileged")" "release 1.2.0 (hostile image)" >/dev/null
push_git_tag v1.2.0
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rejected "the release with a hostile image name"
assert_json "$bad" .tag v1.2.0 "the rejected tag"
assert_contains "$(json_get "$bad" .reason)" 'invalid image reference "--privileged"' \
    "the rejection names the image"
shown=$(ctl show "$(json_get "$bad" .id)")
assert_contains "$shown" 'invalid image reference "--privileged"' "agentctl show of the rejection"
assert_json "$(stack_status)" .current.id "$current_id" "the current release after the rejection"
assert_serves "web 1.1.0"
assert_store_kept "after the hostile image"

say "the next good release is deployed by itself"
push_image web web:1.3.0 "web 1.3.0" >/dev/null
hostile_list=$(jq -c '.tags += ["1.3.0"]' <<<"$hostile_list")
proxy_clear_rules
proxy_answer -1 "^GET /v2/$STACK/web/tags/list" 200 \
    "\"body\": $(jq -cn --arg b "$hostile_list" '$b'), \"headers\": {\"Content-Type\": \"application/json\"}"
commit_compose "$(served_stack "$(proxy_image_ref web:1.0.0)")" "release 1.3.0" >/dev/null
push_git_tag v1.3.0
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the release after the rejection"
assert_json "$d" .tag v1.3.0 "the good tag after the rejection"
assert_serves "web 1.3.0"
assert_store_kept "after recovering"

say "no hostile name reached a docker or compose command line"
[[ -s "$T/argv.log" ]] || fail "the argv wrapper recorded nothing: agentd did not run docker or compose"
for needle in -- "--privileged" "-v/:/host" "-rf" "../x" "v1.9.0" "1.9.0" "999999"; do
    [[ "$needle" == -- ]] && continue
    if grep -a -F -q -e "$needle" "$T/argv.log"; then
        fail "\"$needle\" reached a command line: $(grep -a -F -e "$needle" "$T/argv.log" | head -n 3)"
    fi
done

e2e_pass
