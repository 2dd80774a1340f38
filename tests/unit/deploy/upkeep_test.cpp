// Upkeep of what runs: drift (find_drift, and the pipeline warning about or healing it) and
// image retention (kept_releases, kept_images, and what the pipeline removes after a promotion).

#include <catch2/catch.hpp>

#include "agent/deploy/drift.h"
#include "agent/deploy/reconciler.h"
#include "agent/deploy/retention.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_upkeep_test {

using namespace agentd;
using namespace std::chrono_literals;
using fakes::Behaviour;
using model::Status;
using testing::digest;
using testing::has_event;
using testing::k_web;

namespace {

runtime::ContainerSummary container(const std::string& service, const std::string& image,
                                    const std::string& hash = "h1",
                                    const std::string& state = "running", int exit_code = 0) {
    runtime::ContainerSummary c;
    c.id = "id-" + service;
    c.name = "shop-" + service + "-1";
    c.service = service;
    c.image = image;
    c.state = state;
    c.config_hash = hash;
    c.exit_code = exit_code;
    return c;
}

const std::string k_pin = "127.0.0.1:5000/acme/web@" + digest('1');

std::vector<deploy::ExpectedService> web_expected() {
    return {{"web", k_pin, "h1", false}};
}

struct Fixture : testing::PipelineFixture {
    Fixture() {
        compose.declared = {{"web", k_web + ":latest", false, "always"},
                            {"worker", k_web + ":latest", false, "always"}};
    }
    deploy::CycleResult sync() {
        return reconciler.reconcile(stack, model::Trigger::Manual, deploy::Urgency::Now);
    }
};

model::Deployment deployment(std::int64_t id, const std::string& stack, Status status, char image) {
    model::Deployment d;
    d.id = id;
    d.stack = stack;
    d.status = status;
    d.release.revision = std::string(40, image);
    d.release.images["web"] = k_web + ":latest@" + digest(image);
    d.phase = status == Status::Superseded || status == Status::Succeeded ? "promote" : "gate";
    return d;
}

}  // namespace

TEST_CASE("drift: containers that match the release are no drift", "[drift]") {
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin)}).empty());
    // Docker Hub's long and short spellings of one name and digest are the same image
    const std::string hub = "nginx@" + digest('2');
    CHECK(deploy::find_drift({{"web", "docker.io/library/" + hub, "", false}},
                             {container("web", hub)})
              .empty());
    // a hook's one-off container is not compared
    auto hook = container("migrate", "busybox:1");
    hook.one_off = true;
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin), hook}).empty());
    // unknown hash (not recorded): not compared; a service without a pinned image: image not
    // compared
    CHECK(deploy::find_drift({{"web", "", "", false}}, {container("web", "built:latest", "x")})
              .empty());
}

TEST_CASE("drift: each way the containers differ is named", "[drift]") {
    using V = std::vector<std::string>;
    CHECK(deploy::find_drift(web_expected(), {}) == V{"web: no container"});
    CHECK(deploy::find_drift(web_expected(), {container("web", "busybox:1")}) ==
          V{"web: container shop-web-1 runs busybox:1, not " + k_pin});
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin, "h2")}) ==
          V{"web: container shop-web-1 has another compose configuration than the release's"});
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin, "h1", "exited", 137)}) ==
          V{"web: container shop-web-1 is exited (137)"});
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin, "h1", "dead")}) ==
          V{"web: container shop-web-1 is dead"});
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin), container("db", "pg:16")}) ==
          V{"container shop-db-1 (service db) is not part of the release"});
    auto unlabelled = container("", "busybox:1");
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin), unlabelled}) ==
          V{"container shop--1 (no service label) is not part of the release"});
}

TEST_CASE("drift: a one-shot service (restart no) that exited 0 has done its work", "[drift]") {
    const std::vector<deploy::ExpectedService> init{{"init", k_pin, "h1", true}};
    CHECK(deploy::find_drift(init, {container("init", k_pin, "h1", "exited", 0)}).empty());
    CHECK(deploy::find_drift(init, {container("init", k_pin, "h1", "exited", 1)}) ==
          std::vector<std::string>{"init: container shop-init-1 is exited (1)"});
    // a long-running service that exited 0 was stopped
    CHECK(deploy::find_drift(web_expected(), {container("web", k_pin, "h1", "exited", 0)}).size() ==
          1);
}

TEST_CASE("drift: config hashes are remembered per deployment", "[drift]") {
    const auto file = std::filesystem::temp_directory_path() /
                      ("agentd-hashes-" + std::to_string(::getpid())) / "containers.json";
    deploy::ConfigHashes hashes(file);
    CHECK_FALSE(hashes.find(3).has_value());
    auto hook = container("migrate", "busybox:1", "hx");
    hook.one_off = true;
    hashes.remember(3, {container("web", k_pin, "h1"), container("worker", k_pin, "h2"), hook});
    const auto found = hashes.find(3);
    REQUIRE(found.has_value());
    CHECK(*found == std::map<std::string, std::string>{{"web", "h1"}, {"worker", "h2"}});
    CHECK_FALSE(hashes.find(4).has_value());  // recorded for another deployment
    std::filesystem::remove_all(file.parent_path());
}

TEST_CASE("retention: the newest different releases that passed the gate are kept", "[retention]") {
    // newest first, as the store's history
    const std::vector<model::Deployment> history{
        deployment(6, "shop", Status::Succeeded, '5'),
        deployment(5, "shop", Status::RolledBack, '4'),  // never passed the gate
        deployment(4, "shop", Status::Superseded, '3'),
        deployment(3, "shop", Status::Superseded, '5'),  // the same release as 6
        deployment(2, "shop", Status::Superseded, '2'),
        deployment(1, "shop", Status::Superseded, '1'),
    };
    const auto kept = deploy::kept_releases(history, 3);
    REQUIRE(kept.size() == 3);
    CHECK(kept[0] == history[0].release);
    CHECK(kept[1] == history[2].release);
    CHECK(kept[2] == history[4].release);
    CHECK(deploy::kept_releases(history, 1).size() == 1);

    auto all = history;
    all.push_back(deployment(7, "blog", Status::Superseded, '1'));  // another stack ran it
    all.push_back(deployment(8, "blog", Status::Failed, '9'));
    all.push_back(deployment(9, "shop", Status::Waiting, '8'));  // pulled, waits for approval
    const auto images = deploy::kept_images(history, all, "shop", 2);
    CHECK(images == std::set<std::string>{k_web + "@" + digest('5'), k_web + "@" + digest('3'),
                                          k_web + "@" + digest('1'), k_web + "@" + digest('8')});
}

TEST_CASE("drift: a poll that finds nothing new lists the containers once, and no drift",
          "[drift]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const int listed = f.engine.listed;
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(f.engine.listed == listed + 1);
    REQUIRE(r.drift.has_value());
    CHECK(r.drift->empty());
    CHECK(f.store.stack_state("shop").last_poll.drift.empty());
}

TEST_CASE("drift: warn reports a removed container and deploys nothing", "[drift]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto deployments = f.store.all().size();
    f.engine.gone.insert("worker");
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(r.drift == "worker: no container");
    CHECK(r.message == "drifted from deployment 1: worker: no container");
    CHECK(f.store.stack_state("shop").last_poll.drift == "worker: no container");
    CHECK(f.store.all().size() == deployments);
    CHECK(f.compose.ups.size() == 1);
    // put back by hand: the next poll finds no drift
    f.engine.gone.clear();
    CHECK(f.poll().drift == "");
    CHECK(f.store.stack_state("shop").last_poll.drift.empty());
}

TEST_CASE("drift: a configuration changed by hand is found by its config hash", "[drift]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.engine.config_hashes["web"] = "edited";
    CHECK(f.poll().drift ==
          "web: container shop_web_1 has another compose configuration than the release's");
}

TEST_CASE("drift: heal re-applies the current release through the gate, without hooks", "[drift]") {
    Fixture f;
    f.stack.drift = config::Drift::Heal;
    f.stack.hooks.pre_deploy = {{"migrate", 90s}};
    f.compose.declared.push_back({"migrate", k_web + ":latest", false, "no", {"hooks"}});
    const auto first = f.poll();
    REQUIRE(first.outcome == deploy::Outcome::Succeeded);
    const auto runs = f.compose.runs.size();
    f.engine.gone.insert("web");
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.drift == "web: no container");
    CHECK(r.message == "healed drift: web: no container");
    const auto d = f.get(*r.deployment);
    CHECK(d.trigger == model::Trigger::Drift);
    CHECK(d.release == f.get(*first.deployment).release);
    CHECK(d.previous == first.deployment);
    CHECK(has_event(d, "drift", "the containers differ from deployment 1: web: no container"));
    CHECK(f.compose.runs.size() == runs);  // no pre_deploy hook for a heal
    CHECK(f.engine.gone.empty());          // compose up brought it back
    CHECK(f.store.stack_state("shop").last_poll.drift.empty());
    CHECK(f.poll().drift == "");
}

TEST_CASE("drift: a heal that fails the gate is not retried by every poll", "[drift]") {
    Fixture f;
    f.stack.drift = config::Drift::Heal;
    const auto first = f.poll();
    REQUIRE(first.outcome == deploy::Outcome::Succeeded);
    f.engine.behaviour[k_web + "@" + digest('1')] = Behaviour::Unhealthy;  // it breaks
    f.engine.gone.insert("web");
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Failed);
    const auto d = f.get(*r.deployment);
    CHECK(d.reason.find("nothing earlier to restore") != std::string::npos);
    // the current release is not marked bad, and stays current
    CHECK_FALSE(f.store.is_bad("shop", d.release.key()));
    CHECK(f.store.current("shop")->id == *first.deployment);
    const auto ups = f.compose.ups.size();
    f.engine.gone.insert("web");
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Noop);
    CHECK(again.message.find("failed to heal it") != std::string::npos);
    CHECK(f.compose.ups.size() == ups);
    // an admin's sync heals again
    f.engine.behaviour.clear();
    CHECK(f.sync().outcome == deploy::Outcome::Succeeded);
}

TEST_CASE("drift: not compared while a failed release is left running", "[drift]") {
    Fixture f;
    f.stack.on_failure = config::OnFailure::Stop;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.release('b', '2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::Failed);
    const auto r = f.poll();  // release 2 is marked bad: a no-op plan
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK_FALSE(r.drift.has_value());
}

TEST_CASE("retention: images agentd pulled that no kept release names are removed", "[retention]") {
    Fixture f;
    f.stack.keep_releases = 2;
    // on the host before agentd: never removed, even once no release uses it
    f.engine.local.insert(k_web + "@" + digest('1'));
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    for (char c : {'2', '3', '4'}) {
        f.release(static_cast<char>('a' + (c - '0')), c);
        REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    }
    CHECK(f.engine.removed_images == std::vector<std::string>{k_web + "@" + digest('2')});
    CHECK(f.engine.local.count(k_web + "@" + digest('1')) == 1);
    CHECK(f.engine.local.count(k_web + "@" + digest('3')) == 1);
    CHECK(f.engine.local.count(k_web + "@" + digest('4')) == 1);
    const auto latest = f.get(f.store.current("shop")->id);
    CHECK(has_event(latest, "retention", "removed 1 image(s)"));
    const auto state = f.store.stack_state("shop");
    CHECK(state.kept_releases == 2);
    CHECK(state.offline_releases == 2);
    // forgotten once removed
    for (const auto& p : f.store.pulled_images()) {
        CHECK(p.reference != k_web + "@" + digest('2'));
    }
}

TEST_CASE("retention: an image a container uses is kept and tried again later", "[retention]") {
    Fixture f;
    f.stack.keep_releases = 1;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    f.engine.in_use.insert(k_web + "@" + digest('1'));
    f.release('b', '2');
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.removed_images.empty());
    f.engine.in_use.clear();
    f.release('c', '3');
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.engine.removed_images ==
          std::vector<std::string>{k_web + "@" + digest('1'), k_web + "@" + digest('2')});
    // a rollback now needs the registry for every earlier release
    CHECK(f.store.stack_state("shop").offline_releases == 1);
}

}  // namespace unit_deploy_upkeep_test
