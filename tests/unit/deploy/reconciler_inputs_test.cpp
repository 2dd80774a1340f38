// The pipeline with a stack's inputs: commits that change nothing the stack reads are seen, not
// deployed; a release rebuilds and recreates exactly the services whose inputs changed, in a
// deployment, a rollback and a recovery alike.

#include <unistd.h>

#include <catch2/catch.hpp>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_reconciler_inputs_test {

using namespace agentd;
using namespace std::chrono_literals;
using fakes::Behaviour;
using model::Status;
using Names = std::vector<std::string>;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

std::string rev(char c) {
    return std::string(40, c);
}

/// A stack "shop" in the directory shop/ of a deploy repository, with a proxy bind-mounting
/// shop/nginx.conf, an app built from shop/app, and a db that reads nothing of the repository.
struct Fixture : testing::PipelineFixture {
    Fixture() {
        // compose's paths are absolute, in the preview checkout where it ran
        const auto project = (dir / "preview" / "shop" / "shop").string();
        runtime::ComposeService proxy{"proxy", k_web + ":latest", false, "always"};
        proxy.bind_sources = {project + "/nginx.conf"};
        runtime::ComposeService app{"app", "", true, "always"};
        app.build_context = project + "/app";
        runtime::ComposeService db{"db", k_web + ":latest", false, "always"};
        db.bind_sources = {"/srv/db"};  // a host path: never a release
        compose.declared = {app, db, proxy};
        // app is built on the host, so no pin names it: its container runs from the start
        engine.running["app"] = "shop_app";
        git.head = rev('a');
    }
    /// Revision `to` differs from `from` by `files`.
    void commit(char from, char to, std::set<std::string> files) {
        git.changes[{rev(from), rev(to)}] = std::move(files);
        git.head = rev(to);
    }
};

}  // namespace

TEST_CASE("reconciler inputs: a commit changing nothing the stack reads is seen, not deployed",
          "[deploy][inputs]") {
    Fixture f;
    const auto first = f.poll();
    REQUIRE(first.outcome == deploy::Outcome::Succeeded);
    CHECK(f.store.stack_state("shop").last_poll.revision == rev('a'));

    f.commit('a', 'b', {"blog/compose.yaml", "README.md"});
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(r.message == "bbbbbbbbbbbb changes nothing this stack reads; staying on aaaaaaaaaaaa");
    CHECK(f.store.all().size() == 1);  // no deployment, no history entry
    CHECK(f.compose.ups.size() == 1);
    const auto state = f.store.stack_state("shop");
    CHECK(state.last_poll.revision == rev('b'));
    CHECK(state.last_poll.result == "ok");
    CHECK(state.candidate.empty());
    CHECK(f.store.current("shop")->release.revision == rev('a'));
    // git was asked about the stack's inputs between what runs and what it saw
    REQUIRE_FALSE(f.git.comparisons.empty());
    const auto& asked = f.git.comparisons.back();
    CHECK(asked.from == rev('a'));
    CHECK(asked.to == rev('b'));
    CHECK(asked.paths ==
          Names{"shop", "shop/.env", "shop/app", "shop/app/Dockerfile", "shop/nginx.conf"});

    // the next commit is compared with what runs, not with what was seen
    f.commit('a', 'c', {"shop/compose.yaml"});
    const auto next = f.poll();
    REQUIRE(next.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*next.deployment).release.revision == rev('c'));
    CHECK(f.get(*first.deployment).status == Status::Superseded);
}

TEST_CASE("reconciler inputs: new image digests deploy even when no file changed",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    f.commit('a', 'b', {"blog/compose.yaml"});
    f.registry.digests["acme/web:latest"] = digest('2');
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.get(*r.deployment).release.revision == rev('b'));
    CHECK(f.compose.up_options.back().recreate.empty());  // no input changed: nothing forced
    CHECK(f.compose.up_options.back().rebuild.empty());
}

TEST_CASE("reconciler inputs: a commit unrelated to a bad release does not retry it",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    f.commit('a', 'b', {"shop/nginx.conf"});
    f.registry.digests["acme/web:latest"] = digest('2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::RolledBack);
    const auto deployments = f.store.all().size();

    f.commit('b', 'c', {"blog/compose.yaml"});  // a and c differ: c is the bad release again
    const auto r = f.poll();
    CHECK(r.outcome == deploy::Outcome::Noop);
    CHECK(r.message.find("is marked bad and cccccccccccc changes nothing") != std::string::npos);
    CHECK(f.store.all().size() == deployments);
}

TEST_CASE("reconciler inputs: when git cannot compare, the revision deploys as before",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    f.commit('a', 'b', {"blog/compose.yaml"});
    f.git.compare_fails = "revision not in the mirror";
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.up_options.back().recreate.empty());
}

TEST_CASE("reconciler inputs: a release rebuilds and recreates only what its changes reach",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    REQUIRE(f.compose.up_options.size() == 1);
    CHECK(f.compose.up_options[0].rebuild.empty());  // first deployment: all created afresh
    CHECK(f.compose.up_options[0].recreate.empty());

    f.commit('a', 'b', {"shop/nginx.conf"});
    const auto mounted = f.poll();
    REQUIRE(mounted.outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.up_options.back().recreate == Names{"proxy"});
    CHECK(f.compose.up_options.back().rebuild.empty());
    CHECK(has_event(f.get(*mounted.deployment), "apply",
                    "compose up; changed: shop, shop/nginx.conf; recreate proxy"));

    f.commit('b', 'c', {"shop/app/main.go"});
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.up_options.back().rebuild == Names{"app"});
    CHECK(f.compose.up_options.back().recreate.empty());

    f.commit('c', 'd', {"shop/compose.yaml"});  // not mounted, not a build input
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.compose.up_options.back().recreate.empty());
}

TEST_CASE("reconciler inputs: a rollback recreates what the failed release's files changed",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    f.commit('a', 'b', {"shop/nginx.conf", "shop/app/main.go"});
    f.registry.digests["acme/web:latest"] = digest('2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::RolledBack);
    REQUIRE(f.compose.up_options.size() == 3);
    CHECK(f.compose.up_options[1].recreate == Names{"proxy"});
    CHECK(f.compose.up_options[1].rebuild == Names{"app"});
    // restoring a: the same files go back, so the same services are rebuilt and recreated
    CHECK(f.compose.up_options[2].recreate == Names{"proxy"});
    CHECK(f.compose.up_options[2].rebuild == Names{"app"});
    CHECK(f.git.comparisons.back().from == rev('b'));
    CHECK(f.git.comparisons.back().to == rev('a'));
    CHECK(has_event(f.get(*r.deployment), "rollback", "rebuild app; recreate proxy"));
}

TEST_CASE("reconciler inputs: recovery after a crash recreates what the release changed",
          "[deploy][inputs]") {
    Fixture f;
    f.poll();
    f.commit('a', 'b', {"shop/nginx.conf"});
    f.stop = true;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Interrupted);
    f.stop = false;
    const auto ups = f.compose.up_options.size();
    f.reconciler.recover(f.stack, "agentd restarted");
    CHECK(f.get(*r.deployment).status == Status::Succeeded);
    REQUIRE(f.compose.up_options.size() == ups + 1);
    CHECK(f.compose.up_options.back().recreate == Names{"proxy"});
}

TEST_CASE(
    "reconciler inputs: after on_failure stop, the next release is compared with what "
    "was left running",
    "[deploy][inputs]") {
    Fixture f;
    f.stack.on_failure = config::OnFailure::Stop;
    f.poll();
    f.commit('a', 'b', {"shop/nginx.conf"});
    f.registry.digests["acme/web:latest"] = digest('2');
    f.engine.behaviour[k_web + "@" + digest('2')] = Behaviour::Unhealthy;
    REQUIRE(f.poll().outcome == deploy::Outcome::Failed);  // b stays, with b's nginx.conf

    f.commit('b', 'c', {"shop/app/main.go"});
    f.git.changes[{rev('a'), rev('c')}] = {"shop/nginx.conf", "shop/app/main.go"};
    f.registry.digests["acme/web:latest"] = digest('3');
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(f.git.comparisons.back().from == rev('b'));
    CHECK(f.compose.up_options.back().rebuild == Names{"app"});
    CHECK(f.compose.up_options.back().recreate.empty());  // proxy has c's nginx.conf already
}

}  // namespace unit_deploy_reconciler_inputs_test
