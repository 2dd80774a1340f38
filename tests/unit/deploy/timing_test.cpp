// Deployment windows and min_age (SPEC section 2): a new release deploys by itself only inside
// the stack's window and once it is min_age old; it waits (reason "window" or "min_age")
// meanwhile, and an admin's sync or approve deploys it anyway, saying so in its events.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_timing_test {

using namespace agentd;
using namespace std::chrono_literals;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

// The fake clock starts on Monday 2026-09-21 at 14:13:20 UTC.
policy::Window monday(const std::string& from, const std::string& to) {
    auto w = policy::Window::make({"mon"}, from, to, "UTC");
    REQUIRE(w.ok());
    return *w;
}

struct Fixture : testing::PipelineFixture {
    Fixture() { compose.declared = {{"web", k_web + ":latest", false, "always"}}; }
    std::string candidate() { return store.stack_state("shop").candidate; }
    /// acme/web@digest(image)'s config says it was created at `created`; with `index`, behind
    /// an image index with an arm64 and an amd64 manifest.
    void image_created(char image, sys::TimePoint created, bool index = false) {
        const std::string config_digest = digest('c');
        registry.blobs[config_digest] =
            fmt::format(R"({{"architecture":"amd64","os":"linux","created":"{}"}})",
                        sys::format_rfc3339(created));
        const std::string image_manifest =
            fmt::format(R"({{"schemaVersion":2,"config":{{"digest":"{}","size":1}},"layers":[]}})",
                        config_digest);
        if (!index) {
            registry.manifests["acme/web@" + digest(image)] = {digest(image), "", image_manifest};
            return;
        }
        registry.manifests["acme/web@" + digest('d')] = {digest('d'), "", image_manifest};
        registry.manifests["acme/web@" + digest(image)] = {
            digest(image), "",
            fmt::format(
                R"({{"schemaVersion":2,"manifests":[)"
                R"({{"digest":"{}","platform":{{"os":"linux","architecture":"arm64"}}}},)"
                R"({{"digest":"{}","platform":{{"os":"linux","architecture":"amd64"}}}}]}})",
                digest('e'), digest('d'))};
    }
};

deploy::Plan deploy_plan() {
    deploy::Plan p;
    p.kind = deploy::Plan::Kind::Deploy;
    p.release.revision = std::string(40, 'a');
    return p;
}

}  // namespace

TEST_CASE("schedule: a Deploy waits for the window and for min_age; others pass unchanged",
          "[timing]") {
    config::Stack stack;
    stack.name = "shop";
    const auto now = sys::TimePoint(std::chrono::seconds(1'790'000'000));  // Mon 14:13:20
    const deploy::Known known;

    // Nothing configured: deployed at once.
    CHECK(deploy::schedule(stack, deploy_plan(), known, std::nullopt, now).kind ==
          deploy::Plan::Kind::Deploy);

    stack.window = monday("15:00", "16:00");
    auto p = deploy::schedule(stack, deploy_plan(), known, std::nullopt, now);
    CHECK(p.kind == deploy::Plan::Kind::Wait);
    CHECK(p.reason == "window");
    CHECK(p.why ==
          "aaaaaaaaaaaa waits for the deployment window mon 15:00-16:00 UTC (opens in "
          "46m40s, Mon 15:00 UTC)");
    CHECK(deploy::schedule(stack, deploy_plan(), known, std::nullopt, now + 47min).kind ==
          deploy::Plan::Kind::Deploy);
    // A release that waits for approval is the approver's to time; a Noop stays one.
    auto approval = deploy_plan();
    approval.approval = true;
    CHECK(deploy::schedule(stack, approval, known, std::nullopt, now).kind ==
          deploy::Plan::Kind::Deploy);
    CHECK(deploy::schedule(stack, deploy::Plan{}, known, std::nullopt, now).kind ==
          deploy::Plan::Kind::Noop);

    stack.window.reset();
    stack.min_age = 1h;
    p = deploy::schedule(stack, deploy_plan(), known, now - 20min, now);
    CHECK(p.kind == deploy::Plan::Kind::Wait);
    CHECK(p.reason == "min_age");
    CHECK(p.why == "aaaaaaaaaaaa waits until it is 1h old (in 40m)");
    CHECK(deploy::schedule(stack, deploy_plan(), known, now - 1h, now).kind ==
          deploy::Plan::Kind::Deploy);
    // Of unknown age: counted from when it was first seen, the start of its waiting record.
    p = deploy::schedule(stack, deploy_plan(), known, std::nullopt, now);
    CHECK(p.kind == deploy::Plan::Kind::Wait);
    CHECK(p.why ==
          "aaaaaaaaaaaa waits until it is 1h old (in 1h; its age counts from when it "
          "was first seen)");
    deploy::Known seen;
    seen.latest = model::Deployment{};
    seen.latest->id = 7;
    seen.latest->status = Status::Waiting;
    seen.latest->started_at = now - 1h;
    auto waiting = deploy_plan();
    waiting.waiting = 7;
    CHECK(deploy::schedule(stack, waiting, seen, std::nullopt, now).kind ==
          deploy::Plan::Kind::Deploy);

    // min_age first, then the window: old enough but outside it still waits.
    stack.window = monday("15:00", "16:00");
    CHECK(deploy::schedule(stack, deploy_plan(), known, now - 2h, now).reason == "window");
}

TEST_CASE("window: a release outside the window waits, and the first poll inside deploys it",
          "[timing]") {
    Fixture f;
    f.stack.window = monday("15:00", "16:00");
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    auto d = f.get(*w.deployment);
    CHECK(d.status == Status::Waiting);
    CHECK(d.reason == "window");
    CHECK(f.candidate() ==
          "aaaaaaaaaaaa waits for the deployment window mon 15:00-16:00 UTC "
          "(opens in 46m40s, Mon 15:00 UTC)");
    CHECK(f.engine.pulls.empty());  // neither verified nor pulled yet
    CHECK(f.compose.ups.empty());

    f.clock.advance(30min);
    const auto again = f.poll();
    CHECK(again.outcome == deploy::Outcome::Waiting);
    CHECK(again.deployment == w.deployment);
    CHECK(f.store.all().size() == 1);

    f.clock.advance(17min);  // 15:00:20
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);  // the waiting record became the deployment
    CHECK(f.compose.ups.size() == 1);
    CHECK(f.store.all().size() == 1);
}

TEST_CASE("window: an admin's sync deploys outside the window and says so; other triggers wait",
          "[timing]") {
    Fixture f;
    f.stack.window = monday("15:00", "16:00");
    CHECK(f.reconciler.reconcile(f.stack, model::Trigger::Manual).outcome ==
          deploy::Outcome::Waiting);  // resume, unpin: scheduled
    CHECK(f.reconciler.reconcile(f.stack, model::Trigger::Webhook).outcome ==
          deploy::Outcome::Waiting);
    const auto r = f.reconciler.reconcile(f.stack, model::Trigger::Manual, deploy::Urgency::Now);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    const auto d = f.get(*r.deployment);
    CHECK(has_event(d, "window",
                    "waits for the deployment window mon 15:00-16:00 UTC (opens in 46m40s, Mon "
                    "15:00 UTC); deployed now because an admin asked (`agentctl sync`)"));
    CHECK(d.trigger == model::Trigger::Manual);
}

TEST_CASE("window: approve deploys outside the window and says so", "[timing][approval]") {
    Fixture f;
    f.stack.approval = config::Approval::Manual;
    f.stack.window = monday("15:00", "16:00");
    const auto w = f.poll();  // approval: verified and pulled, waiting for the approver
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    CHECK(f.get(*w.deployment).reason == "approval");
    const auto r = f.reconciler.approve(f.stack, std::nullopt);
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(has_event(f.get(*r.deployment), "window",
                    "outside the deployment window mon 15:00-16:00 UTC (it opens Mon 15:00 UTC): "
                    "deployed now because an admin asked (`agentctl approve`)"));
}

TEST_CASE("min_age: the newest of the commit time and the changed images' created counts",
          "[timing]") {
    Fixture f;
    f.stack.min_age = 1h;
    const auto now = f.clock.now();
    f.git.commit_times[f.git.head] = now - 50min;
    f.image_created('1', now - 20min, /*index=*/true);  // the newest part: 40m to go

    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    CHECK(f.get(*w.deployment).reason == "min_age");
    CHECK(f.candidate() == "aaaaaaaaaaaa waits until it is 1h old (in 40m)");
    CHECK(f.engine.pulls.empty());
    // Read once per digest: the index, the amd64 manifest, the config blob.
    CHECK(f.registry.manifest_gets == 2);
    CHECK(f.registry.blob_gets == 1);

    f.clock.advance(39min);
    CHECK(f.poll().outcome == deploy::Outcome::Waiting);
    CHECK(f.candidate() == "aaaaaaaaaaaa waits until it is 1h old (in 1m)");
    CHECK(f.registry.manifest_gets == 2);  // a poll that finds it again asks nothing more
    CHECK(f.registry.blob_gets == 1);

    f.clock.advance(1min);
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);
}

TEST_CASE("min_age: only what differs from what runs counts; unknown ages count from first seen",
          "[timing]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);  // what runs: revision a, image 1
    f.stack.min_age = 1h;
    const auto now = f.clock.now();

    // A new image only: the old commit does not make it old, nor is the revision read.
    f.registry.digests["acme/web:latest"] = digest('2');
    f.image_created('2', now - 59min);
    CHECK(f.poll().outcome == deploy::Outcome::Waiting);
    CHECK(f.git.commit_time_reads == 0);
    CHECK(f.candidate() == "aaaaaaaaaaaa waits until it is 1h old (in 1m)");
    f.clock.advance(1min);
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);

    // A new revision whose commit time the mirror cannot give, and an image whose config has
    // the epoch of a reproducible build: counted from the first poll that saw the release.
    f.release('b', '3');
    f.image_created('3', sys::TimePoint{});
    const auto w = f.poll();
    REQUIRE(w.outcome == deploy::Outcome::Waiting);
    CHECK(f.candidate() ==
          "bbbbbbbbbbbb waits until it is 1h old (in 1h; its age counts from "
          "when it was first seen)");
    f.clock.advance(59min);
    CHECK(f.poll().outcome == deploy::Outcome::Waiting);
    f.clock.advance(1min);
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(r.deployment == w.deployment);
}

}  // namespace unit_deploy_timing_test
