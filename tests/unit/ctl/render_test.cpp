#include "agent/ctl/render.h"

#include <catch2/catch.hpp>

#include "agent/daemon/api_routes.h"
#include "agent/model/json.h"
#include "tests/unit/daemon/fake_backend.h"

using namespace agentd;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const model::Deployment k_sample = daemon::testing::sample_deployment(7, "shop");

}  // namespace

TEST_CASE("render: status shows release, times, last poll and notes", "[ctl]") {
    daemon::StackStatus running;
    running.name = "shop";
    running.state = "running";
    running.current = k_sample;
    running.current->release.tag = "v2.3.1";
    running.stack_state.last_poll = {k_sample.started_at + 100s, "ok", ""};
    daemon::StackStatus broken;
    broken.name = "blog";
    broken.state = "paused";
    broken.stack_state.paused = true;
    broken.stack_state.pinned = 4;
    broken.stack_state.last_poll = {k_sample.started_at + 160s, "error", "registry: 503"};
    const json doc{{"stacks", {daemon::to_json(running), daemon::to_json(broken)}}};
    const auto now = k_sample.started_at + 162s;
    const std::string out = ctl::render_status(doc, now);
    REQUIRE(
        out ==
        "STACK  STATE    RELEASE                DEPLOYED  LAST POLL                      NOTES\n"
        "shop   running  v2.3.1 (0123456789ab)  2m ago    ok 1m ago\n"
        "blog   paused   -                      -         error just now: registry: 503  "
        "PAUSED, PINNED at 4\n");
}

TEST_CASE("render: history rows with duration and reason", "[ctl]") {
    const json doc{{"deployments", {model::to_json(k_sample)}}};
    const std::string out = ctl::render_history(doc, k_sample.started_at + 3600s);
    REQUIRE(out.find("ID  STACK  STATUS     RELEASE       TRIGGER  STARTED  TOOK  REASON") == 0);
    REQUIRE(out.find("7   shop   succeeded  0123456789ab  poll     1h ago   42s   healthy") !=
            std::string::npos);
}

TEST_CASE("render: show prints fields, images and the events timeline", "[ctl]") {
    const std::string out =
        ctl::render_deployment(model::to_json(k_sample, true), k_sample.started_at + 60s);
    REQUIRE(out.find("deployment 7 of stack shop\n") == 0);
    REQUIRE(out.find("status:    succeeded") != std::string::npos);
    REQUIRE(out.find("revision:  0123456789abcdef0123456789abcdef01234567") != std::string::npos);
    REQUIRE(out.find("(took 42s)") != std::string::npos);
    REQUIRE(out.find("  web  ghcr.io/acme/web:2.3.1@sha256:aaaabbbbcccc\n") != std::string::npos);
    REQUIRE(out.find("apply  compose up") != std::string::npos);
    REQUIRE(out.find("reason:    healthy") != std::string::npos);
}

TEST_CASE("render: a cycle result is one line", "[ctl]") {
    REQUIRE(ctl::render_cycle("shop", json{{"outcome", "rolled_back"},
                                           {"deployment", 9},
                                           {"message", "web: unhealthy"}}) ==
            "shop: rolled_back, deployment 9: web: unhealthy\n");
    REQUIRE(ctl::render_cycle("shop", json{{"outcome", "noop"}, {"deployment", nullptr}}) ==
            "shop: noop\n");
}
