#!/bin/bash
# git.verify with SSH keys: a tag signed (git tag -s, gpg.format=ssh) by the release key is
# deployed and its signer shown; a newer unsigned tag, and one signed by a key that is not in
# allowed_signers, are rejected before anything is pulled, and the signed release keeps serving.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "signed git tags deploy; unsigned or wrongly signed ones are rejected"

make_git_repo
mkdir -p "$T/keys"
ssh-keygen -q -t ed25519 -N "" -C release -f "$T/keys/release"
ssh-keygen -q -t ed25519 -N "" -C intruder -f "$T/keys/intruder"
echo "release@example.com namespaces=\"git\" $(cat "$T/keys/release.pub")" >"$T/allowed_signers"

# signed_tag KEY TAG: what a maintainer's CI does: git tag -s with an SSH key, then push.
signed_tag() {
    git -C "$WORK" -c gpg.format=ssh -c "user.signingkey=$T/keys/$1" tag -s -m "release $2" "$2"
    git -C "$WORK" push -q origin "$2"
}

# shellcheck disable=SC2016
commit_compose "$(compose_stack "$(image_ref web):\${AGENTD_VERSION}")" "web follows the git tag" \
    >/dev/null
push_image web web:1.0.0 "web 1.0.0" >/dev/null
signed_tag release v1.0.0
E2E_GIT_FOLLOW="tags: {semver: \"^1\"}
      verify: {mode: tag, allowed_signers: $T/allowed_signers}" write_config
start_agentd

sync_expect 0
d=$(latest_deployment)
assert_json "$d" .status succeeded "the signed release"
assert_json "$d" .tag v1.0.0 "the deployed tag"
assert_runs web "web 1.0.0"
events=$(show_json "$(json_get "$d" .id)" | jq -r '.events[] | select(.phase == "verify") | .message')
assert_match "$events" "^tag v1\.0\.0: signed by release@example\.com \(ssh key ED25519 SHA256:" \
    "the verify event names the signer and key"
containers=$(container_ids)

say "v1.1.0 tagged without a signature"
push_image web web:1.1.0 "web 1.1.0" >/dev/null
push_git_tag v1.1.0
sync_expect 1
d=$(latest_deployment)
assert_json "$d" .status rejected "the unsigned release"
assert_json "$d" .reason "signature: tag v1.1.0: not signed" "why it was rejected"
assert_eq "$containers" "$(container_ids)" "containers after the unsigned tag"
assert_runs web "web 1.0.0"

say "v1.2.0 signed by a key that is not in allowed_signers"
push_image web web:1.2.0 "web 1.2.0" >/dev/null
signed_tag intruder v1.2.0
sync_expect 1
d=$(latest_deployment)
assert_json "$d" .status rejected "the release signed by another key"
assert_match "$(json_get "$d" .reason)" \
    "^signature: tag v1\.2\.0: signed by a key not in allowed_signers $T/allowed_signers" \
    "why it was rejected"
assert_eq "$containers" "$(container_ids)" "containers after the wrongly signed tag"
assert_runs web "web 1.0.0"
assert_json "$(stack_status)" .current.tag v1.0.0 "what runs"

say "the rejected releases are not tried again"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length after another sync"

e2e_pass
