// approval: manual (SPEC sections 1 and 6): a verified candidate is pulled, then waits for
// `agentctl approve`; only the newest candidate waits.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_approval_test {

using namespace agentd;
using namespace std::chrono_literals;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

struct Fixture : testing::PipelineFixture {
    Fixture() {
        compose.declared = {{"web", k_web + ":latest", false, "always"}};
        stack.approval = config::Approval::Manual;
    }
    deploy::CycleResult approve(std::optional<std::int64_t> which = std::nullopt) {
        return reconciler.approve(stack, which);
    }
    std::string candidate() { return store.stack_state("shop").candidate; }
};

}  // namespace

TEST_CASE("approval: a candidate is verified and pulled, then waits; approve deploys it",
          "[approval]") {
    Fixture f;
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    auto d = f.get(*w.deployment);
    CHECK(d.status == Status::Waiting);
    CHECK(d.reason == "approval");
    CHECK(model::waits_for_approval(d));
    CHECK(has_event(d, "approval", "waits for approval (`agentctl approve shop 1`)"));
    CHECK(f.engine.pulls == std::vector<std::string>{k_web + "@" + digest('1')});  // pulled now
    CHECK(f.compose.ups.empty());                                                   // not applied
    CHECK(f.candidate() == "aaaaaaaaaaaa waits for approval (`agentctl approve shop 1`)");
    CHECK(w.message == f.candidate());

    // Later polls leave it waiting: nothing pulled, recorded or applied again.
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Waiting);
    CHECK(again.deployment == w.deployment);
    CHECK(f.store.all().size() == 1);
    CHECK(f.engine.pulls.size() == 1);
    CHECK(f.candidate() == "aaaaaaaaaaaa waits for approval (`agentctl approve shop 1`)");

    const auto r = f.approve();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);  // exactly the waiting deployment
    CHECK(r.message == "aaaaaaaaaaaa approved and deployed");
    d = f.get(*r.deployment);
    CHECK(d.status == Status::Succeeded);
    CHECK(d.trigger == model::Trigger::Manual);
    CHECK(has_event(d, "approval", "approved with `agentctl approve`"));
    CHECK(f.compose.ups.size() == 1);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.poll().outcome == deploy::Outcome::Noop);  // what runs now
}

TEST_CASE("approval: a newer candidate supersedes the waiting one; approving the old is refused",
          "[approval]") {
    Fixture f;
    const auto first = f.poll();
    REQUIRE(f.approve().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    const auto older = f.poll();
    REQUIRE(older.outcome == deploy::Outcome::Waiting);
    f.release('c', '3');
    const auto newer = f.poll();
    REQUIRE(newer.outcome == deploy::Outcome::Waiting);
    REQUIRE(newer.deployment != older.deployment);

    const auto replaced = f.get(*older.deployment);
    CHECK(replaced.status == Status::Superseded);
    CHECK(replaced.reason ==
          fmt::format("superseded by deployment {} before it was deployed", *newer.deployment));
    CHECK_FALSE(model::passed_gate(replaced));
    CHECK(model::status_text(replaced) == "superseded before it was deployed");
    CHECK(f.get(*first.deployment).status == Status::Succeeded);  // still what runs

    const auto ups = f.compose.ups.size();
    const auto stale = f.approve(older.deployment);
    CHECK(stale.outcome == deploy::Outcome::Failed);
    CHECK(stale.message ==
          fmt::format("deployment {} no longer waits for approval: deployment {} (cccccccccccc) "
                      "does now; approve it with `agentctl approve shop {}`",
                      *older.deployment, *newer.deployment, *newer.deployment));
    CHECK(f.compose.ups.size() == ups);
    // A release that never ran can be neither restored nor pinned.
    CHECK(f.reconciler.rollback(f.stack, older.deployment).message.find("superseded before") !=
          std::string::npos);
    CHECK(f.reconciler.pin(f.stack, *older.deployment).outcome == deploy::Outcome::Failed);

    const auto r = f.approve(newer.deployment);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('3'));
    // The default rollback target is the release that ran before, not the one that never did.
    const auto back = f.reconciler.rollback(f.stack, std::nullopt);
    REQUIRE(back.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
}

TEST_CASE("approval: nothing waiting, a paused or a pinned stack: approve touches nothing",
          "[approval]") {
    Fixture f;
    CHECK(f.approve().message == "no release of stack shop waits for approval");
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    auto state = f.store.stack_state("shop");
    state.paused = true;
    f.store.save_stack_state(state);
    const auto paused = f.approve();
    CHECK(paused.outcome == deploy::Outcome::Failed);
    CHECK(paused.message == "stack shop is paused: `agentctl resume shop` first");
    state.paused = false;
    state.pinned = 7;
    f.store.save_stack_state(state);
    CHECK(f.approve().message == "stack shop is pinned at deployment 7: `agentctl unpin shop` first");
    CHECK(f.compose.ups.empty());
    CHECK(f.get(*w.deployment).status == Status::Waiting);
}

TEST_CASE("approval: a candidate waiting for images waits for approval once they are pushed",
          "[approval]") {
    Fixture f;
    f.compose.declared = {{"web", k_web + ":2.0", false, "always"}};
    const auto images = f.poll();
    REQUIRE(images.outcome == deploy::Outcome::Waiting);
    CHECK(f.get(*images.deployment).reason == "images");
    CHECK(f.engine.pulls.empty());
    f.registry.digests["acme/web:2.0"] = digest('2');
    const auto approval = f.poll();
    REQUIRE(approval.outcome == deploy::Outcome::Waiting);
    CHECK(approval.deployment == images.deployment);  // the same record waits on
    CHECK(model::waits_for_approval(f.get(*approval.deployment)));
    CHECK(f.engine.pulls.size() == 1);
}

TEST_CASE("approval: switched to auto, the waiting candidate is deployed by the next poll",
          "[approval]") {
    Fixture f;
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    f.stack.approval = config::Approval::Auto;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);
}

TEST_CASE("approval: an approved release that fails the gate is rolled back and marked bad",
          "[approval]") {
    Fixture f;
    f.poll();
    REQUIRE(f.approve().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = fakes::Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::Waiting);
    const auto r = f.approve();
    CHECK(r.outcome == deploy::Outcome::RolledBack);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Noop);
    CHECK(again.message.find("marked bad") != std::string::npos);
    CHECK(f.approve().message == "no release of stack shop waits for approval");
}

TEST_CASE("approval: with approval auto, a release waiting for images that a newer one overtook "
          "is superseded",
          "[approval]") {
    Fixture f;
    f.stack.approval = config::Approval::Auto;
    f.poll();
    f.git.head = std::string(40, 'b');
    f.compose.declared = {{"web", k_web + ":2.0", false, "always"}};
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    // Before: the waiting deployment stayed `waiting` for ever once another release came.
    f.git.head = std::string(40, 'c');
    f.compose.declared = {{"web", k_web + ":latest", false, "always"}};
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*w.deployment).status == Status::Superseded);
    CHECK(f.store.latest("shop")->id == *r.deployment);
}

TEST_CASE("approval: passed_gate tells a promoted release from a replaced wait", "[approval]") {
    model::Deployment d;
    d.status = Status::Succeeded;
    CHECK(model::passed_gate(d));
    d.status = Status::Superseded;
    d.phase = "promote";
    CHECK(model::passed_gate(d));
    CHECK(model::status_text(d) == "superseded");
    d.phase = "approval";
    CHECK_FALSE(model::passed_gate(d));
    d.status = Status::RolledBack;
    CHECK_FALSE(model::passed_gate(d));
    CHECK(model::status_text(d) == "rolled_back");
}

}  // namespace unit_deploy_approval_test
