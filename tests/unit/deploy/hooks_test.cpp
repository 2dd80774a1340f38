// hooks (SPEC section 1, steps 5 and 8): pre-deploy hooks before `up` (a failure rejects the
// release, what runs untouched), post-deploy hooks after the gate (a failure rolls back), and
// on_rollback after a rollback; one-off services with a compose profile.

#include <algorithm>
#include <catch2/catch.hpp>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_hooks_test {

using namespace agentd;
using namespace std::chrono_literals;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

runtime::ComposeService hook_service(const std::string& name) {
    runtime::ComposeService s{name, k_web + ":latest", false, ""};
    s.profiles = {"hooks"};
    return s;
}

struct Fixture : testing::PipelineFixture {
    Fixture() {
        compose.declared = {{"web", k_web + ":latest", false, "always"}, hook_service("migrate"),
                            hook_service("restore"), hook_service("smoke")};
        stack.hooks.pre_deploy = {{"migrate", 90s}};
        stack.hooks.post_deploy = {{"smoke", 30s}};
        stack.hooks.on_rollback = {{"restore", 60s}};
    }
    std::filesystem::path preview() const { return dir / "preview" / "shop" / "shop"; }
    std::filesystem::path working_tree() const { return dir / "stacks" / "shop" / "shop"; }
    bool checked_out_in_working_tree(char revision) const {
        return std::any_of(git.checkouts.begin(), git.checkouts.end(), [&](const auto& c) {
            return c.first == std::string(40, revision) && c.second == dir / "stacks" / "shop";
        });
    }
};

}  // namespace

TEST_CASE("hooks: pre-deploy hooks run before up on the release's files, post-deploy after the "
          "gate",
          "[deploy][hooks]") {
    Fixture f;
    f.stack.hooks.pre_deploy = {{"migrate", 90s}, {"restore", 5s}};  // in order
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.runs == std::vector<std::string>{"migrate", "restore", "smoke"});
    CHECK(f.compose.run_timeouts == std::vector<sys::Duration>{90s, 5s, 30s});
    // Pre-deploy: in the preview checkout (the working tree still has what runs), with the
    // release's pins; post-deploy: in the working tree, after the gate.
    CHECK(f.compose.run_dirs[0] == f.preview());
    CHECK(f.compose.run_dirs[2] == f.working_tree());
    CHECK(f.compose.run_pins[0].at("migrate") == k_web + "@" + digest('1'));
    CHECK(f.compose.run_pins[0].at("web") == k_web + "@" + digest('1'));
    const auto d = f.get(*r.deployment);
    CHECK(has_event(d, "pre_deploy", "running hook migrate (timeout 1m30s)"));
    CHECK(has_event(d, "pre_deploy", "hook migrate succeeded; output:\noutput of migrate"));
    CHECK(has_event(d, "post_deploy", "hook smoke succeeded"));
    // The gate waits for what `up` starts, not for the hook services.
    CHECK(f.compose.ups.size() == 1);
}

TEST_CASE("hooks: a failing pre-deploy hook rejects the release and touches nothing",
          "[deploy][hooks]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.compose.run_fails["migrate"] = "exit 3: ALTER TABLE failed";
    const auto ups = f.compose.ups.size();
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Rejected);
    CHECK(d.reason == "pre_deploy hook migrate failed: exit 3: ALTER TABLE failed");
    CHECK(f.compose.ups.size() == ups);                              // no up
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));  // what ran still runs
    CHECK_FALSE(f.checked_out_in_working_tree('b'));                 // its files too
    CHECK(f.compose.runs.back() == "migrate");                       // no smoke, no restore
    CHECK(f.store.is_bad("shop", d.release.key()));
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Noop);
    CHECK(again.message.find("marked bad") != std::string::npos);
}

TEST_CASE("hooks: a failing post-deploy hook rolls back, then on_rollback runs",
          "[deploy][hooks]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.compose.run_fails["smoke"] = "exit 1: GET /orders: 500";
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    const auto d = f.get(*r.deployment);
    CHECK(d.reason == "post_deploy hook smoke failed: exit 1: GET /orders: 500");
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.compose.runs == std::vector<std::string>{"migrate", "smoke", "migrate", "smoke",
                                                     "restore"});
    // on_rollback runs on the restored release: its files and its images.
    CHECK(f.compose.run_dirs.back() == f.working_tree());
    CHECK(f.compose.run_pins.back().at("web") == k_web + "@" + digest('1'));
    CHECK(has_event(d, "on_rollback", "hook restore succeeded"));
    CHECK(f.store.is_bad("shop", d.release.key()));
}

TEST_CASE("hooks: a failing on_rollback hook fails the deployment, saying so",
          "[deploy][hooks]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = fakes::Behaviour::Unhealthy;
    f.compose.run_fails["restore"] = "timed out after 1m";
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Failed);
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Failed);
    CHECK(d.reason.find("rolled back to deployment 1, but on_rollback hook restore failed: "
                        "timed out after 1m") != std::string::npos);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));  // the rollback itself held
    // No smoke test of a release that failed its gate.
    CHECK(std::count(f.compose.runs.begin(), f.compose.runs.end(), "smoke") == 1);
}

TEST_CASE("hooks: a failed hook's one-off container left behind is removed", "[deploy][hooks]") {
    Fixture f;
    f.compose.run_fails["migrate"] = "timed out after 1m30s";
    runtime::ContainerState left;
    left.id = std::string(64, 'c');
    left.name = "shop_migrate_run_1";
    left.service = "migrate";
    left.one_off = true;
    left.state = "running";
    f.engine.extra_containers.push_back(left);
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    CHECK(f.engine.removed == std::vector<std::string>{std::string(64, 'c')});
    CHECK(has_event(f.get(*r.deployment), "pre_deploy", "removed hook container shop_migrate_run_1"));
}

TEST_CASE("hooks: a hook service that `up` would start is refused before anything runs",
          "[deploy][hooks]") {
    Fixture f;
    f.compose.declared[1].profiles.clear();  // migrate without a profile
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    CHECK(f.get(*r.deployment).reason ==
          "hooks: service migrate has no profile, so `compose up` would start it with the other "
          "services; give it one (profiles: [hooks])");
    CHECK(f.compose.runs.empty());
    CHECK(f.compose.ups.empty());
}

TEST_CASE("hooks: restores run no hooks: agentctl rollback, and the rollback after a failed gate",
          "[deploy][hooks]") {
    Fixture f;
    f.stack.hooks.on_rollback.clear();
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto runs = f.compose.runs.size();
    REQUIRE(f.reconciler.rollback(f.stack, std::nullopt).outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.runs.size() == runs);
    f.release('c', '3');
    f.engine.behaviour[k_web + "@" + digest('3')] = fakes::Behaviour::Unhealthy;
    auto state = f.store.stack_state("shop");
    state.pinned.reset();
    f.store.save_stack_state(state);
    REQUIRE(f.poll().outcome == deploy::Outcome::RolledBack);
    CHECK(f.compose.runs.size() == runs + 1);  // release 3's migrate only
}

TEST_CASE("hooks: a deployment interrupted before apply is retried, pre-deploy hooks first",
          "[deploy][hooks]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    model::Deployment d;
    d.stack = "shop";
    d.status = Status::InProgress;
    d.phase = "pre_deploy";
    d.release.revision = std::string(40, 'b');
    d.release.images = {{"web", k_web + ":latest@" + digest('2')}};
    d.previous = 1;
    d.id = f.store.create_deployment(d);
    const auto ups = f.compose.ups.size();
    f.reconciler.recover(f.stack, "agentd restarted");
    CHECK(f.get(d.id).status == Status::Failed);
    CHECK(f.compose.ups.size() == ups);  // not applied without its migration
    CHECK_FALSE(f.store.is_bad("shop", d.release.key()));
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.runs.back() == "smoke");
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("hooks: a deployment interrupted during on_rollback is restored again, not re-applied",
          "[deploy][hooks]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    model::Deployment d;
    d.stack = "shop";
    d.status = Status::InProgress;
    d.phase = "on_rollback";
    d.reason = "post_deploy hook smoke failed: exit 1";
    d.release.revision = std::string(40, 'b');
    d.release.images = {{"web", k_web + ":latest@" + digest('2')}};
    d.previous = 1;
    d.id = f.store.create_deployment(d);
    f.reconciler.recover(f.stack, "agentd restarted");
    const auto after = f.get(d.id);
    CHECK(after.status == Status::RolledBack);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.compose.runs.back() == "restore");
}

}  // namespace unit_deploy_hooks_test
