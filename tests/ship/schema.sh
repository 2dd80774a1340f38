#!/bin/bash
# config/agent.schema.json matches what agentd accepts:
# - it is a valid JSON Schema (draft 2020-12) and every example configuration (config/agent.yaml,
#   examples/**/agent.yaml, the EXAMPLE of agent.yaml(5)) validates against it and passes
#   `agentd --check-config` (when the build has agentd: $AGENTD_BUILD_DIR, default build/);
# - the cases of config_cases.txt are accepted or refused alike by the schema and by agentd;
# - its keys are exactly the ones agent/config/*.cpp accepts, and exactly the ones documented in
#   docs/configuration.md and man/agent.yaml.5.scd (the convention is in schema_tool.py).
source "$(dirname "$0")/lib.sh"

# Debian's python3, where python3-jsonschema and python3-yaml (scripts/setup) are installed.
py=/usr/bin/python3
if ! "$py" -c 'import jsonschema, yaml' 2>/dev/null; then
    echo "installing python3-jsonschema and python3-yaml"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-jsonschema python3-yaml \
        </dev/null >/dev/null 2>&1 || true
fi
if ! "$py" -c 'import jsonschema, yaml' 2>/dev/null; then
    fail "python3 cannot import jsonschema and yaml (apt-get install python3-jsonschema python3-yaml)"
    finish
fi

tool=("$py" "$ship_root/tests/ship/schema_tool.py")
schema=$ship_root/config/agent.schema.json
agentd=$ship_build/agentd
[[ -x $agentd ]] || agentd=""
[[ -n $agentd ]] || echo "note: no $ship_build/agentd: the schema is checked without agentd"

check "agent.schema.json is a valid draft 2020-12 schema" "${tool[@]}" keys "$schema"

examples=("$ship_root/config/agent.yaml")
while IFS= read -r file; do examples+=("$file"); done \
    < <(find "$ship_root/examples" -name agent.yaml 2>/dev/null | sort)
# The man page's EXAMPLE block.
sed -n '/^# EXAMPLE/,/^# /p' "$ship_root/man/agent.yaml.5.scd" | sed -n '/^```/,/^```/p' |
    sed '/^```/d' >"$ship_tmp/man-example.yaml"
if [[ -s $ship_tmp/man-example.yaml ]]; then
    examples+=("$ship_tmp/man-example.yaml")
else
    fail "agent.yaml.5.scd has no EXAMPLE block"
fi
for file in "${examples[@]}"; do
    name=${file#"$ship_root"/}
    [[ $file == "$ship_tmp/man-example.yaml" ]] && name="the EXAMPLE of agent.yaml(5)"
    check "schema accepts $name" "${tool[@]}" validate "$schema" "$file"
    if [[ -n $agentd ]]; then
        check "agentd --check-config accepts $name" "$agentd" --check-config --config "$file"
    fi
done

# The case table: schema and agentd agree on what is valid.
"${tool[@]}" cases "$schema" "$ship_root/tests/ship/config_cases.txt" $agentd \
    >"$ship_tmp/cases.out" 2>&1
cat "$ship_tmp/cases.out"
ship_failures=$((ship_failures + $(grep -c '^FAIL' "$ship_tmp/cases.out")))
if ! grep -q '^PASS' "$ship_tmp/cases.out"; then
    fail "the case table produced no results"
fi

# The keys: code, schema, docs and man page.
"${tool[@]}" code "$schema" "$ship_root"/agent/config/*.cpp >"$ship_tmp/keys.out" 2>&1
"${tool[@]}" compare "$schema" "$ship_root/docs/configuration.md" md >>"$ship_tmp/keys.out" 2>&1
"${tool[@]}" compare "$schema" "$ship_root/man/agent.yaml.5.scd" scd >>"$ship_tmp/keys.out" 2>&1
cat "$ship_tmp/keys.out"
ship_failures=$((ship_failures + $(grep -vc '^PASS' "$ship_tmp/keys.out")))

# The comparison notices a missing key: drop one from a copy of the man page.
sed '/^\*git.credentials.ssh_key_file\*/d' "$ship_root/man/agent.yaml.5.scd" >"$ship_tmp/less.scd"
"${tool[@]}" compare "$schema" "$ship_tmp/less.scd" scd >"$ship_tmp/less.out" 2>&1
if grep -q '^FAIL.*ssh_key_file' "$ship_tmp/less.out"; then
    pass "a key missing from the man page is reported"
else
    fail "a key missing from the man page goes unnoticed"
fi
finish
