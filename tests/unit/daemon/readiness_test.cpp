// /readyz's verdict: the store, the engine and each stack's last poll.

#include "agent/daemon/readiness.h"

#include <catch2/catch.hpp>

namespace unit_daemon_readiness_test {

using namespace agentd;
using namespace agentd::daemon;
using namespace std::chrono_literals;

namespace {

const sys::TimePoint k_start = sys::TimePoint{} + std::chrono::hours(24 * 365 * 50);

StackPoll stack(const std::string& name, std::optional<sys::TimePoint> at,
                const std::string& result = "ok", const std::string& error = "") {
    StackPoll s;
    s.name = name;
    s.last_poll.at = at;
    s.last_poll.result = result;
    s.last_poll.error = error;
    s.poll_interval = 60s;
    s.health_timeout = 180s;
    return s;
}

ReadinessInput input_at(sys::TimePoint now, std::vector<StackPoll> stacks) {
    ReadinessInput in;
    in.started = k_start;
    in.now = now;
    in.stacks = std::move(stacks);
    return in;
}

}  // namespace

TEST_CASE("readiness: overdue after two intervals, two gates and a minute", "[daemon]") {
    CHECK(poll_overdue_after(60s, 180s) == 120s + 360s + 60s);
    CHECK(poll_overdue_after(10s, 5s) == 30s + 60s);
}

TEST_CASE("readiness: ok when the store, the engine and every recent poll are", "[daemon]") {
    const auto r = judge_readiness(
        input_at(k_start + 300s, {stack("shop", k_start + 250s), stack("blog", k_start + 10s)}));
    CHECK(r.status == "ok");
    CHECK(r.http_status() == 200);
    REQUIRE(r.checks.size() == 4);
    CHECK(r.checks[0].name == "state_store");
    CHECK(r.checks[1].name == "docker");
    CHECK(r.checks[2].name == "stack shop");
    CHECK(r.checks[2].detail == "last poll 50s ago");
    CHECK(r.checks[3].ok);
}

TEST_CASE("readiness: a failed last poll or an overdue one is degraded, 503", "[daemon]") {
    auto r = judge_readiness(
        input_at(k_start + 300s, {stack("shop", k_start + 290s, "error", "git: connection refused"),
                                  stack("blog", k_start + 1s)}));
    CHECK(r.status == "degraded");
    CHECK(r.http_status() == 503);
    CHECK_FALSE(r.checks[2].ok);
    CHECK(r.checks[2].detail == "last poll 10s ago failed: git: connection refused");
    CHECK(r.checks[3].ok);

    // blog's poll is recent until 9m after it; then overdue
    r = judge_readiness(input_at(k_start + 1s + 540s, {stack("blog", k_start + 1s)}));
    CHECK(r.status == "ok");
    r = judge_readiness(input_at(k_start + 2s + 540s, {stack("blog", k_start + 1s)}));
    CHECK(r.status == "degraded");
    CHECK(r.checks[2].detail == "last poll 9m1s ago, overdue after 9m");
}

TEST_CASE("readiness: polls from before agentd started do not count", "[daemon]") {
    // An old error from the last run is not this run's; the first poll is pending a while.
    auto r =
        judge_readiness(input_at(k_start + 5s, {stack("shop", k_start - 3600s, "error", "x")}));
    CHECK(r.status == "ok");
    CHECK(r.checks[2].detail == "first poll pending");
    r = judge_readiness(input_at(k_start + 5s, {stack("new", std::nullopt, "")}));
    CHECK(r.status == "ok");
    // ... but not forever
    r = judge_readiness(input_at(k_start + 541s, {stack("new", std::nullopt, "")}));
    CHECK(r.status == "degraded");
    CHECK(r.checks[2].detail == "no poll since agentd started 9m1s ago");
}

TEST_CASE("readiness: a paused stack does not poll and is not a fault", "[daemon]") {
    auto paused = stack("shop", k_start - 3600s, "error", "x");
    paused.held = true;
    const auto r = judge_readiness(input_at(k_start + 7200s, {paused}));
    CHECK(r.status == "ok");
    CHECK(r.checks[2].detail == "paused: not polling");
}

TEST_CASE("readiness: the store or the engine failing is an error, 503", "[daemon]") {
    auto in = input_at(k_start + 10s, {stack("shop", k_start + 5s)});
    in.docker_error = "docker engine at /var/run/docker.sock: Couldn't connect to server";
    auto r = judge_readiness(in);
    CHECK(r.status == "error");
    CHECK(r.http_status() == 503);
    CHECK_FALSE(r.checks[1].ok);
    CHECK(r.checks[1].detail == in.docker_error);
    CHECK(r.checks[2].ok);
    in.docker_error.clear();
    in.store_error = "database disk image is malformed";
    r = judge_readiness(in);
    CHECK(r.status == "error");
    CHECK(r.checks[0].detail == "database disk image is malformed");
}

}  // namespace unit_daemon_readiness_test
