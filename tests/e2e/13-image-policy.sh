#!/bin/bash
# A service whose image tag is chosen by a semver policy over the registry's tags: the highest
# allowed tag runs, a newer one is picked up, tags outside the range and cosign artefacts never.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "an image tag chosen from the registry by a semver policy"

make_git_repo
commit_compose "$(compose_stack "$(image_ref web:latest)")" "web, tag chosen by policy" >/dev/null
push_image web web:1.0.0 "web 1.0.0" >/dev/null
web11=$(push_image web web:1.1.0 "web 1.1.0")
push_image web web:2.0.0 "web 2.0.0" >/dev/null
push_image web web:sha256-abc.sig "a signature" >/dev/null
write_config "$(printf '    images:\n      web: {semver: "^1"}')"
start_agentd

sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the first deployment"
assert_image "$d" web web:1.1.0 "$web11"
assert_json "$d" .images.web "$(image_ref web:1.1.0)@$web11" "the recorded image"
assert_runs web "web 1.1.0"

say "1.2.0 pushed"
web12=$(push_image web web:1.2.0 "web 1.2.0")
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .images.web "$(image_ref web:1.2.0)@$web12" "the newer tag"
assert_runs web "web 1.2.0"

say "nothing new: no deployment"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "deployments after a no-op sync"

e2e_pass
