// agent.yaml errors: each names file:line:column, the key path and what was expected.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/config/config.h"
#include "tests/unit/config/config_yaml.h"

namespace unit_config_config_errors_test {

using namespace agentd::config;
using namespace agentd::testing;

TEST_CASE("config: an unknown key suggests the closest valid one", "[config]") {
    CHECK(error_of(R"(state_dir: /var/lib/agentd
defaults:
  poll_interval: 1m
stacks:
  - name: shop
    dir: /srv/shop
    helth:
      timeout: 5m
)") == "agent.yaml:7:5: stacks[0].helth: unknown key, did you mean \"health\"?");
    CHECK(error_of("stack:\n") == "agent.yaml:1:1: stack: unknown key, did you mean \"stacks\"?");
    CHECK(error_of(stack_with("    poll: 1m\n")) ==
          "agent.yaml:4:5: stacks[0].poll: unknown key, did you mean \"poll_interval\"?");
    CHECK(error_of(stack_with("    Health: {}\n")) ==
          "agent.yaml:4:5: stacks[0].Health: unknown key, did you mean \"health\"?");
    CHECK(error_of(stack_with("    health: {timeuot: 5m}\n")) ==
          "agent.yaml:4:14: stacks[0].health.timeuot: unknown key, did you mean \"timeout\"?");
    CHECK(error_of(git_with("      brnch: main\n")) ==
          "agent.yaml:5:7: stacks[0].git.brnch: unknown key, did you mean \"branch\"?");
}

TEST_CASE("config: an unknown key without a close one lists the valid keys", "[config]") {
    CHECK(error_of("api:\n  color: blue\n") ==
          "agent.yaml:2:3: api.color: unknown key (valid here: socket, listen, cert_file, "
          "key_file, webhook_secret_file)");
}

TEST_CASE("config: SPEC keys this version does not support are refused by name", "[config]") {
    CHECK(error_of("defaults:\n  verify: {cosign: {key: /k.pub}}\n") ==
          "agent.yaml:2:3: defaults.verify: not supported by this version of agentd");
}

TEST_CASE("config: drift and keep_releases errors say what is expected", "[config]") {
    CHECK(error_of(stack_with("    drift: fix\n")) ==
          "agent.yaml:4:12: stacks[0].drift: expected warn or heal, got \"fix\"");
    CHECK(error_of(stack_with("    keep_releases: 0\n")) ==
          "agent.yaml:4:20: stacks[0].keep_releases: expected a number of releases from 1 to "
          "100, got \"0\"");
    CHECK(error_of("defaults: {keep_releases: many}\n") ==
          "agent.yaml:1:27: defaults.keep_releases: expected a number of releases from 1 to 100, "
          "got \"many\"");
}

TEST_CASE("config: blue_green errors say what is missing or wrong", "[config][blue_green]") {
    const std::string proxy = "proxy: {nginx: host, upstream_file: /etc/nginx/a.conf}";
    CHECK(error_of(stack_with("    strategy: blue_green\n")) ==
          "agent.yaml:4:15: stacks[0].strategy: strategy blue_green needs blue_green: "
          "{services, proxy}");
    CHECK(error_of(stack_with("    strategy: canary\n")) ==
          "agent.yaml:4:15: stacks[0].strategy: expected recreate or blue_green, got \"canary\"");
    CHECK(error_of(stack_with("    blue_green: {services: [web], " + proxy + "}\n")) ==
          "agent.yaml:4:17: stacks[0].blue_green: blue_green is read only with strategy: "
          "blue_green");
    const auto with = [&](const std::string& settings) {
        return error_of(
            stack_with("    strategy: blue_green\n    blue_green: {" + settings + "}\n"));
    };
    CHECK(with(proxy) ==
          "agent.yaml:5:17: stacks[0].blue_green: missing required key \"services\" (the "
          "services deployed in blue and green slots)");
    CHECK(with("services: [], " + proxy) ==
          "agent.yaml:5:28: stacks[0].blue_green.services: needs at least one service to deploy "
          "in slots");
    CHECK(with("services: [\"web:0\"], " + proxy) ==
          "agent.yaml:5:29: stacks[0].blue_green.services[0]: \"web:0\": the port must be a "
          "number from 1 to 65535");
    CHECK(with("services: [web, web], " + proxy) ==
          "agent.yaml:5:34: stacks[0].blue_green.services[1]: service web is listed twice");
    CHECK(with("services: [web]") ==
          "agent.yaml:5:17: stacks[0].blue_green: missing required key \"proxy\"");
    CHECK(with("services: [web], proxy: {nginx: host}") ==
          "agent.yaml:5:42: stacks[0].blue_green.proxy: missing required key \"upstream_file\" "
          "(the file agentd writes, included by nginx's http block)");
    CHECK(with("services: [web], proxy: {nginx: docker, upstream_file: /a}") ==
          "agent.yaml:5:50: stacks[0].blue_green.proxy.nginx: expected host or service, got "
          "\"docker\"");
    CHECK(with("services: [web], proxy: {nginx: host, upstream_file: /a, reload: \"nginx -s "
               "reload\"}") ==
          "agent.yaml:5:83: stacks[0].blue_green.proxy.reload: expected a command as a list of "
          "arguments, e.g. [nginx, -t]");
    CHECK(error_of("defaults: {strategy: blue_green}\n") ==
          "agent.yaml:1:12: defaults.strategy: is set per stack and cannot be a default");
}

TEST_CASE("config: nginx as a service refuses the host's keys, naming them",
          "[config][blue_green]") {
    const auto with = [&](const std::string& proxy) {
        return error_of(
            stack_with("    strategy: blue_green\n    blue_green: {services: [web], "
                       "proxy: {" +
                       proxy + "}}\n"));
    };
    CHECK(with("nginx: service, upstream_file: /a, reload: [nginx, -s, reload]") ==
          "agent.yaml:5:86: stacks[0].blue_green.proxy.reload: reload is read only with nginx: "
          "host (with nginx: service agentd sends the container SIGHUP through the Engine API)");
    CHECK(with("nginx: service, upstream_file: /a, pid_file: /run/nginx.pid") ==
          "agent.yaml:5:88: stacks[0].blue_green.proxy.pid_file: pid_file is read only with "
          "nginx: host (with nginx: service the master is the container's main process)");
    CHECK(with("nginx: host, service: proxy, upstream_file: /a") ==
          "agent.yaml:5:65: stacks[0].blue_green.proxy.service: service is read only with "
          "nginx: service (nginx as a service of the shared compose project)");
    CHECK(with("nginx: service, service: \"my proxy\", upstream_file: /a") ==
          "agent.yaml:5:68: stacks[0].blue_green.proxy.service: \"my proxy\" is not a compose "
          "service name (letters, digits, ._-)");
    CHECK(with("nginx: service, service: web, upstream_file: /a") ==
          "agent.yaml:5:42: stacks[0].blue_green.proxy: the proxy's service web is a slot "
          "service: nginx runs once, in the shared project");
    CHECK(with("upstream_file: /a") ==
          "agent.yaml:5:42: stacks[0].blue_green.proxy: missing required key \"nginx\" (nginx: "
          "host or nginx: service)");
}

TEST_CASE("config: window and min_age errors name the part and what was expected",
          "[config][timing]") {
    CHECK(error_of(stack_with("    window: {from: \"02:00\", to: \"04:00\", tz: Mars/Base}\n")) ==
          "agent.yaml:4:46: stacks[0].window.tz: unknown time zone \"Mars/Base\" (expected a "
          "name of the system's tz database, /usr/share/zoneinfo, such as UTC or Europe/Berlin)");
    CHECK(error_of(stack_with("    window: {from: \"02:00\", to: \"02:00\"}\n")) ==
          "agent.yaml:4:33: stacks[0].window.to: the window opens and closes at 02:00: it "
          "would never be open");
    CHECK(error_of(stack_with("    window: {from: \"2:00\", to: \"04:00\"}\n")) ==
          "agent.yaml:4:20: stacks[0].window.from: expected a time HH:MM (00:00-23:59), got "
          "\"2:00\"");
    CHECK(
        error_of(stack_with("    window: {days: [sat, Sun], from: \"02:00\", to: \"04:00\"}\n")) ==
        "agent.yaml:4:26: stacks[0].window.days[1]: expected mon, tue, wed, thu, fri, sat or "
        "sun, got \"Sun\"");
    CHECK(error_of(stack_with("    window: {from: \"02:00\"}\n")) ==
          "agent.yaml:4:13: stacks[0].window: missing required key \"to\"");
    CHECK(error_of(stack_with("    min_age: soon\n"))
              .starts_with("agent.yaml:4:14: stacks[0].min_age: "));
}

TEST_CASE("config: api.webhook_secret_file needs api.listen and a usable path", "[config]") {
    CHECK(error_of("api:\n  webhook_secret_file: /etc/agentd/webhook.secret\n") ==
          "agent.yaml:2:24: api.webhook_secret_file: webhooks are served on api.listen, which "
          "is not set");
    CHECK(error_of("api:\n  listen: 127.0.0.1:9465\n  webhook_secret_file: ../w\n") ==
          "agent.yaml:3:24: api.webhook_secret_file: expected an absolute path, or a name in "
          "$CREDENTIALS_DIRECTORY without \"..\", got \"../w\"");
}

TEST_CASE("config: approval and hooks errors name the key and what was expected",
          "[config][approval][hooks]") {
    CHECK(error_of(stack_with("    approval: later\n")) ==
          "agent.yaml:4:15: stacks[0].approval: expected auto or manual, got \"later\"");
    CHECK(error_of(stack_with("    hooks: {pre_deploy: [{timeout: 5m}]}\n")) ==
          "agent.yaml:4:26: stacks[0].hooks.pre_deploy[0]: missing required key \"service\"");
    CHECK(error_of(stack_with("    hooks: {post_deploy: [{service: a/b}]}\n")) ==
          "agent.yaml:4:37: stacks[0].hooks.post_deploy[0].service: \"a/b\" is not a compose "
          "service name (letters, digits, ._-)");
    CHECK(error_of(stack_with("    hooks: {on_rollback: [{service: r, timeout: 0s}]}\n")) ==
          "agent.yaml:4:49: stacks[0].hooks.on_rollback[0].timeout: must be longer than zero, "
          "got \"0s\"");
    CHECK(error_of(stack_with("    hooks: {pre_deploy: migrate}\n")) ==
          "agent.yaml:4:25: stacks[0].hooks.pre_deploy: expected a list, got \"migrate\"");
    CHECK(error_of(stack_with("    hooks: {predeploy: []}\n")) ==
          "agent.yaml:4:13: stacks[0].hooks.predeploy: unknown key, did you mean "
          "\"pre_deploy\"?");
    CHECK(error_of("defaults:\n  hooks: {pre_deploy: [{service: m}]}\n") ==
          "agent.yaml:2:3: defaults.hooks: is set per stack and cannot be a default");
}

TEST_CASE("config: defaults refuse per-stack keys", "[config]") {
    CHECK(error_of("defaults:\n  dir: /srv\n") ==
          "agent.yaml:2:3: defaults.dir: is set per stack and cannot be a default");
}

TEST_CASE("config: yaml-cpp's never-ending documents are refused", "[config]") {
    // Found by tests/fuzz/agent_yaml: yaml-cpp 0.7's LoadAll never returns from ",a", "&x," or
    // "!t\n?\ns" (it allocates empty documents until memory runs out), so agentd --check-config
    // hung on such a file. agentd reads one document and says where the parser stopped.
    CHECK(error_of(",stacks: []\n") == "agent.yaml:1:1: unexpected ',': not valid YAML here");
    CHECK(error_of("&x,\n") == "agent.yaml:1:3: unexpected ',': not valid YAML here");
    CHECK(error_of("!t\n,\n") == "agent.yaml:2:1: unexpected ',': not valid YAML here");
    CHECK(error_of(std::string("!\xff\xf7"
                               "a4/\n?\ns")) ==
          "agent.yaml:2:1: unexpected '?': not valid YAML here");
    CHECK(error_of("state_dir: /tmp\nstacks:\n  - !t ,\n") ==
          "agent.yaml:3:8: end of sequence not found");
    // Inside a flow collection, in a plain scalar, in quotes or in a comment it is ordinary.
    for (const std::string yaml :
         {"x: [&a, 1]\n", "x: a, b\n", "x: \"&a,\" # &b,\n", "x: ', a'\n"}) {
        for (const auto& error : errors_of(yaml)) {
            CHECK(error.find("not valid YAML") == std::string::npos);
        }
    }
    // A real second document is named as one, after the issues of the first.
    CHECK(errors_of("a: 1\n---\nb: 2\n").back() ==
          "agent.yaml:2:1: expected one YAML document, found a second one");
}

TEST_CASE("config: a duplicate key is an error", "[config]") {
    CHECK(error_of(stack_with("    dir: /srv/other\n")) ==
          "agent.yaml:4:5: stacks[0].dir: duplicate key (first set at line 3)");
}

TEST_CASE("config: durations that do not parse name the expected form", "[config]") {
    CHECK(error_of(stack_with("    health:\n      timeout: fast\n")) ==
          "agent.yaml:5:16: stacks[0].health.timeout: expected a duration like \"30s\", got "
          "\"fast\"");
    CHECK(error_of(stack_with("    poll_interval: 30\n")) ==
          "agent.yaml:4:20: stacks[0].poll_interval: expected a duration like \"30s\", got "
          "\"30\"");
    CHECK(error_of("defaults:\n  image_wait: {m: 5}\n") ==
          "agent.yaml:2:15: defaults.image_wait: expected a duration like \"30s\", got a map");
}

TEST_CASE("config: zero is refused where it makes no sense", "[config]") {
    CHECK(error_of(stack_with("    poll_interval: 0s\n")) ==
          "agent.yaml:4:20: stacks[0].poll_interval: must be longer than zero, got \"0s\"");
    CHECK(error_of(stack_with("    health: {timeout: 0ms}\n")) ==
          "agent.yaml:4:23: stacks[0].health.timeout: must be longer than zero, got \"0ms\"");
    // A stable window of zero is a choice: pass as soon as everything runs.
    CHECK(parse_config(stack_with("    health: {stable: 0s}\n"), "f").stacks[0].health.stable ==
          std::chrono::seconds(0));
}

TEST_CASE("config: health.stable must be shorter than health.timeout", "[config]") {
    CHECK(error_of(stack_with("    health: {timeout: 10s, stable: 10s}\n")) ==
          "agent.yaml:4:36: stacks[0].health.stable: must be shorter than health.timeout (10s), "
          "got 10s");
    // Against a timeout from defaults, reported where the stack wrote its part.
    CHECK(error_of("defaults:\n  health: {timeout: 1m}\n" +
                   stack_with("    health: {stable: 2m}\n")) ==
          "agent.yaml:6:22: stacks[0].health.stable: must be shorter than health.timeout (1m), "
          "got 2m");
    // A default timeout below the built-in stable window is reported once, in defaults.
    CHECK(error_of("defaults:\n  health: {timeout: 5s}\n" + stack_with("")) ==
          "agent.yaml:2:21: defaults.health.timeout: must be longer than health.stable (10s), "
          "got 5s");
}

TEST_CASE("config: stack names are checked and unique", "[config]") {
    CHECK(error_of("stacks:\n  - name: Shop\n    dir: /srv/shop\n") ==
          "agent.yaml:2:11: stacks[0].name: \"Shop\" is not a valid stack name: use 1-63 "
          "lower-case letters, digits, \"_\" and \"-\", starting with a letter or digit");
    CHECK(error_of(stack_with("  - name: shop\n    dir: /srv/b\n")) ==
          "agent.yaml:4:11: stacks[1].name: duplicate stack name \"shop\" (first at line 2)");
    CHECK(error_of("stacks:\n  - dir: /srv/shop\n") ==
          "agent.yaml:2:5: stacks[0]: missing required key \"name\"");
}

TEST_CASE("config: project_prefix is checked, and with each stack's name", "[config]") {
    CHECK(error_of("project_prefix: Host-A\n" + stack_with("")) ==
          "agent.yaml:1:17: project_prefix: \"Host-A\" is not a valid project prefix: use at "
          "most 31 lower-case letters, digits, \"_\" and \"-\", starting with a letter or digit");
    CHECK(error_of("project_prefix: -a\n" + stack_with("")).find("not a valid project prefix") !=
          std::string::npos);
    CHECK(error_of("project_prefix: a.b\n" + stack_with("")).find("not a valid project prefix") !=
          std::string::npos);
    const std::string long_prefix(32, 'a');
    CHECK(error_of("project_prefix: " + long_prefix + "\n" + stack_with(""))
              .find("not a valid project prefix") != std::string::npos);
    CHECK(error_of("project_prefix: [a]\n" + stack_with(""))
              .starts_with("agent.yaml:1:17: project_prefix: expected a project name prefix"));
    // 31 + 32 characters make 63, the longest project name; one more is refused, naming the
    // stack and the project.
    const std::string prefix(31, 'p');
    const std::string fits(32, 's');
    CHECK_NOTHROW(parse_config(
        "project_prefix: " + prefix + "\nstacks:\n  - name: " + fits + "\n    dir: /srv/a\n",
        "agent.yaml"));
    CHECK(error_of("project_prefix: " + prefix + "\nstacks:\n  - name: " + fits +
                   "x\n    dir: /srv/a\n") ==
          "agent.yaml:1:17: project_prefix: with stack \"" + fits + "x\", the compose project \"" +
              prefix + fits +
              "x\" has 64 characters, more than 63: shorten the prefix or the "
              "stack's name");
    // A blue-green stack's longest project is <project>-shared: 7 characters more, with a
    // prefix or without.
    const std::string bg =
        "    strategy: blue_green\n    blue_green: {services: [web], proxy: "
        "{nginx: host, upstream_file: /etc/nginx/a.conf}}\n";
    const std::string name56(56, 'b');
    CHECK_NOTHROW(
        parse_config("stacks:\n  - name: " + name56 + "\n    dir: /srv/a\n" + bg, "agent.yaml"));
    CHECK(error_of("stacks:\n  - name: " + name56 + "c\n    dir: /srv/a\n" + bg) ==
          "agent.yaml:2:11: stacks[0].name: with stack \"" + name56 +
              "c\", the compose project \"" + name56 +
              "c-shared\" has 64 characters, more than 63: shorten the stack's name");
    CHECK(error_of("project_prefix: p\nstacks:\n  - name: " + name56 + "\n    dir: /srv/a\n" + bg)
              .starts_with("agent.yaml:1:17: project_prefix: with stack \"" + name56 +
                           "\", the compose project \"p" + name56 + "-shared\" has 64"));
}

TEST_CASE("config: a stack has exactly one of git and dir", "[config]") {
    CHECK(error_of(git_with("    dir: /srv/shop\n")) ==
          "agent.yaml:5:10: stacks[0].dir: set either git or dir, not both");
    CHECK(error_of("stacks:\n  - name: shop\n") ==
          "agent.yaml:2:5: stacks[0]: needs a source: git (a repository) or dir (a directory on "
          "this host)");
}

TEST_CASE("config: git source values are checked", "[config]") {
    CHECK(error_of("stacks:\n  - name: a\n    git: {branch: main}\n") ==
          "agent.yaml:3:10: stacks[0].git: missing required key \"url\"");
    CHECK(error_of("stacks:\n  - name: a\n    git: {url: ''}\n") ==
          "agent.yaml:3:16: stacks[0].git.url: must not be empty");
    CHECK(error_of(git_with("      path: /etc\n")) ==
          "agent.yaml:5:13: stacks[0].git.path: expected a path relative to the repository root "
          "without \"..\", got \"/etc\"");
    CHECK(error_of(git_with("      path: shop/../../etc\n")) ==
          "agent.yaml:5:13: stacks[0].git.path: expected a path relative to the repository root "
          "without \"..\", got \"shop/../../etc\"");
    CHECK(error_of(git_with("      branch: a..b\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"a..b\" is not a valid branch name: it "
          "contains \"..\"");
    CHECK(error_of(git_with("      branch: '-rf'\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"-rf\" is not a valid branch name: it starts "
          "with \"-\"");
    CHECK(error_of(git_with("      branch: main branch\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"main branch\" is not a valid branch name: it "
          "contains a space");
    CHECK(error_of(git_with("      branch: main.lock\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"main.lock\" is not a valid branch name: a "
          "component ends with \".lock\"");
    CHECK(error_of(git_with("      branch: release/\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"release/\" is not a valid branch name: it "
          "starts or ends with \"/\"");
    CHECK(error_of(git_with("      branch: \"a\\tb\"\n")) ==
          "agent.yaml:5:15: stacks[0].git.branch: \"a\tb\" is not a valid branch name: it "
          "contains a control character");
    CHECK(error_of(git_with("      credentials: {known_hosts_file: known_hosts}\n")) ==
          "agent.yaml:5:39: stacks[0].git.credentials.known_hosts_file: expected an absolute "
          "path, got \"known_hosts\"");
}

TEST_CASE("config: host paths must be absolute, compose files relative", "[config]") {
    CHECK(error_of("state_dir: var/lib/agentd\n") ==
          "agent.yaml:1:12: state_dir: expected an absolute path, got \"var/lib/agentd\"");
    CHECK(error_of("stacks:\n  - name: a\n    dir: srv/a\n") ==
          "agent.yaml:3:10: stacks[0].dir: expected an absolute path, got \"srv/a\"");
    CHECK(error_of(stack_with("    env_file: ../shop.env\n")) ==
          "agent.yaml:4:15: stacks[0].env_file: expected an absolute path, or a path relative "
          "to the stack's directory without \"..\", got \"../shop.env\"");
    CHECK(error_of(stack_with("    compose_files: [compose.yaml, ../x.yaml]\n")) ==
          "agent.yaml:4:35: stacks[0].compose_files[1]: expected a path relative to the stack's "
          "directory without \"..\", got \"../x.yaml\"");
    CHECK(error_of(stack_with("    compose_files: [/etc/compose.yaml]\n")) ==
          "agent.yaml:4:21: stacks[0].compose_files[0]: expected a path relative to the stack's "
          "directory without \"..\", got \"/etc/compose.yaml\"");
}

TEST_CASE("config: health probes are checked", "[config]") {
    CHECK(error_of(stack_with("    health:\n      http:\n        - url: ftp://x/\n")) ==
          "agent.yaml:6:16: stacks[0].health.http[0].url: expected an http:// or https:// URL, "
          "got \"ftp://x/\"");
    CHECK(error_of(stack_with("    health: {http: [{url: 'http://x/', status: 42}]}\n")) ==
          "agent.yaml:4:48: stacks[0].health.http[0].status: expected an HTTP status 100-599, "
          "got \"42\"");
    CHECK(error_of(stack_with("    health: {http: [{status: 200}]}\n")) ==
          "agent.yaml:4:21: stacks[0].health.http[0]: missing required key \"url\"");
}

TEST_CASE("config: on_failure lists the allowed values", "[config]") {
    CHECK(error_of(stack_with("    on_failure: retry\n")) ==
          "agent.yaml:4:17: stacks[0].on_failure: expected rollback or stop, got \"retry\"");
}

TEST_CASE("config: a value of the wrong type names the expected type", "[config]") {
    CHECK(error_of("stacks:\n  - name: {first: a}\n    dir: /srv\n") ==
          "agent.yaml:2:11: stacks[0].name: expected a stack name, got a map");
    CHECK(error_of("state_dir: [a]\n") ==
          "agent.yaml:1:12: state_dir: expected an absolute path, got a list");
    CHECK(error_of("stacks: {name: a}\n") == "agent.yaml:1:9: stacks: expected a list, got a map");
    CHECK(error_of("api: /run/api.sock\n") ==
          "agent.yaml:1:6: api: expected a map, got \"/run/api.sock\"");
    CHECK(error_of(stack_with("    env_file:\n")) ==
          "agent.yaml:4:5: stacks[0].env_file: expected a path, got nothing");
    CHECK(error_of(registry_with("localhost", "    insecure_http: maybe\n")) ==
          "agent.yaml:3:20: registries[0].insecure_http: expected true or false, got \"maybe\"");
}

TEST_CASE("config: registries are checked", "[config]") {
    CHECK(error_of(registry_with("''", "")) ==
          "agent.yaml:2:11: registries[0].host: \"\" is not a registry host: it is empty");
    CHECK(error_of(registry_with("https://ghcr.io", "")) ==
          "agent.yaml:2:11: registries[0].host: \"https://ghcr.io\" is not a registry host: it "
          "has a scheme; write only the host, like \"ghcr.io\" or \"127.0.0.1:5000\"");
    CHECK(error_of(registry_with("ghcr.io", "  - host: GHCR.io\n")) ==
          "agent.yaml:3:11: registries[1].host: duplicate registry host \"GHCR.io\" (first at "
          "line 2)");
    CHECK(error_of("registries:\n  - username: bot\n    password_file: t\n") ==
          "agent.yaml:2:5: registries[0]: missing required key \"host\"");
    CHECK(error_of(registry_with("ghcr.io", "    username: bot\n")) ==
          "agent.yaml:2:5: registries[0]: username needs password_file");
    CHECK(error_of(registry_with("ghcr.io", "    max_concurrent_requests: 0\n")) ==
          "agent.yaml:3:30: registries[0].max_concurrent_requests: expected a number of "
          "requests from 1 to 256, got \"0\"");
    CHECK(error_of(registry_with("ghcr.io", "    max_concurrent_requests: many\n")) ==
          "agent.yaml:3:30: registries[0].max_concurrent_requests: expected a number of "
          "requests from 1 to 256, got \"many\"");
}

TEST_CASE("config: insecure_http is allowed only for loopback hosts", "[config]") {
    for (const char* host : {"localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000",
                             "127.12.0.3:80", "'[::1]:5000'", "'[::1]'"}) {
        INFO(host);
        const Config c = parse_config(registry_with(host, "    insecure_http: true\n"), "f");
        CHECK(c.registries[0].insecure_http);
    }
    CHECK(error_of(registry_with("registry.lan:5000", "    insecure_http: true\n")) ==
          "agent.yaml:3:20: registries[0].insecure_http: plain HTTP is allowed only for loopback "
          "hosts (localhost, 127.0.0.0/8, [::1]): to \"registry.lan:5000\" it would send "
          "credentials and images readable and changeable on the network; use HTTPS (with "
          "ca_file for a private CA)");
    for (const char* host : {"128.0.0.1", "127.0.0.1.nip.io", "localhost.example.com",
                             "'[::2]:5000'", "127.0.0.256", "127.0.0.1:99999", "10.0.0.1"}) {
        INFO(host);
        CHECK(errors_of(registry_with(host, "    insecure_http: true\n")).size() == 1);
    }
}

TEST_CASE("config: relative password_file names are allowed", "[config]") {
    const Config c = parse_config(
        registry_with("ghcr.io", "    username: bot\n    password_file: ghcr.token\n"), "f");
    CHECK(c.registries[0].password_file == "ghcr.token");
}

TEST_CASE("config: a YAML syntax error is one issue with its place", "[config]") {
    CHECK(error_of("stacks:\n  - name: a\n    dir: [/srv\n") ==
          "agent.yaml:4:1: end of sequence flow not found");
    CHECK(error_of("state_dir: a: b\n") == "agent.yaml:1:13: illegal map value");
}

TEST_CASE("config: every error is reported, in file order", "[config]") {
    const auto errors = errors_of(R"(state_dir: relative
stacks:
  - name: Bad
    dir: /srv/a
    poll_interval: soon
  - name: b
    helth: {}
)");
    REQUIRE(errors.size() == 5);
    CHECK(errors[0] == "agent.yaml:1:12: state_dir: expected an absolute path, got \"relative\"");
    CHECK(errors[1].starts_with("agent.yaml:3:11: stacks[0].name: \"Bad\" is not a valid"));
    CHECK(errors[2] ==
          "agent.yaml:5:20: stacks[0].poll_interval: expected a duration like \"30s\", got "
          "\"soon\"");
    CHECK(errors[3] ==
          "agent.yaml:6:5: stacks[1]: needs a source: git (a repository) or dir (a "
          "directory on this host)");
    CHECK(errors[4] == "agent.yaml:7:5: stacks[1].helth: unknown key, did you mean \"health\"?");
}

TEST_CASE("config: ConfigError says every issue, one per line", "[config]") {
    try {
        parse_config("state_dir: x\napi: {socket: y}\n", "a.yaml");
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) ==
              "a.yaml:1:12: state_dir: expected an absolute path, got \"x\"\n"
              "a.yaml:2:15: api.socket: expected an absolute path, got \"y\"");
        REQUIRE(e.issues().size() == 2);
        CHECK(e.issues()[1].line == 2);
        CHECK(e.issues()[1].column == 15);
        CHECK(e.issues()[1].key == "api.socket");
        CHECK(e.issues()[1].message == "expected an absolute path, got \"y\"");
    }
}

TEST_CASE("config: load_config reads a file and reports an unreadable one", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / "agentd-config-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = dir / "agent.yaml";
    std::ofstream(path) << "stacks:\n  - name: a\n    dir: /srv/a\n";

    const Config c = load_config(path);
    CHECK(c.source == path);
    REQUIRE(c.find_stack("a"));
    CHECK(c.find_stack("a")->dir == std::filesystem::path("/srv/a"));

    try {
        load_config(dir / "missing.yaml");
        FAIL("no error");
    } catch (const ConfigError& e) {
        REQUIRE(e.issues().size() == 1);
        CHECK(e.issues()[0].line == 0);
        CHECK(e.issues()[0].to_string() ==
              (dir / "missing.yaml").string() + ": cannot read: No such file or directory");
    }
    try {
        load_config(dir);
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == dir.string() + ": cannot read: Is a directory");
    }
    std::ofstream(path) << "stacks:\n  - name: a\n";
    try {
        load_config(path);
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).starts_with(path.string() + ":2:5: stacks[0]: needs a source"));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("config: find_stack and find_registry", "[config]") {
    const Config c = parse_config(R"(registries:
  - host: ghcr.io
stacks:
  - {name: a, dir: /srv/a}
  - {name: b, dir: /srv/b}
)",
                                  "f");
    REQUIRE(c.find_stack("b"));
    CHECK(c.find_stack("b")->dir == std::filesystem::path("/srv/b"));
    CHECK(c.find_stack("c") == nullptr);
    REQUIRE(c.find_registry("GHCR.IO"));  // host names compare case-insensitively
    CHECK(c.find_registry("GHCR.IO")->host == "ghcr.io");
    CHECK(c.find_registry("docker.io") == nullptr);
}

TEST_CASE("config: odd documents are issues, never crashes", "[config]") {
    CHECK(error_of("- a\n- b\n") == "agent.yaml:1:1: expected a map, got a list");
    CHECK(error_of("just text\n") == "agent.yaml:1:1: expected a map, got \"just text\"");
    CHECK(error_of("state_dir: /a\n---\nstate_dir: /b\n") ==
          "agent.yaml:2:1: expected one YAML document, found a second one");
    CHECK(error_of("stacks: [~]\n") == "agent.yaml:1:10: stacks[0]: expected a map, got nothing");
    CHECK(error_of("registries: [ghcr.io]\n") ==
          "agent.yaml:1:14: registries[0]: expected a map, got \"ghcr.io\"");
    CHECK(error_of("? [a]\n: b\n") == "agent.yaml:1:3: expected a key name, got a list");
    CHECK(error_of(stack_with("    compose_files: compose.yaml\n")) ==
          "agent.yaml:4:20: stacks[0].compose_files: expected a list, got \"compose.yaml\"");
}

TEST_CASE("config: a one-letter key is not taken for a typo", "[config]") {
    CHECK(error_of("a: 1\n") ==
          "agent.yaml:1:1: a: unknown key (valid here: state_dir, api, project_prefix, defaults, "
          "registries, notifications, age_identity_file, fleet, stacks)");
}

TEST_CASE("config: tag policies are checked when the file is read", "[config]") {
    CHECK(error_of(git_with("      branch: main\n      tags: {semver: '^1'}\n")) ==
          "agent.yaml:6:13: stacks[0].git.tags: set either branch (follow its head) or tags "
          "(follow the newest allowed tag), not both");
    CHECK(error_of(git_with("      tags: {semver: '^1', regex: 'x'}\n")) ==
          "agent.yaml:5:13: stacks[0].git.tags: needs exactly one of semver (a range like "
          "\"^1.2\") or regex");
    CHECK(error_of(git_with("      tags: {semver: '<<1'}\n"))
              .find("agent.yaml:5:22: stacks[0].git.tags.semver: semver range \"<<1\"") == 0);
    CHECK(error_of(stack_with("    images:\n      web: {regex: '^(v'}\n"))
              .find("agent.yaml:5:20: stacks[0].images.web.regex: regex \"^(v\"") == 0);
    CHECK(error_of(stack_with("    images:\n      web: {semver: '^1', order: numerical}\n")) ==
          "agent.yaml:5:34: stacks[0].images.web.order: order applies to regex policies only");
    CHECK(error_of(stack_with("    images:\n      web: {regex: 'x', order: newest}\n"))
              .find("agent.yaml:5:32: stacks[0].images.web.order: ") == 0);
    CHECK(error_of(stack_with("    images: [web]\n")) ==
          "agent.yaml:4:13: stacks[0].images: expected a map of service names to tag policies");
    CHECK(error_of(stack_with("    images:\n      'we b': {semver: '^1'}\n")) ==
          "agent.yaml:5:15: stacks[0].images.we b: \"we b\" is not a compose service name "
          "(letters, digits, ._-)");
    CHECK(error_of(stack_with("    no_downgrade: maybe\n"))
              .find("agent.yaml:4:19: stacks[0].no_downgrade: ") == 0);
    CHECK(error_of("defaults:\n  images: {}\n") ==
          "agent.yaml:2:3: defaults.images: is set per stack and cannot be a default");
}

TEST_CASE("config: git.verify needs keys, a mode that fits the stack, readable files", "[config]") {
    // /dev/null stands for a readable key file; the file is read when a release is checked.
    CHECK(error_of(git_with("      verify: {mode: head}\n")) ==
          "agent.yaml:5:15: stacks[0].git.verify: needs the keys to trust: allowed_signers (SSH "
          "signatures, ssh-keygen's format) and/or gpg_keyring (OpenPGP public keys)");
    CHECK(error_of(git_with("      verify: {mode: tag, allowed_signers: /dev/null}\n")) ==
          "agent.yaml:5:22: stacks[0].git.verify.mode: mode tag needs git.tags (the stack "
          "follows a branch, whose head has no tag): use mode head");
    CHECK(error_of(git_with("      verify: {mode: tags, allowed_signers: /dev/null}\n")) ==
          "agent.yaml:5:22: stacks[0].git.verify.mode: expected head, tag or tag_and_head, got "
          "\"tags\"");
    CHECK(error_of(git_with("      verify: {allowed_signers: /nonexistent/signers}\n")) ==
          "agent.yaml:5:33: stacks[0].git.verify.allowed_signers: cannot read "
          "\"/nonexistent/signers\": No such file or directory");
    CHECK(error_of(git_with("      verify: {gpg_keyring: ../keys.gpg}\n")) ==
          "agent.yaml:5:29: stacks[0].git.verify.gpg_keyring: expected an absolute path, or a "
          "name in $CREDENTIALS_DIRECTORY without \"..\", got \"../keys.gpg\"");
    CHECK(errors_of(git_with("      verify: {allowd_signers: /dev/null}\n")).at(1) ==
          "agent.yaml:5:16: stacks[0].git.verify.allowd_signers: unknown key, did you mean "
          "\"allowed_signers\"?");
}

TEST_CASE("config: api.listen is an IP address and a port", "[config]") {
    CHECK(error_of("api:\n  listen: 9465\n") ==
          "agent.yaml:2:11: api.listen: expected ADDR:PORT (e.g. 127.0.0.1:9465 or [::1]:9465)");
    CHECK(error_of("api:\n  listen: localhost:9465\n") ==
          "agent.yaml:2:11: api.listen: \"localhost\" is not an IP address (e.g. "
          "127.0.0.1:9465 or [::1]:9465)");
    CHECK(error_of("api:\n  listen: \":9465\"\n") ==
          "agent.yaml:2:11: api.listen: the address is missing (0.0.0.0 listens on every "
          "interface) (e.g. 127.0.0.1:9465 or [::1]:9465)");
    CHECK(error_of("api:\n  listen: \"::1:9465\"\n") ==
          "agent.yaml:2:11: api.listen: write an IPv6 address in brackets (e.g. "
          "127.0.0.1:9465 or [::1]:9465)");
    CHECK(error_of("api:\n  listen: 127.0.0.1:70000\n") ==
          "agent.yaml:2:11: api.listen: \"70000\" is not a port (1-65535) (e.g. "
          "127.0.0.1:9465 or [::1]:9465)");
    CHECK(error_of("api:\n  listen: 127.0.0.1:0\n").find("\"0\" is not a port") !=
          std::string::npos);
    CHECK(error_of("api:\n  listen: 256.0.0.1:9465\n").find("is not an IP address") !=
          std::string::npos);
}

TEST_CASE("config: TLS on the listener needs both files and a listener", "[config]") {
    CHECK(error_of("api:\n  listen: 127.0.0.1:9465\n  cert_file: /etc/agentd/tls.crt\n") ==
          "agent.yaml:3:14: api.cert_file: TLS needs both api.cert_file and api.key_file");
    CHECK(error_of("api:\n  cert_file: /a.crt\n  key_file: /a.key\n") ==
          "agent.yaml:2:14: api.cert_file: TLS is for api.listen, which is not set");
    CHECK(error_of("api:\n  listen: 127.0.0.1:9465\n  cert_file: a.crt\n  key_file: /a.key\n")
              .find("api.cert_file") != std::string::npos);
}

TEST_CASE("config: an age-encrypted env file needs age_identity_file", "[config]") {
    CHECK(error_of(stack_with("    env_files: [shop.env, secrets.env.age]\n")) ==
          "agent.yaml:4:27: stacks[0].env_files[1]: \"secrets.env.age\" is age-encrypted: set "
          "the top-level age_identity_file (the key that decrypts it)");
    CHECK(error_of("defaults:\n  env_file: /etc/agentd/all.env.age\n") ==
          "agent.yaml:2:13: defaults.env_file: \"/etc/agentd/all.env.age\" is age-encrypted: "
          "set the top-level age_identity_file (the key that decrypts it)");
    CHECK(error_of(stack_with("    env_files: [a.env, /x/../b.env, ../c.env]\n")) ==
          "agent.yaml:4:37: stacks[0].env_files[2]: expected an absolute path, or a path "
          "relative to the stack's directory without \"..\", got \"../c.env\"");
    CHECK(error_of(stack_with("    env_files: secrets.env.age\n")) ==
          "agent.yaml:4:16: stacks[0].env_files: expected a list, got \"secrets.env.age\"");
    CHECK(error_of("age_identity_file: ../agent.key\n") ==
          "agent.yaml:1:20: age_identity_file: expected an absolute path, or a name in "
          "$CREDENTIALS_DIRECTORY without \"..\", got \"../agent.key\"");
}

}  // namespace unit_config_config_errors_test
