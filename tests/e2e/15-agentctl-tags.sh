#!/bin/bash
# `agentctl tags` asks agentd for a repository's tags in the real registry: listed in version
# order, with a semver range (pre-releases excluded, the `v` prefix kept, the highest selected)
# or a regex with numerical order; a bad range, an invalid reference, an unknown repository and
# an unreachable registry are clear errors.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "agentctl tags lists a registry's tags through agentd and tries a policy on them"

repo=$(image_ref web)
push_image web web:1.0.0 >/dev/null
# One image under every tag: each extra push only adds a manifest reference.
for tag in v1.1.0 1.10.0 1.9.0 2.0.0-rc.1 latest main-9 main-10 sha256-abc.sig; do
    docker tag "$repo:1.0.0" "$repo:$tag"
done
docker push -q --all-tags "$repo" >/dev/null
# No stacks: agentd only answers the API.
cat >"$CONFIG" <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
YAML
start_agentd

say "no policy: every tag, versions first by precedence"
listed=$(ctl tags "$repo")
assert_eq "1.0.0 v1.1.0 1.9.0 1.10.0 2.0.0-rc.1 latest main-9 main-10 sha256-abc.sig" \
    "$(paste -sd ' ' <<<"$listed")" "agentctl tags"
doc=$(ctl --json tags "$repo:latest")
assert_json "$doc" '.tags | join(" ")' \
    "1.0.0 v1.1.0 1.9.0 1.10.0 2.0.0-rc.1 latest main-9 main-10 sha256-abc.sig" "tags --json"
assert_json "$doc" 'has("matches") or has("selected")' false "tags --json without a policy"

say "a semver range"
doc=$(ctl --json tags "$repo" --semver '^1')
assert_json "$doc" '.matches | join(" ")' "1.10.0 1.9.0 v1.1.0 1.0.0" "matches of ^1"
assert_json "$doc" .selected 1.10.0 "selected by ^1"
assert_json "$doc" '.tags | length' 9 "tags listed with a policy"
table=$(ctl tags "$repo" --semver '~1.1')
assert_match "$table" $'\nv1\\.1\\.0 +selected\n' "the v-prefixed tag selected by ~1.1"
assert_match "$table" $'\n2\\.0\\.0-rc\\.1 +no\n' "the rc under ~1.1"
assert_contains "$table" $'\nselected: v1.1.0' "the last line"
doc=$(ctl --json tags "$repo" --semver '>=2.0.0-0')
assert_json "$doc" .selected 2.0.0-rc.1 "a range naming a pre-release"

say "a regex with numerical order"
doc=$(ctl --json tags "$repo" --regex '^main-(?P<n>[0-9]+)$' --order numerical)
assert_json "$doc" '.matches | join(" ")' "main-10 main-9" "numerical matches"
assert_json "$doc" .selected main-10 "numerical selection"
doc=$(ctl --json tags "$repo" --regex '^main-(?P<n>[0-9]+)$')
assert_json "$doc" .selected main-9 "alphabetical selection"
ctl_expect 1 tags "$repo" --semver '^3'
assert_contains "$CTL_OUT" 'no tag matches semver "^3"' "a range matching nothing"

say "errors"
ctl_expect 2 tags "$repo" --semver '<<1'
assert_contains "$CTL_ERR" 'agentctl tags: --semver: semver range "<<1"' "a bad range"
api=$(curl -s --unix-socket "$SOCKET" -w ' %{http_code}' \
    "http://localhost/v1/tags?image=$repo&semver=%3C%3C1")
assert_contains "$api" '"error":"semver: semver range \"<<1\"' "the API's answer to a bad range"
assert_eq 400 "${api##* }" "the API's status for a bad range"
ctl_expect 2 tags "$AGENTD_TEST_REGISTRY/$STACK/nope"
assert_eq "agentctl: repository $AGENTD_TEST_REGISTRY/$STACK/nope not found" "$CTL_ERR" \
    "an unknown repository"
ctl_expect 2 tags "$AGENTD_TEST_REGISTRY/Web"
assert_contains "$CTL_ERR" "agentctl: image: " "an invalid reference"
port=$(closed_port)
ctl_expect 1 tags "127.0.0.1:$port/acme/web"
assert_contains "$CTL_ERR" "agentctl: registry 127.0.0.1:$port" "an unreachable registry"

e2e_pass
