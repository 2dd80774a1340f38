#!/usr/bin/env python3
"""Helpers for tests/ship/schema.sh: validate YAML files against config/agent.schema.json, run
the case table, and list the configuration keys of the schema, the man page and the docs.

Key convention (what `keys` prints, one "SECTION KEY" per line):
  sections: top (the top level), stack (an item of stacks), registry (an item of registries),
  notification (an item of notifications),
  defaults (the keys `defaults` accepts), policy (the keys of a tag policy, $defs/tagPolicy,
  and of an images entry, $defs/imagePolicy: the union of their oneOf branches);
  keys: dotted paths inside their section, "[]" for list items: git.credentials.username,
  health.http[].url. A map key whose value is a map of keys (git, health, api) is "interior":
  documentation may list it but need not; every other key must be documented. A key whose value
  is a tag policy (git.tags) or a map of them (images) is a key of its section; the policy's own
  keys are the policy section.
  docs/configuration.md: the first column of the key tables under "## Top level", "## Stacks"
  "## Registries", "## Notifications" and "## Tag policies" (`key`), and the backticked keys of the sentence "`defaults` takes the
  stack keys ...: `a`, `b` and `c`." under "## Defaults".
  man/agent.yaml.5.scd: the term lines starting with *key* under "# TOP LEVEL", "# STACKS",
  "# REGISTRIES", "# NOTIFICATIONS" and "# TAG POLICIES", and the *keys* of the sentence "*defaults* takes the stack keys ...:" under
  "# DEFAULTS".
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml


def load_schema(path):
    with open(path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validator(schema):
    return jsonschema.Draft202012Validator(schema)


def problems(schema, text):
    """The schema's complaints about a YAML text, as strings (empty: valid)."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        return [f"YAML: {e}"]
    if len(documents) > 1:
        return ["more than one YAML document"]
    document = documents[0] if documents else None
    return [f"{e.json_path}: {e.message}" for e in validator(schema).iter_errors(document)]


def cmd_validate(schema_path, files):
    schema = load_schema(schema_path)
    bad = 0
    for name in files:
        with open(name) as f:
            found = problems(schema, f.read())
        for p in found:
            print(f"{name}: {p}")
        bad += bool(found)
    return 1 if bad else 0


# The source tree, for cases that name files of it (@SOURCE_ROOT@).
SOURCE_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_cases(path):
    """`### EXPECT: description` then the YAML text, up to the next ###. EXPECT: valid, invalid
    (both the schema and agentd refuse it) or code-invalid (a check across values that only
    agentd makes). @SOURCE_ROOT@ in the text is the source tree's absolute path."""
    cases = []
    with open(path) as f:
        for line in f:
            line = line.replace("@SOURCE_ROOT@", SOURCE_ROOT)
            m = re.match(r"^### (valid|invalid|code-invalid): (.*)$", line)
            if m:
                cases.append([m.group(1), m.group(2), ""])
            elif cases:
                cases[-1][2] += line
    return cases


def cmd_cases(schema_path, cases_path, agentd=None):
    """Prints PASS/FAIL per case and checker; returns the number of failures."""
    schema = load_schema(schema_path)
    failures = 0

    def report(ok, text):
        nonlocal failures
        print(("PASS: " if ok else "FAIL: ") + text)
        failures += not ok

    for expect, description, text in read_cases(cases_path):
        found = problems(schema, text)
        schema_valid = expect in ("valid", "code-invalid")
        detail = "" if schema_valid == (not found) else f" ({'; '.join(found) or 'accepted'})"
        report(schema_valid == (not found),
               f"schema {'accepts' if schema_valid else 'refuses'}: {description}{detail}")
        if agentd:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(text)
                f.flush()
                run = subprocess.run([agentd, "--check-config", "--config", f.name],
                                     capture_output=True, text=True, timeout=30)
            want = 0 if expect == "valid" else 2
            detail = "" if run.returncode == want else \
                f" (exit {run.returncode}: {(run.stdout + run.stderr).strip()[:300]})"
            report(run.returncode == want,
                   f"agentd --check-config exits {want}: {description}{detail}")
    return failures


def resolve(schema, node):
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def is_policy(node):
    return node.get("$ref") in ("#/$defs/tagPolicy", "#/$defs/imagePolicy")


def walk(schema, node, prefix, keys, interior, stop=()):
    node = resolve(schema, node)
    for name, child in node.get("properties", {}).items():
        path = prefix + name
        target = resolve(schema, child)
        if name in stop or is_policy(child):
            keys.add(path)
        elif "properties" in target:
            interior.add(path)
            walk(schema, target, path + ".", keys, interior)
        elif "properties" in resolve(schema, target.get("items", {})):
            keys.add(path)
            walk(schema, target["items"], path + "[].", keys, interior)
        else:
            keys.add(path)


def schema_keys(schema):
    """{section: (keys that must be documented, interior keys that may be)}."""
    sections = {}
    for section, node, stop in [("top", schema,
                                 ("defaults", "registries", "notifications", "stacks")),
                                ("stack", schema["$defs"]["stack"], ()),
                                ("registry", schema["$defs"]["registry"], ()),
                                ("notification", schema["$defs"]["notification"], ())]:
        keys, interior = set(), set()
        walk(schema, node, "", keys, interior, stop)
        sections[section] = (keys, interior)
    defaults = set(resolve(schema, schema["$defs"]["defaults"])["properties"])
    sections["defaults"] = (defaults, set())
    policy = set()
    for name in ("tagPolicy", "imagePolicy"):
        for branch in schema["$defs"][name]["oneOf"]:
            policy |= set(branch["properties"])
    sections["policy"] = (policy, set())
    return sections


def doc_keys(path, kind):
    """{section: keys} from docs/configuration.md (kind md) or agent.yaml.5.scd (kind scd)."""
    headings = {"md": {"## Top level": "top", "## Stacks": "stack", "## Registries": "registry",
                       "## Notifications": "notification", "## Tag policies": "policy",
                       "## Defaults": "defaults"},
                "scd": {"# TOP LEVEL": "top", "# STACKS": "stack", "# REGISTRIES": "registry",
                        "# NOTIFICATIONS": "notification", "# TAG POLICIES": "policy",
                        "# DEFAULTS": "defaults"}}[kind]
    term = r"^\| `([^`]+)` \|" if kind == "md" else r"^\*([^*]+)\*"
    mark = "`" if kind == "md" else r"\*"
    sections = {s: set() for s in headings.values()}
    section = None
    text = open(path).read()
    for line in text.splitlines():
        if line.startswith("#"):
            section = headings.get(line.strip())
            continue
        if section in ("top", "stack", "registry", "notification", "policy"):
            m = re.match(term, line)
            if m:
                sections[section].add(m.group(1))
    # The defaults sentence may wrap over lines.
    opener = "`defaults` takes" if kind == "md" else "*defaults* takes"
    start = text.find(opener)
    if start >= 0:
        sentence = text[text.index(":", start):text.index(".", start)]
        sections["defaults"] = set(re.findall(mark + r"([a-z_.]+)" + mark, sentence))
    return sections


def cmd_compare(schema_path, path, kind):
    """Prints PASS/FAIL per section; returns the number of failures."""
    sections = schema_keys(load_schema(schema_path))
    documented = doc_keys(path, kind)
    failures = 0
    for section, (keys, interior) in sections.items():
        undocumented = sorted(keys - documented[section])
        unknown = sorted(documented[section] - keys - interior)
        if undocumented or unknown:
            failures += 1
            print(f"FAIL: {path}: {section} keys differ from the schema: "
                  f"not documented {undocumented}, not in the schema {unknown}")
        else:
            print(f"PASS: {path}: the {len(keys)} {section} keys match the schema")
    return failures


# Where each key list of agent/config/*.cpp (`constexpr std::string_view k_NAME_keys[] = {...}`)
# sits: (section, path prefix).
CODE_LISTS = {"top": ("top", ""), "api": ("top", "api."), "stack": ("stack", ""),
              "defaults": ("defaults", ""), "git": ("stack", "git."),
              "credentials": ("stack", "git.credentials."),
              "git_verify": ("stack", "git.verify."), "health": ("stack", "health."),
              "probe": ("stack", "health.http[]."), "registry": ("registry", ""),
              "policy": ("policy", ""), "image": ("policy", ""),
              "verify": ("stack", "verify."), "cosign": ("stack", "verify.cosign."),
              "notification": ("notification", ""), "hooks": ("stack", "hooks."),
              "window": ("stack", "window."),
              "blue_green": ("stack", "blue_green."),
              "fleet": ("top", "fleet."), "etcd": ("top", "fleet.etcd."),
              "rollout": ("stack", "rollout."),
              "proxy": ("stack", "blue_green.proxy."),
              # One list of keys for the items of the three kinds of hooks.
              "hook": ("stack", ("hooks.pre_deploy[].", "hooks.post_deploy[].",
                                 "hooks.on_rollback[]."))}


def code_keys(sources):
    """{section: key paths} accepted by the C++ reader."""
    sections = {"top": set(), "stack": set(), "registry": set(), "notification": set(),
                "defaults": set(), "policy": set()}
    found = set()
    for source in sources:
        text = open(source).read()
        for name, body in re.findall(r"std::string_view k_(\w+)_keys\[\]\s*=\s*\{([^}]*)\}", text):
            if name not in CODE_LISTS:
                raise SystemExit(f"{source}: unknown key list k_{name}_keys: add it to CODE_LISTS")
            section, prefixes = CODE_LISTS[name]
            found.add(name)
            for prefix in (prefixes if isinstance(prefixes, tuple) else (prefixes,)):
                sections[section] |= {prefix + k for k in re.findall(r'"([^"]+)"', body)}
    missing = set(CODE_LISTS) - found
    if missing:
        raise SystemExit(f"key lists not found in the sources: {sorted(missing)}")
    return sections


def cmd_code(schema_path, sources):
    """Compares the schema with the reader's key lists; returns the number of failures."""
    sections = schema_keys(load_schema(schema_path))
    accepted = code_keys(sources)
    failures = 0
    for section, (keys, interior) in sections.items():
        in_schema = keys | interior
        not_in_schema = sorted(accepted[section] - in_schema)
        not_in_code = sorted(in_schema - accepted[section])
        if not_in_schema or not_in_code:
            failures += 1
            print(f"FAIL: {section} keys of the code and the schema differ: accepted but not in "
                  f"the schema {not_in_schema}, in the schema but not accepted {not_in_code}")
        else:
            print(f"PASS: the schema has exactly the {len(accepted[section])} {section} keys "
                  f"agent/config accepts")
    return failures


def cmd_keys(schema_path):
    for section, (keys, interior) in schema_keys(load_schema(schema_path)).items():
        for key in sorted(keys):
            print(section, key)
        for key in sorted(interior):
            print(section, key, "(interior)")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "validate":
        sys.exit(cmd_validate(args[0], args[1:]))
    elif command == "cases":
        sys.exit(1 if cmd_cases(args[0], args[1], args[2] if len(args) > 2 else None) else 0)
    elif command == "compare":
        sys.exit(1 if cmd_compare(args[0], args[1], args[2]) else 0)
    elif command == "code":
        sys.exit(1 if cmd_code(args[0], args[1:]) else 0)
    elif command == "keys":
        cmd_keys(args[0])
    else:
        sys.exit(f"unknown command {command}")
