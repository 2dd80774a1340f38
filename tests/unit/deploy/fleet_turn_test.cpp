// With `fleet:` (docs/fleet.md): a release starts only in this host's turn, waiting verified and
// pulled until then; the turn ends done, halted or given back with the deployment.

#include <catch2/catch.hpp>

#include "agent/deploy/reconciler.h"
#include "agent/deploy/reconciler_steps.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_fleet_turn_test {

using namespace agentd;
using namespace std::chrono_literals;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

/// Records every call; answers turns with `next` (Go unless told otherwise).
struct FakeFleet final : fleet::Coordinator {
    fleet::Turn next{fleet::Turn::Kind::Go, {}};
    sys::Duration soak_for{0};
    std::vector<std::string> calls;

    sys::Duration soak() const override { return soak_for; }
    fleet::Turn turn(const std::string& stack, const std::string& release) override {
        calls.push_back("turn " + stack + " " + release);
        return next;
    }
    sys::Result<void> done(const std::string& stack, const std::string& release) override {
        calls.push_back("done " + stack + " " + release);
        return {};
    }
    sys::Result<void> halt(const std::string& stack, const std::string& release,
                           const std::string& reason) override {
        calls.push_back("halt " + stack + " " + release + ": " + reason);
        return {};
    }
    sys::Result<void> leave(const std::string& stack) override {
        calls.push_back("leave " + stack);
        return {};
    }
};

struct FleetHolder {
    FakeFleet fleet;
};

struct Fixture : FleetHolder, testing::PipelineFixture {
    Fixture() : testing::PipelineFixture(&fleet) {
        compose.declared = {{"web", k_web + ":latest", false, "always"}};
    }
    model::Release current_release() { return store.current("shop")->release; }
};

}  // namespace

TEST_CASE("fleet turn: a release waits for its turn verified and pulled, then deploys in it",
          "[deploy][fleet]") {
    Fixture f;
    f.fleet.next = {fleet::Turn::Kind::Wait, "waiting for a fleet slot: 1 of 1 updating (web-2)"};
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    auto d = f.get(*w.deployment);
    CHECK(d.status == Status::Waiting);
    CHECK(d.reason == "fleet");
    CHECK(has_event(d, "fleet",
                    "waits for its turn in the fleet: waiting for a fleet slot: 1 of 1 updating "
                    "(web-2)"));
    CHECK(f.engine.pulls == std::vector<std::string>{k_web + "@" + digest('1')});  // pulled now
    CHECK(f.compose.ups.empty());
    CHECK(w.message == f.store.stack_state("shop").candidate);
    REQUIRE(f.fleet.calls.size() == 1);
    CHECK(f.fleet.calls[0] == "turn shop " + d.release.key());

    // Still not its turn: the same waiting deployment, nothing pulled or recorded again.
    f.fleet.next.reason = "waiting for a fleet slot: 1 of 1 updating (web-3)";
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Waiting);
    CHECK(again.deployment == w.deployment);
    CHECK(again.message.find("(web-3)") != std::string::npos);
    CHECK(f.store.all().size() == 1);
    CHECK(f.engine.pulls.size() == 1);

    // Its turn: that deployment is deployed, and the turn ends done; its events show when the
    // turn began and ended.
    f.fleet.next = {fleet::Turn::Kind::Go, "holds a fleet slot: 1 of 1 updating (web-1)"};
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);
    d = f.get(*r.deployment);
    CHECK(d.status == Status::Succeeded);
    CHECK(d.reason.empty());  // not "fleet": it waits no more
    CHECK(f.fleet.calls.back() == "done shop " + d.release.key());
    CHECK(has_event(d, "fleet", "holds a fleet slot: 1 of 1 updating (web-1)"));
    REQUIRE(!d.events.empty());
    CHECK(d.events.back().phase == "fleet");
    CHECK(d.events.back().message ==
          "turn over: the release is done on this host; its slot is free");
    // Up to date: no turn is asked for.
    const auto calls = f.fleet.calls.size();
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.fleet.calls.size() == calls);
}

TEST_CASE("fleet turn: a release that fails the gate is rolled back first, then halted",
          "[deploy][fleet]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = fakes::Behaviour::Unhealthy;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    const auto bad = f.get(*r.deployment).release.key();
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));  // restored before the halt
    REQUIRE(f.fleet.calls.size() == 4);
    CHECK(f.fleet.calls[2] == "turn shop " + bad);
    CHECK(f.fleet.calls[3].starts_with("halt shop " + bad + ": "));
    CHECK(f.fleet.calls[3].find("unhealthy") != std::string::npos);
    CHECK(has_event(f.get(*r.deployment), "fleet",
                    "turn over: the release is halted for the fleet; its slot is free"));
}

TEST_CASE("fleet turn: a failed pull gives the slot back, and the release is tried again",
          "[deploy][fleet]") {
    Fixture f;
    f.engine.pull_fails = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Failed);
    CHECK(f.fleet.calls.back() == "leave shop");
    f.engine.pull_fails = false;
    CHECK(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.fleet.calls.back().starts_with("done shop "));
}

TEST_CASE("fleet turn: etcd unreachable: nothing starts, what runs keeps running",
          "[deploy][fleet]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.fleet.next = {fleet::Turn::Kind::Wait,
                    "etcd cannot be reached (http://127.0.0.1:2379): Connection refused"};
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    CHECK(w.message.find("etcd cannot be reached") != std::string::npos);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.compose.ups.size() == 1);  // the first release only
}

TEST_CASE("fleet turn: the soak lengthens the gate's stable window", "[deploy][fleet]") {
    config::Stack stack;
    stack.health.stable = 10s;
    stack.health.timeout = 3min;
    const auto soaked = deploy::with_soak(stack, 2min);
    CHECK(soaked.health.stable == 2min);
    CHECK(soaked.health.timeout == 5min);
    CHECK(deploy::with_soak(stack, 0s).health.stable == 10s);
    CHECK(deploy::with_soak(stack, 5s).health.stable == 10s);  // never shorter than its own

    // In the pipeline: the gate keeps sampling for the soak before the release passes.
    Fixture f;
    f.fleet.soak_for = 60s;
    const auto start = f.clock.now();
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.clock.now() - start >= 60s);
}

}  // namespace unit_deploy_fleet_turn_test
