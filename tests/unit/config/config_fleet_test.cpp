// agent.yaml's fleet: (etcd, host, group, labels, slots, soak) and a stack's rollout:.

#include <catch2/catch.hpp>

#include "agent/config/config.h"
#include "agent/config/fleet.h"
#include "tests/unit/config/config_yaml.h"

namespace unit_config_config_fleet_test {

using namespace agentd::config;
using namespace agentd::testing;
using namespace std::chrono_literals;

TEST_CASE("config fleet: every key reads to its value", "[config][fleet]") {
    const Config c = parse_config(R"(fleet:
  etcd:
    endpoints: [https://etcd-1.example.com:2379, "http://127.0.0.1:2379/"]
    ca_file: /etc/agentd/etcd-ca.pem
    cert_file: /etc/agentd/etcd.pem
    key_file: /etc/agentd/etcd-key.pem
    username: agentd
    password_file: etcd-password
  host: web-1
  group: prod
  labels: {ring: canary, zone: eu-1}
  max_updating: 3
  soak: 2m
  lease_ttl: 20s
stacks:
  - name: shop
    dir: /srv/shop
    rollout:
      canary: {ring: canary}
      after: 2
  - name: tools
    dir: /srv/tools
)",
                                  "f");
    REQUIRE(c.fleet);
    const Fleet& f = *c.fleet;
    CHECK(f.etcd.endpoints ==
          std::vector<std::string>{"https://etcd-1.example.com:2379", "http://127.0.0.1:2379/"});
    CHECK(f.etcd.ca_file == "/etc/agentd/etcd-ca.pem");
    CHECK(f.etcd.cert_file == "/etc/agentd/etcd.pem");
    CHECK(f.etcd.key_file == "/etc/agentd/etcd-key.pem");
    CHECK(f.etcd.username == "agentd");
    CHECK(f.etcd.password_file == "etcd-password");
    CHECK(f.host == "web-1");
    CHECK(f.group == "prod");
    CHECK(f.labels == std::map<std::string, std::string>{{"ring", "canary"}, {"zone", "eu-1"}});
    CHECK(f.max_updating == 3);
    CHECK(f.soak == 2min);
    CHECK(f.lease_ttl == 20s);
    REQUIRE(c.stacks.at(0).rollout);
    CHECK(c.stacks[0].rollout->canary == std::map<std::string, std::string>{{"ring", "canary"}});
    CHECK(c.stacks[0].rollout->after == 2);
    CHECK_FALSE(c.stacks[1].rollout);
}

TEST_CASE("config fleet: defaults, and no fleet without the key", "[config][fleet]") {
    const Config c = parse_config("fleet:\n  etcd: {endpoints: [http://localhost:2379]}\n", "f");
    REQUIRE(c.fleet);
    CHECK(c.fleet->host.empty());  // the system's host name, read when agentd starts
    CHECK(c.fleet->group == "default");
    CHECK(c.fleet->labels.empty());
    CHECK(c.fleet->max_updating == 1);
    CHECK(c.fleet->soak == 0s);
    CHECK(c.fleet->lease_ttl == 15s);
    CHECK_FALSE(parse_config(stack_with(""), "f").fleet);
    const Config canary_only =
        parse_config("fleet:\n  etcd: {endpoints: [\"http://[::1]:2379\"]}\n" +
                         stack_with("    rollout: {canary: {ring: a}}\n"),
                     "f");
    CHECK(canary_only.stacks.at(0).rollout->after == 1);
}

TEST_CASE("config fleet: mistakes are named where they are", "[config][fleet]") {
    CHECK(error_of("fleet:\n  host: web-1\n") ==
          "agent.yaml:2:3: fleet: missing required key \"etcd\" (its endpoints)");
    CHECK(error_of("fleet:\n  etcd: {ca_file: /x}\n") ==
          "agent.yaml:2:9: fleet.etcd: missing required key \"endpoints\"");
    CHECK(error_of("fleet:\n  etcd: {endpoints: []}\n") ==
          "agent.yaml:2:21: fleet.etcd.endpoints: needs at least one endpoint");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [http://etcd.example.com:2379]}\n") ==
          "agent.yaml:2:22: fleet.etcd.endpoints[0]: \"http://etcd.example.com:2379\": plain HTTP "
          "is allowed only to loopback hosts: use https:// (with ca_file for a private CA)");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [\"https://e:2379/v3\"]}\n") ==
          "agent.yaml:2:22: fleet.etcd.endpoints[0]: \"https://e:2379/v3\": expected "
          "scheme://host:port with nothing after the port");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [etcd:2379]}\n") ==
          "agent.yaml:2:22: fleet.etcd.endpoints[0]: \"etcd:2379\": expected an http:// or "
          "https:// URL");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [https://e:1], cert_file: /c}\n") ==
          "agent.yaml:2:9: fleet.etcd: cert_file needs key_file");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [https://e:1], username: u}\n") ==
          "agent.yaml:2:9: fleet.etcd: username needs password_file");
    CHECK(error_of("fleet:\n  etcd: {endpoints: [https://e:1], ca_file: ca.pem}\n")
              .find("fleet.etcd.ca_file") != std::string::npos);
    const std::string etcd = "fleet:\n  etcd: {endpoints: [https://e:1]}\n";
    CHECK(error_of(etcd + "  host: web/1\n") ==
          "agent.yaml:3:9: fleet.host: \"web/1\" is not a host name: use 1-128 letters, digits, "
          "\".\", \"_\" and \"-\"");
    CHECK(error_of(etcd + "  group: \"..\"\n").find("is not a group name") != std::string::npos);
    CHECK(error_of(etcd + "  labels: {ring: \"a b\"}\n") ==
          "agent.yaml:3:18: fleet.labels.ring: \"a b\" is not a label value (1-128 of letters, "
          "digits, ._-)");
    CHECK(error_of(etcd + "  labels: [a]\n") ==
          "agent.yaml:3:11: fleet.labels: expected a map of label names to values, got a list");
    CHECK(error_of(etcd + "  max_updating: 0\n").find("fleet.max_updating") != std::string::npos);
    CHECK(error_of(etcd + "  lease_ttl: 1s\n") ==
          "agent.yaml:3:14: fleet.lease_ttl: expected a lease TTL between 2s and 1h");
    CHECK(error_of(etcd + "  slots: 3\n").find("fleet.slots: unknown key") != std::string::npos);
}

TEST_CASE("config fleet: a rollout needs fleet:, a canary, and is per stack", "[config][fleet]") {
    CHECK(error_of(stack_with("    rollout: {canary: {ring: a}}\n")) ==
          "agent.yaml:4:14: stacks[0].rollout: a rollout is for hosts that coordinate through "
          "etcd: it needs `fleet:` at the top level");
    const std::string etcd = "fleet:\n  etcd: {endpoints: [https://e:1]}\n";
    CHECK(error_of(etcd + stack_with("    rollout: {after: 2}\n")) ==
          "agent.yaml:6:14: stacks[0].rollout: missing required key \"canary\" (the labels of the "
          "hosts that go first)");
    CHECK(error_of(etcd + stack_with("    rollout: {canary: {ring: a}, after: -1}\n"))
              .find("stacks[0].rollout.after") != std::string::npos);
    CHECK(error_of(etcd + "defaults:\n  rollout: {canary: {ring: a}}\n")
              .find("is set per stack and cannot be a default") != std::string::npos);
}

TEST_CASE("config fleet: a selector matches hosts carrying all of its labels", "[config][fleet]") {
    const std::map<std::string, std::string> host = {{"ring", "canary"}, {"zone", "eu-1"}};
    CHECK(matches({}, host));
    CHECK(matches({{"ring", "canary"}}, host));
    CHECK(matches({{"ring", "canary"}, {"zone", "eu-1"}}, host));
    CHECK_FALSE(matches({{"ring", "main"}}, host));
    CHECK_FALSE(matches({{"ring", "canary"}, {"rack", "3"}}, host));
    CHECK_FALSE(matches({{"ring", "canary"}}, {}));
}

TEST_CASE("config fleet: names that may be part of an etcd key", "[config][fleet]") {
    CHECK(is_fleet_name("web-1.example.com"));
    CHECK(is_fleet_name("Host_2"));
    CHECK(is_fleet_name(std::string(128, 'a')));
    CHECK_FALSE(is_fleet_name(""));
    CHECK_FALSE(is_fleet_name("."));
    CHECK_FALSE(is_fleet_name(".."));
    CHECK_FALSE(is_fleet_name("a/b"));
    CHECK_FALSE(is_fleet_name("a b"));
    CHECK_FALSE(is_fleet_name(std::string(129, 'a')));
}

}  // namespace unit_config_config_fleet_test
