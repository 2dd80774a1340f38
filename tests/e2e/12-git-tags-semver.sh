#!/bin/bash
# A stack following semver git tags: v1.0.0, v1.1.0, v2.0.0-rc.1 and v1.2.0 pushed in turn are
# deployed as v1.0.0, v1.1.0, then v1.2.0, never the rc; a tag pushed before its image waits.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "git tags followed by a semver range; a tag waits for its image"

make_git_repo
# The compose file names the image built for the tag: AGENTD_VERSION is the tag without its v.
# shellcheck disable=SC2016
commit_compose "$(compose_stack "$(image_ref web):\${AGENTD_VERSION}")" "web follows the git tag" \
    >/dev/null
web100=$(push_image web web:1.0.0 "web 1.0.0")
push_git_tag v1.0.0
E2E_GIT_FOLLOW='tags: {semver: "^1"}' write_config
start_agentd

sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the first tagged release"
assert_json "$d" .tag v1.0.0 "the deployed tag"
assert_image "$d" web web "$web100"
assert_runs web "web 1.0.0"

say "v1.1.0 released"
web110=$(push_image web web:1.1.0 "web 1.1.0")
push_git_tag v1.1.0
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .tag v1.1.0 "the newer tag"
assert_image "$d" web web "$web110"
assert_runs web "web 1.1.0"

say "v2.0.0-rc.1 released: outside ^1, and a pre-release"
push_image web web:2.0.0-rc.1 "web 2.0.0-rc.1" >/dev/null
push_git_tag v2.0.0-rc.1
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "deployments after the rc was tagged"
assert_runs web "web 1.1.0"

say "v1.2.0 tagged before CI pushed its image"
push_git_tag v1.2.0
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status waiting "the release whose image is missing"
assert_json "$d" .tag v1.2.0 "the waiting tag"
# status names the waiting release and the image tag it waits for, since and until when.
st=$(stack_status)
assert_json "$st" .candidate "v1.2.0 waits for images: web: tag 1.2.0 not found in $(image_ref web)" \
    "status candidate"
assert_json "$st" .waiting.deployment "$(json_get "$d" .id)" "the waiting deployment"
# jq's fromdate reads whole seconds: the API's milliseconds (the same in both) are cut first.
assert_json "$st" '[.waiting.until, .waiting.since | sub("\\.[0-9]{3}Z$"; "Z") | fromdate] | .[0] - .[1]' 1800 \
    "the wait until rejection (image_wait, default 30m)"
assert_match "$(ctl status "$STACK")" \
    "next: v1\.2\.0 waits for images: web: tag 1\.2\.0 not found in [^ ]+/web \(since [^,]+, rejected in [0-9hms]+ if still missing\)" \
    "agentctl status of the waiting release"
assert_runs web "web 1.1.0"

say "CI pushes web:1.2.0"
web120=$(push_image web web:1.2.0 "web 1.2.0")
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the release once its image exists"
assert_json "$(stack_status)" .waiting null "status once nothing waits"
assert_json "$d" .tag v1.2.0 "the deployed tag"
assert_image "$d" web web "$web120"
assert_runs web "web 1.2.0"

e2e_pass
