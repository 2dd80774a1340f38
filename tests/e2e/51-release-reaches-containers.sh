#!/bin/bash
# A release reaches the containers that read what it changed, and only those: a `build:`
# service whose build context changed is rebuilt, a service bind-mounting a changed file of
# the repository is recreated, and an untouched database keeps its container. A rollback
# restores the older content the same way.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "changed build contexts and bind-mounted files reach the containers; db untouched"

make_git_repo
push_image web web:1 "web v1" >/dev/null
push_image worker db:1 "db v1" >/dev/null

# app is built here from the local base image (no registry), serving its context's version.
compose="services:
  app:
    build: ./app
    image: $(image_ref app:local)
    restart: always
  web:
    image: $(image_ref web:1)
    restart: always
    volumes: [\"./site/page.txt:/www/page.txt:ro\"]
    healthcheck:
      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1/health\"]
      interval: 1s
      timeout: 5s
      retries: 3
  db:
    image: $(image_ref db:1)
    restart: always"
dockerfile="FROM $base_image
COPY version.txt /www/version
CMD [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1; done\"]"
commit_file "$STACK_PATH/app/Dockerfile" "$dockerfile" "app's Dockerfile" >/dev/null
commit_file "$STACK_PATH/app/version.txt" "app 1" "app 1" >/dev/null
commit_file "$STACK_PATH/site/page.txt" "page 1" "page 1" >/dev/null
rev1=$(commit_compose "$compose" "release 1")
write_config
start_agentd

say "release 1"
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .revision "$rev1" "first deployment's revision"
assert_eq "app 1" "$(project_file "$STACK" app /www/version)" "app's content"
assert_eq "page 1" "$(project_file "$STACK" web /www/page.txt)" "web's mounted page"
db_before=$(container_starts | grep '^db ')
web_before=$(container_starts | grep '^web ')
app_before=$(container_starts | grep '^app ')

say "release 2 changes the build context and the mounted page, not db"
commit_file "$STACK_PATH/app/version.txt" "app 2" "app 2" >/dev/null
rev2=$(commit_file "$STACK_PATH/site/page.txt" "page 2" "release 2")
sync_expect 0
second=$(latest_deployment)
assert_json "$second" .status succeeded "second deployment"
assert_json "$second" .revision "$rev2" "second deployment's revision"
assert_eq "app 2" "$(project_file "$STACK" app /www/version)" "app's content after release 2"
assert_eq "page 2" "$(project_file "$STACK" web /www/page.txt)" "web's page after release 2"
assert_eq "$db_before" "$(container_starts | grep '^db ')" "db's container (id, start time)"
assert_ne "$web_before" "$(container_starts | grep '^web ')" "web's container after release 2"
assert_ne "$app_before" "$(container_starts | grep '^app ')" "app's container after release 2"
events=$(show_json "$(json_get "$second" .id)")
assert_json_true "$events" \
    '[.events[] | select(.phase == "apply") | .message] | any(test("rebuild app; recreate web"))' \
    "the apply event names what is rebuilt and recreated"

say "rolling back restores release 1's content, db still untouched"
ctl rollback "$STACK" >/dev/null
third=$(latest_deployment)
assert_json "$third" .status succeeded "the rollback"
assert_json "$third" .revision "$rev1" "the rollback's revision"
assert_eq "app 1" "$(project_file "$STACK" app /www/version)" "app's content after the rollback"
assert_eq "page 1" "$(project_file "$STACK" web /www/page.txt)" "web's page after the rollback"
assert_eq "$db_before" "$(container_starts | grep '^db ')" "db's container after the rollback"

e2e_pass
