// agent.yaml's notifications: receivers, formats, events and thresholds.

#include <catch2/catch.hpp>

#include "agent/config/config.h"
#include "tests/unit/config/config_yaml.h"

namespace unit_config_config_notifications_test {

using namespace agentd::config;
using namespace agentd::testing;
using namespace std::chrono_literals;
using agentd::notify::Format;
using agentd::notify::Kind;

TEST_CASE("config notifications: every key reads to its value", "[config][notifications]") {
    const Config c = parse_config(R"(notifications:
  - url: https://hooks.slack.com/services/T0/B0/X
    format: slack
    events: [succeeded, rolled_back, poll_failing]
    repeat_interval: 30m
    waiting_after: 5m
    poll_failing_after: 0s
  - url_file: discord-url
    format: discord
  - url: http://127.0.0.1:8080/topic
)",
                                  "f");
    REQUIRE(c.notifications.size() == 3);
    const Notification& slack = c.notifications[0];
    CHECK(slack.url == "https://hooks.slack.com/services/T0/B0/X");
    CHECK(slack.format == Format::Slack);
    CHECK(slack.events == std::set<Kind>{Kind::Succeeded, Kind::RolledBack, Kind::PollFailing});
    CHECK(slack.repeat_interval == 30min);
    CHECK(slack.waiting_after == 5min);
    CHECK(slack.poll_failing_after == 0s);
    CHECK(slack.label == "slack #1");
    const Notification& discord = c.notifications[1];
    CHECK(discord.url.empty());
    CHECK(discord.url_file == "discord-url");
    CHECK(discord.label == "discord #2");
    const Notification& generic = c.notifications[2];
    CHECK(generic.format == Format::Generic);
    CHECK_FALSE(generic.events);
    CHECK(generic.repeat_interval == 1h);
    CHECK(generic.waiting_after == 10min);
    CHECK(generic.poll_failing_after == 15min);
    CHECK(generic.label == "generic #3");
}

TEST_CASE("config notifications: mistakes are named, URLs never shown", "[config][notifications]") {
    CHECK(error_of("notifications:\n  - format: slack\n") ==
          "agent.yaml:2:5: notifications[0]: missing required key \"url\" (or \"url_file\")");
    CHECK(error_of("notifications:\n  - {url: https://a/b, url_file: f}\n") ==
          "agent.yaml:2:5: notifications[0]: url and url_file exclude each other");
    CHECK(error_of("notifications:\n  - {url: https://a/b, format: teams}\n") ==
          "agent.yaml:2:32: notifications[0].format: expected generic, slack, discord or ntfy, "
          "got \"teams\"");
    CHECK(error_of("notifications:\n  - {url: https://a/b, events: [failed, deployed]}\n") ==
          "agent.yaml:2:41: notifications[0].events[1]: expected one of succeeded, rolled_back, "
          "rejected, failed, waiting, approval, poll_failing, drifted, started, resolved, got "
          "\"deployed\"");
    const std::string bad_url = error_of("notifications:\n  - url: ftp://host/SECRETTOKEN\n");
    CHECK(bad_url.find("expected an http:// or https:// URL") != std::string::npos);
    CHECK(bad_url.find("SECRETTOKEN") == std::string::npos);
    CHECK(error_of("notifications:\n  - {url: https://a/b, urll: x}\n") ==
          "agent.yaml:2:24: notifications[0].urll: unknown key, did you mean \"url\"?");
    CHECK(error_of("notifications:\n  - {url: https://a/b, repeat_interval: 0s}\n")
              .find("notifications[0].repeat_interval") != std::string::npos);
}

}  // namespace unit_config_config_notifications_test
