// The host's bound on deployments at once (deploy::DeployLimit): every deployment holds a place
// from its pull to its verdict; polls that find nothing new never ask for one.

#include <catch2/catch.hpp>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_limit_test {

using namespace agentd;
using model::Status;
using testing::digest;
using testing::has_event;
using testing::k_web;

namespace {

/// Records every call; `free` says whether try_acquire finds a place, `granted` what a wait ends
/// with (false: agentd stops first).
struct FakeLimit final : deploy::DeployLimit {
    bool free = true;
    bool granted = true;
    int held = 0;
    std::vector<std::string> calls;
    std::size_t most() const override { return 4; }
    bool try_acquire() override {
        calls.push_back("try");
        held += free ? 1 : 0;
        return free;
    }
    bool acquire() override {
        calls.push_back("acquire");
        held += granted ? 1 : 0;
        return granted;
    }
    void release() override {
        calls.push_back("release");
        --held;
    }
};

struct LimitHolder {
    FakeLimit limit;
};

struct Fixture : LimitHolder, testing::PipelineFixture {
    Fixture() : testing::PipelineFixture(nullptr, &limit) {
        compose.declared = {{"web", k_web + ":latest", false, "always"}};
    }
};

}  // namespace

TEST_CASE("deploy limit: a deployment holds a place from its pull to its verdict",
          "[deploy][limit]") {
    Fixture f;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.limit.calls == std::vector<std::string>{"try", "release"});
    CHECK(f.limit.held == 0);
    CHECK_FALSE(has_event(f.get(*r.deployment), "plan", "waits for its turn on this host"));
    // Nothing new: the poll asks for no place.
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.limit.calls.size() == 2);
    // A release that fails the gate holds its place through the rollback, then gives it back.
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = fakes::Behaviour::Unhealthy;
    CHECK(f.poll().outcome == deploy::Outcome::RolledBack);
    CHECK(f.limit.calls == std::vector<std::string>{"try", "release", "try", "release"});
    CHECK(f.limit.held == 0);
}

TEST_CASE("deploy limit: with every place taken, the deployment waits and says so",
          "[deploy][limit]") {
    Fixture f;
    f.limit.free = false;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.limit.calls == std::vector<std::string>{"try", "acquire", "release"});
    CHECK(has_event(f.get(*r.deployment), "plan",
                    "waits for its turn on this host: 4 other deployments run"));
}

TEST_CASE(
    "deploy limit: agentd stopping during the wait leaves the deployment to recovery, "
    "nothing pulled or applied",
    "[deploy][limit]") {
    Fixture f;
    f.limit.free = false;
    f.limit.granted = false;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Interrupted);
    REQUIRE(r.deployment);
    CHECK(f.get(*r.deployment).status == Status::InProgress);
    CHECK(f.engine.pulls.empty());
    CHECK(f.compose.ups.empty());
    CHECK(f.limit.calls == std::vector<std::string>{"try", "acquire"});
    CHECK(f.limit.held == 0);
}

}  // namespace unit_deploy_limit_test
