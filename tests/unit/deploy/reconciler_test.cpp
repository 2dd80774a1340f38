#include "agent/deploy/reconciler.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/deploy/release_diff.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"
#include "tests/unit/log_capture.h"

namespace unit_deploy_reconciler_test {

using namespace agentd;
using namespace std::chrono_literals;
using fakes::Behaviour;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

struct Fixture : testing::PipelineFixture {
    Fixture() {
        compose.declared = {{"web", k_web + ":latest", false, "always"},
                            {"worker", k_web + ":latest", false, "always"}};
    }
};

}  // namespace

TEST_CASE("reconciler: first poll deploys the branch head pinned by digest", "[deploy]") {
    Fixture f;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Succeeded);
    CHECK(d.release.revision == std::string(40, 'a'));
    CHECK(d.release.images.at("web") == k_web + ":latest@" + digest('1'));
    CHECK(d.finished_at.has_value());
    REQUIRE(f.compose.ups.size() == 1);
    CHECK(f.compose.ups[0].at("worker") == k_web + "@" + digest('1'));
    CHECK(f.engine.pulls == std::vector<std::string>{k_web + "@" + digest('1')});
    CHECK(f.compose.last_env.at("AGENTD_COMMIT") == std::string(40, 'a'));
    CHECK(has_event(d, "gate", "waiting up to 30s"));
    CHECK(f.store.stack_state("shop").last_poll.result == "ok");
}

TEST_CASE("reconciler: a poll that finds nothing new starts nothing", "[deploy]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const int configs = f.compose.configs;
    const int engine_calls = f.engine.calls;
    const int listed = f.engine.listed;
    const auto deployments = f.store.all().size();
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(f.compose.configs == configs);  // compose config cached per revision
    CHECK(f.compose.ups.size() == 1);
    // No pull, inspect or removal: only the one container listing that drift compares.
    CHECK(f.engine.calls == engine_calls);
    CHECK(f.engine.listed == listed + 1);
    CHECK(f.store.all().size() == deployments);
    CHECK(f.git.fetches == 2);
}

TEST_CASE("reconciler: compose and the engine are given the prefixed project, the rest the name",
          "[deploy]") {
    Fixture f;
    f.stack.project_prefix = "agent07-";
    f.stack.hooks.pre_deploy = {{"migrate", 90s}};
    const auto r = f.poll();  // config, hook, up, gate
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    REQUIRE(f.poll().outcome == deploy::Outcome::Noop);  // drift looks at the containers
    CHECK(f.compose.runs == std::vector<std::string>{"migrate"});
    CHECK(f.compose.projects == std::set<std::string>{"agent07-shop"});
    CHECK(f.engine.projects == std::set<std::string>{"agent07-shop"});
    CHECK(f.engine.watches > 0);
    CHECK(f.engine.listed > 0);
    // The store, the deployment and the state directory keep the stack's own name.
    CHECK(f.get(*r.deployment).stack == "shop");
    CHECK(f.store.stack_state("shop").last_poll.result == "ok");
    CHECK(std::filesystem::exists(f.dir / "meta" / "shop"));
}

TEST_CASE("reconciler: a new commit is promoted and the old one superseded", "[deploy]") {
    Fixture f;
    const auto first = f.poll();
    f.release('b', '2');
    const auto second = f.poll();
    REQUIRE(second.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*first.deployment).status == Status::Superseded);
    CHECK(f.get(*second.deployment).previous == first.deployment);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
    CHECK(f.compose.configs == 2);
}

TEST_CASE("reconciler: a re-pushed tag (new digest, same commit) is deployed", "[deploy]") {
    Fixture f;
    f.poll();
    f.registry.digests["acme/web:latest"] = digest('7');
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.images.at("web") == k_web + ":latest@" + digest('7'));
}

TEST_CASE("reconciler: an unhealthy release is rolled back and not retried", "[deploy]") {
    Fixture f;
    const auto good = f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    const auto bad = f.poll();
    REQUIRE(bad.outcome == deploy::Outcome::RolledBack);
    const auto d = f.get(*bad.deployment);
    CHECK(d.status == Status::RolledBack);
    CHECK(d.reason.find("web: unhealthy: wget: server returned error 500") != std::string::npos);
    CHECK(has_event(d, "rollback", "restoring deployment 1"));
    // status says so at once, not only after the next poll (before: nothing pending, so
    // `agentctl status` read the bad revision as "seen ...: no change to this stack")
    CHECK(f.store.stack_state("shop").candidate.find("marked bad") != std::string::npos);
    // the previous digests run again, and the previous release is still current
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.compose.ups.back().at("web") == k_web + "@" + digest('1'));
    CHECK(f.get(*good.deployment).status == Status::Succeeded);
    CHECK(f.git.checkouts.back().first == std::string(40, 'a'));
    // later polls leave the bad release alone
    const auto ups = f.compose.ups.size();
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Noop);
    CHECK(again.message.find("marked bad") != std::string::npos);
    CHECK(f.compose.ups.size() == ups);
    CHECK(f.store.stack_state("shop").candidate.find("marked bad") != std::string::npos);
    // a newer release is tried
    f.release('c', '3');
    CHECK(f.poll().outcome == deploy::Outcome::Succeeded);
}

TEST_CASE("reconciler: a crash-looping release fails the gate", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::CrashLoop;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    CHECK(f.get(*r.deployment).reason.find("restarted") != std::string::npos);
}

TEST_CASE("reconciler: a failing first release has nothing to roll back to", "[deploy]") {
    Fixture f;
    f.engine.behaviour[k_web + "@" + digest('1')] = Behaviour::Unhealthy;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Failed);
    CHECK(f.get(*r.deployment).reason.find("no earlier release") != std::string::npos);
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
}

TEST_CASE("reconciler: on_failure stop leaves the release and marks it failed", "[deploy]") {
    Fixture f;
    f.stack.on_failure = config::OnFailure::Stop;
    f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Failed);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("reconciler: invalid compose files are rejected, nothing touched", "[deploy]") {
    Fixture f;
    f.poll();
    f.git.head = std::string(40, 'b');
    f.compose.invalid = "services.web.ports contains an invalid type";
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Rejected);
    CHECK(d.reason.find("invalid type") != std::string::npos);
    CHECK(f.compose.ups.size() == 1);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    // remembered: the next poll neither re-runs compose nor records another rejection
    const int configs = f.compose.configs;
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.compose.configs == configs);
    CHECK(f.store.all().size() == 2);
}

TEST_CASE("reconciler: git or registry unreachable is a poll error", "[deploy]") {
    Fixture f;
    f.poll();
    f.git.fail = "failed to resolve address";
    auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    auto state = f.store.stack_state("shop");
    CHECK(state.last_poll.result == "error");
    CHECK(state.last_poll.error == "git: failed to resolve address");

    f.git.fail.clear();
    f.git.head = std::string(40, 'b');
    f.registry.fail = "connection refused";
    r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    CHECK(f.store.stack_state("shop").last_poll.error.find("registry: ") == 0);
    CHECK(f.compose.ups.size() == 1);
    CHECK(f.store.all().size() == 1);
}

TEST_CASE("reconciler: a release waits for its image, then deploys it", "[deploy]") {
    Fixture f;
    f.poll();
    f.git.head = std::string(40, 'b');
    f.compose.declared = {{"web", k_web + ":2.0", false, "always"}};
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    CHECK(f.get(*w.deployment).status == Status::Waiting);
    CHECK(f.store.stack_state("shop").candidate ==
          "bbbbbbbbbbbb waits for images: web: tag 2.0 not found");
    CHECK(f.poll().deployment == w.deployment);  // still the same waiting deployment
    f.registry.digests["acme/web:2.0"] = digest('2');
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);
}

TEST_CASE("reconciler: a release waiting past image_wait is rejected", "[deploy]") {
    Fixture f;
    f.stack.image_wait = 10min;
    f.compose.declared = {{"web", k_web + ":2.0", false, "always"}};
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    f.clock.advance(11min);
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Rejected);
    CHECK(f.get(*w.deployment).status == Status::Rejected);
    CHECK(f.get(*w.deployment).reason == "images still missing after 10m: web: tag 2.0 not found");
}

TEST_CASE("reconciler: a failed pull fails the deployment before anything runs", "[deploy]") {
    Fixture f;
    f.engine.pull_fails = true;
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Failed);
    CHECK(f.compose.ups.empty());
    CHECK(f.get(*r.deployment).reason.find("pull ") == 0);
}

TEST_CASE("reconciler: paused stacks are left alone", "[deploy]") {
    Fixture f;
    auto state = f.store.stack_state("shop");
    state.paused = true;
    f.store.save_stack_state(state);
    CHECK(f.poll().outcome == deploy::Outcome::Paused);
    CHECK(f.git.fetches == 0);
}

TEST_CASE("reconciler: a pinned stack observes new releases but deploys none", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    f.store.set_control("shop", false, one.deployment);
    f.release('b', '2');
    const auto ups = f.compose.ups.size();
    const auto deployments = f.store.all().size();
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(f.git.fetches == 2);  // it did poll
    CHECK(f.compose.ups.size() == ups);
    CHECK(f.engine.pulls.size() == 1);
    CHECK(f.store.all().size() == deployments);  // not even a waiting or rejected record
    const auto state = f.store.stack_state("shop");
    CHECK(state.last_poll.result == "ok");
    CHECK(state.last_poll.revision == std::string(40, 'b'));
    CHECK(state.candidate.find(std::string(12, 'b')) == 0);
    CHECK(state.candidate.find("stack pinned at deployment 1") != std::string::npos);
    CHECK(r.message == state.candidate);
    // what `agentctl diff` compares with the current release
    const auto observed = deploy::observed_release(deploy::observed_release_file(f.dir, "shop"));
    REQUIRE(observed);
    CHECK(observed->revision == std::string(40, 'b'));
    CHECK(observed->images.at("web") == k_web + ":latest@" + digest('2'));
    // unpinned: the held release is deployed by the next poll
    f.store.set_control("shop", false, std::nullopt);
    const auto two = f.poll();
    REQUIRE(two.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
    // paused stays what it was: no poll at all
    f.store.set_control("shop", true, two.deployment);
    CHECK(f.poll().outcome == deploy::Outcome::Paused);
    CHECK(f.git.fetches == 3);
}

TEST_CASE("reconciler: pin restores an earlier release through the gate and holds it", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    f.release('b', '2');
    const auto two = f.poll();
    const auto r = f.reconciler.pin(f.stack, *one.deployment);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    REQUIRE(r.deployment);
    CHECK(*r.deployment != *one.deployment);
    const auto d = f.get(*r.deployment);
    CHECK(d.trigger == model::Trigger::Rollback);
    CHECK(d.release == f.get(*one.deployment).release);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.get(*two.deployment).status == Status::Superseded);
    auto state = f.store.stack_state("shop");
    CHECK(state.pinned == r.deployment);
    CHECK_FALSE(state.paused);
    CHECK(r.message.find("pinned at deployment " + std::to_string(*r.deployment)) !=
          std::string::npos);
    // the newer release is still what the branch says: observed, held
    const auto ups = f.compose.ups.size();
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.compose.ups.size() == ups);
    CHECK(f.store.stack_state("shop").candidate.find("not deployed") != std::string::npos);
}

TEST_CASE("reconciler: pin of what runs holds it without deploying", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    const auto ups = f.compose.ups.size();
    const auto r = f.reconciler.pin(f.stack, *one.deployment);
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(r.deployment == one.deployment);
    CHECK(f.compose.ups.size() == ups);
    CHECK(f.store.stack_state("shop").pinned == one.deployment);
}

TEST_CASE("reconciler: pin refuses unknown, foreign and failed deployments", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    const auto bad = f.poll();
    REQUIRE(bad.outcome == deploy::Outcome::RolledBack);
    model::Deployment other;
    other.stack = "blog";
    other.status = Status::Succeeded;
    const auto foreign = f.store.create_deployment(other);
    const auto ups = f.compose.ups.size();
    for (const auto id : {std::int64_t{99}, foreign, *bad.deployment}) {
        CAPTURE(id);
        const auto r = f.reconciler.pin(f.stack, id);
        CHECK(r.outcome == deploy::Outcome::Failed);
        CHECK_FALSE(f.store.stack_state("shop").pinned);
    }
    CHECK(f.reconciler.pin(f.stack, *bad.deployment).message.find("rolled_back") !=
          std::string::npos);
    CHECK(f.compose.ups.size() == ups);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.get(*one.deployment).status == Status::Succeeded);
}

TEST_CASE("reconciler: a pin whose restore fails the gate does not pin", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    f.release('b', '2');
    f.poll();
    f.engine.behaviour[k_web + "@" + digest('1')] = Behaviour::Unhealthy;
    const auto r = f.reconciler.pin(f.stack, *one.deployment);
    CHECK(r.outcome == deploy::Outcome::RolledBack);
    CHECK(r.message.find("not pinned") != std::string::npos);
    CHECK_FALSE(f.store.stack_state("shop").pinned);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("reconciler: a release marked bad is tried again once forgotten, trigger retry",
          "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::RolledBack);
    REQUIRE(f.poll().outcome == deploy::Outcome::Noop);  // remembered
    f.engine.behaviour.erase(k_web + "@" + digest('2'));
    f.store.clear_bad("shop");  // what `agentctl retry` does before its cycle
    const auto r = f.reconciler.reconcile(f.stack, model::Trigger::Retry);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).trigger == model::Trigger::Retry);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("reconciler: rollback --to restores an earlier release through the gate", "[deploy]") {
    Fixture f;
    const auto one = f.poll();
    f.release('b', '2');
    const auto two = f.poll();
    const auto r = f.reconciler.rollback(f.stack, one.deployment);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    const auto d = f.get(*r.deployment);
    CHECK(d.trigger == model::Trigger::Rollback);
    CHECK(d.reason == "restore of deployment 1");
    CHECK(d.release == f.get(*one.deployment).release);
    CHECK(f.get(*two.deployment).status == Status::Superseded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    // default target: the release before the current one
    const auto back = f.reconciler.rollback(f.stack, std::nullopt);
    REQUIRE(back.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
    // only releases that passed the gate
    CHECK(f.reconciler.rollback(f.stack, 99).outcome == deploy::Outcome::Failed);
}

TEST_CASE("reconciler: an interrupted gate is finished at the next start", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.stop = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Interrupted);
    CHECK(f.get(*r.deployment).status == Status::InProgress);
    f.stop = false;
    f.reconciler.recover(f.stack, "agentd restarted");
    CHECK(f.get(*r.deployment).status == Status::Succeeded);
    CHECK(f.store.unfinished("shop").empty());
}

TEST_CASE("reconciler: an interrupted unhealthy release is rolled back at start", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    f.stop = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Interrupted);
    f.stop = false;
    f.reconciler.recover(f.stack, "agentd restarted");
    CHECK(f.get(*r.deployment).status == Status::RolledBack);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
}

namespace {

sources::GitTag git_tag(const std::string& name, char commit) {
    return {name, std::string(40, commit), false};
}

}  // namespace

TEST_CASE("reconciler: a semver tag policy deploys the newest allowed git tag", "[deploy]") {
    Fixture f;
    f.stack.git->tags = *config::TagPolicySpec::make("^1", "");
    f.git.tag_list = {git_tag("v1.0.0", '1'), git_tag("v2.0.0-rc.1", '9')};
    auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    auto d = f.get(*r.deployment);
    CHECK(d.release.tag == "v1.0.0");
    CHECK(d.release.revision == std::string(40, '1'));
    CHECK(f.compose.last_env.at("AGENTD_TAG") == "v1.0.0");
    CHECK(f.compose.last_env.at("AGENTD_VERSION") == "1.0.0");
    CHECK(f.git.fetches == 0);  // tags, not the branch

    f.git.tag_list.push_back(git_tag("v1.1.0", '2'));
    f.git.tag_list.push_back(git_tag("v1.2.0", '3'));
    r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.tag == "v1.2.0");
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
}

TEST_CASE("reconciler: no_downgrade keeps the running tag when a lower one is all that is left",
          "[deploy]") {
    Fixture f;
    f.stack.git->tags = *config::TagPolicySpec::make(">=1.0.0", "");
    f.git.tag_list = {git_tag("v1.0.0", '1'), git_tag("v1.3.0", '3')};
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.git.tag_list = {git_tag("v1.0.0", '1')};  // v1.3.0 deleted on the remote
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    f.stack.no_downgrade = false;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.tag == "v1.0.0");
}

TEST_CASE("reconciler: no tag matching the policy is a poll error", "[deploy]") {
    Fixture f;
    f.stack.git->tags = *config::TagPolicySpec::make("^3", "");
    f.git.tag_list = {git_tag("v1.0.0", '1')};
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    CHECK(r.message.find("no tag matches") != std::string::npos);
    CHECK(f.compose.ups.empty());
}

TEST_CASE("reconciler: an image policy picks the registry tag to run", "[deploy]") {
    Fixture f;
    f.compose.declared = {{"web", k_web + ":latest", false, "always"}};
    f.stack.images["web"] = *config::TagPolicySpec::make("~2.4", "");
    f.registry.digests = {{"acme/web:2.3.9", digest('3')},
                          {"acme/web:2.4.1", digest('4')},
                          {"acme/web:2.5.0", digest('5')},
                          {"acme/web:2.4.2.sig", digest('6')}};
    auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.images.at("web") == k_web + ":2.4.1@" + digest('4'));
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('4'));
    // a no-op poll costs one tag listing and one digest lookup per image
    const int listings = f.registry.listings;
    const int resolves = f.registry.resolves;
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.registry.listings == listings + 1);
    CHECK(f.registry.resolves == resolves + 1);
    f.registry.digests["acme/web:2.4.7"] = digest('7');
    r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.images.at("web") == k_web + ":2.4.7@" + digest('7'));
}

TEST_CASE("reconciler: a policy for a service compose does not have is a poll error", "[deploy]") {
    Fixture f;
    f.stack.images["webb"] = *config::TagPolicySpec::make("^1", "");
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    CHECK(r.message == "images.webb: the compose files have no service \"webb\"");
}

TEST_CASE("reconciler: a killed compose config is a poll error, not a rejection", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.compose.config_killed = true;
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    CHECK(f.store.stack_state("shop").last_poll.error == "compose config: killed by a signal");
    CHECK(f.store.all().size() == 1);  // no rejected deployment
    // neither marked bad nor cached: the next poll asks compose again and deploys
    f.compose.config_killed = false;
    const auto next = f.poll();
    CHECK(next.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("reconciler: compose refusing `up` rolls back and marks the release bad", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.compose.up_fails = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Failed);  // the restore's `up` is refused too
    f.compose.up_fails = false;
    CHECK(f.get(*r.deployment).reason.find("apply: compose up: up failed") == 0);
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Noop);
    CHECK(again.message.find("marked bad") != std::string::npos);
}

TEST_CASE("reconciler: a killed `up` is rolled back but tried again at the next poll", "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    f.compose.up_killed = true;
    // the first `up` (the candidate) is killed; the restore's `up` works
    f.compose.up_killed_once = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    const auto d = f.get(*r.deployment);
    CHECK(d.reason == "apply: compose up: up: killed by a signal (transient: retried)");
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.store.stack_state("shop").candidate ==
          "bbbbbbbbbbbb failed (rolled_back); tried again at the next poll");
    const auto retried = f.poll();
    REQUIRE(retried.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE(
    "reconciler: dockerd restarting during the gate rolls back without marking the "
    "release bad; the next poll deploys it",
    "[deploy]") {
    Fixture f;
    f.poll();
    f.release('b', '2');
    // dockerd restarts at the candidate's second sample: every container exits with code 0
    f.engine.restart_at_sample = f.engine.samples + 2;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    const auto d = f.get(*r.deployment);
    CHECK(d.reason.find("gate: docker: container shop_web_1 was stopped by the engine") == 0);
    CHECK(d.reason.find("(transient: retried)") != std::string::npos);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK_FALSE(f.store.is_bad("shop", d.release.key()));
    const auto retried = f.poll();
    REQUIRE(retried.outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('2'));
}

TEST_CASE("reconciler: a crash during the rollback restores the previous release at start",
          "[deploy]") {
    Fixture f;
    const auto good = f.poll();
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    // What a crash in the rollback phase leaves: the candidate running, marked bad, in_progress.
    auto d = model::Deployment{};
    d.stack = "shop";
    d.release = {
        std::string(40, 'b'),
        "",
        {{"web", k_web + ":latest@" + digest('2')}, {"worker", k_web + ":latest@" + digest('2')}}};
    d.previous = good.deployment;
    d.phase = "rollback";
    d.reason = "gate: web: unhealthy";
    d.started_at = f.clock.now();
    d.id = f.store.create_deployment(d);
    f.engine.run({{"web", k_web + "@" + digest('2')}});
    f.reconciler.recover(f.stack, "agentd restarted");
    const auto after = f.get(d.id);
    CHECK(after.status == Status::RolledBack);
    CHECK(after.reason == "gate: web: unhealthy");
    CHECK(has_event(after, "recover", "restoring again"));
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    CHECK(f.get(*good.deployment).status == Status::Succeeded);
}

TEST_CASE("reconciler: the poll is recorded once, when the cycle ends", "[deploy]") {
    Fixture f;
    const auto before = f.clock.now();
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto state = f.store.stack_state("shop");
    CHECK(state.last_poll.result == "ok");
    CHECK(state.last_poll.at == f.clock.now());  // after the gate's stable window, not before
    CHECK(state.last_poll.at > before);
}

TEST_CASE("reconciler: agentd's own files live outside the git working tree", "[deploy]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto override_file = f.compose.last_override;
    const auto tree = f.dir / "stacks" / "shop";
    CHECK(override_file == f.dir / "meta" / "shop" / "override.yaml");
    CHECK(override_file.string().rfind(tree.string(), 0) != 0);
    CHECK(std::filesystem::exists(f.dir / "meta" / "shop" / "services.json"));
    CHECK_FALSE(std::filesystem::exists(tree / ".agentd"));
}

namespace {

trust::GitSignature ssh_signer(const std::string& who) {
    return {trust::SignatureMethod::Ssh, who, "ED25519 SHA256:abc"};
}

}  // namespace

TEST_CASE("reconciler: git.verify head deploys a signed commit and records its signer",
          "[deploy][trust]") {
    Fixture f;
    f.stack.git->verify = config::GitVerify{config::GitVerify::Mode::Head, "/etc/signers", ""};
    f.signatures.commits.emplace(std::string(40, 'a'), ssh_signer("ci@example.com"));
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.signatures.asked == std::vector<std::string>{"commit " + std::string(40, 'a')});
    CHECK(testing::has_event(f.get(*r.deployment), "verify",
                             "commit aaaaaaaaaaaa: signed by ci@example.com (ssh key ED25519 "
                             "SHA256:abc)"));
}

TEST_CASE("reconciler: git.verify rejects an unsigned commit before anything is pulled",
          "[deploy][trust]") {
    Fixture f;
    f.stack.git->verify = config::GitVerify{config::GitVerify::Mode::Head, "/etc/signers", ""};
    f.signatures.commits.emplace(std::string(40, 'a'), ssh_signer("ci@example.com"));
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto pulls = f.engine.pulls.size();

    f.release('b', '2');  // a new commit, not signed, with a new image
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Rejected);
    CHECK(d.reason == "signature: commit bbbbbbbbbbbb: not signed");
    CHECK(f.engine.pulls.size() == pulls);  // nothing pulled
    CHECK(f.compose.ups.size() == 1);
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));
    // Remembered as bad: the next poll asks nothing and records nothing.
    const auto asked = f.signatures.asked.size();
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.signatures.asked.size() == asked);
    CHECK(f.store.all().size() == 2);
}

TEST_CASE("reconciler: a signature check that cannot be made is a poll error, not a verdict",
          "[deploy][trust]") {
    Fixture f;
    f.stack.git->verify = config::GitVerify{config::GitVerify::Mode::Head, "/etc/signers", ""};
    f.signatures.commits.emplace(std::string(40, 'a'),
                                 sys::Error::failed("commit aaaaaaaaaaaa: cannot run ssh-keygen"));
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::PollError);
    CHECK(f.store.all().empty());
    CHECK(f.store.stack_state("shop").last_poll.error ==
          "verify: commit aaaaaaaaaaaa: cannot run ssh-keygen");
    // Once it can be made, the release deploys.
    f.signatures.commits.erase(std::string(40, 'a'));
    f.signatures.commits.emplace(std::string(40, 'a'), ssh_signer("ci@example.com"));
    CHECK(f.poll().outcome == deploy::Outcome::Succeeded);
}

TEST_CASE("reconciler: git.verify tag checks the observed tag against its commit",
          "[deploy][trust]") {
    Fixture f;
    f.stack.git->tags = *config::TagPolicySpec::make("^1", "");
    f.stack.git->verify = config::GitVerify{config::GitVerify::Mode::Tag, "", "/etc/keys.gpg"};
    f.git.tag_list = {git_tag("v1.0.0", '1')};
    f.signatures.tags.emplace("v1.0.0", trust::GitSignature{trust::SignatureMethod::OpenPgp,
                                                            "Release <r@example.com>", "ABCD"});
    auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.signatures.asked == std::vector<std::string>{"tag v1.0.0 " + std::string(40, '1')});
    CHECK(testing::has_event(f.get(*r.deployment), "verify",
                             "tag v1.0.0: signed by Release <r@example.com> (openpgp key ABCD)"));

    // A newer tag by a key outside the keyring: rejected, v1.0.0 keeps running.
    f.git.tag_list.push_back(git_tag("v1.1.0", '2'));
    f.signatures.tags.emplace("v1.1.0",
                              sys::Error::invalid("tag v1.1.0: OpenPGP signature by a key not in "
                                                  "gpg_keyring /etc/keys.gpg (key EEEE)"));
    r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    CHECK(f.get(*r.deployment).reason ==
          "signature: tag v1.1.0: OpenPGP signature by a key not in gpg_keyring /etc/keys.gpg "
          "(key EEEE)");
    CHECK(f.store.current("shop")->release.tag == "v1.0.0");
    CHECK(f.compose.ups.size() == 1);

    // tag_and_head: the commit must be signed too.
    f.stack.git->verify->mode = config::GitVerify::Mode::TagAndHead;
    f.git.tag_list.push_back(git_tag("v1.2.0", '3'));
    f.signatures.tags.emplace("v1.2.0", ssh_signer("ci@example.com"));
    r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    CHECK(f.get(*r.deployment).reason == "signature: commit 333333333333: not signed");
}

TEST_CASE("reconciler: a deployment's records carry its stack and id in the log context",
          "[deploy][log]") {
    Fixture f;
    testing::LogCapture logs;
    const auto good = f.poll();
    REQUIRE(good.outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    const auto bad = f.poll();
    REQUIRE(bad.outcome == deploy::Outcome::RolledBack);
    CHECK(sys::current_log_context().stack.empty());  // the scopes ended with the cycles
    CHECK_FALSE(sys::current_log_context().deployment);

    const auto id = [](std::int64_t n) { return " " + std::to_string(n); };
    for (const auto& [text, deployment] : std::vector<std::pair<std::string, std::int64_t>>{
             {"deployment" + id(*good.deployment) + ": deploying", *good.deployment},
             {"deployment" + id(*good.deployment) + " succeeded", *good.deployment},
             {"deployment" + id(*bad.deployment) + ": deploying", *bad.deployment},
             {"deployment" + id(*bad.deployment) + " failed", *bad.deployment},
             {"deployment" + id(*bad.deployment) + " rolled back", *bad.deployment}}) {
        const auto records = logs.containing(text);
        INFO(text);
        REQUIRE(records.size() == 1);
        CHECK(records[0].context.stack == "shop");
        CHECK(records[0].context.deployment == deployment);
    }
}

TEST_CASE("reconciler: the observer hears of polls, gates and deployments with their durations",
          "[deploy]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::RolledBack);
    f.git.fail = "failed to resolve address";
    REQUIRE(f.poll().outcome == deploy::Outcome::PollError);
    const auto& calls = f.observer.calls;
    REQUIRE(calls.size() == 8);
    CHECK(calls[0] == "observed shop ok 0s");
    CHECK(calls[1].rfind("gated shop passed ", 0) == 0);
    CHECK(calls[2].rfind("finished 1 succeeded ", 0) == 0);
    CHECK(calls[3] == "observed shop ok 0s");
    CHECK(calls[4].rfind("gated shop failed ", 0) == 0);
    CHECK(calls[5].rfind("gated shop passed ", 0) == 0);  // the restored release
    CHECK(calls[6].rfind("finished 2 rolled_back ", 0) == 0);
    CHECK(calls[7] == "observed shop error 0s");
    // the stable window of the passed gate (5s) is its duration on the clock
    CHECK(calls[1] != "gated shop passed 0s");
}

TEST_CASE(
    "reconciler: the observer hears of each phase, pull progress and gate sample as they "
    "happen",
    "[deploy]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto& progress = f.observer.progress;
    const auto at = [&](const std::string& prefix) {
        return std::find_if(progress.begin(), progress.end(),
                            [&](const std::string& line) { return line.rfind(prefix, 0) == 0; }) -
               progress.begin();
    };
    INFO(fmt::format("{}", fmt::join(progress, "\n")));
    // Phases in the order of the pipeline, each after the store has it.
    const auto pull = at("phase 1 pull");
    const auto pulling = at("pull 1 ");
    const auto apply = at("phase 1 apply");
    const auto gate = at("phase 1 gate");
    const auto sample = at("gate 1 sample 1 ");
    const auto record = at("phase 1 record");
    const auto n = static_cast<long>(progress.size());
    REQUIRE(record < n);
    CHECK(pull < pulling);
    CHECK(pulling < apply);
    CHECK(apply < gate);
    CHECK(gate < sample);
    CHECK(sample < record);
    // The engine's figures, ending with the pull done.
    CHECK(std::count_if(progress.begin(), progress.end(), [](const std::string& line) {
              return line.rfind("pull 1 ", 0) == 0 &&
                     line.find(" 100/100 1/1 done") != std::string::npos;
          }) == static_cast<long>(f.engine.pulls.size()));
    // Samples until the gate passes: the last one good, with the release's containers.
    CHECK(progress[record - 1].find(" good ") != std::string::npos);
    CHECK(progress[record - 1].find(" 0 containers") == std::string::npos);
}

}  // namespace unit_deploy_reconciler_test
