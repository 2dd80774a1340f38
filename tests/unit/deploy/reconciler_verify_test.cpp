// The verify step with image signatures (config verify.cosign): every image digest of the
// observed release is verified before anything is pulled; a rejection is remembered and leaves
// the running release alone; a failure to verify is a poll error.

#include "agent/deploy/reconciler.h"

#include <catch2/catch.hpp>

#include "tests/fakes/fakes.h"
#include "tests/unit/deploy/pipeline_fixture.h"

namespace unit_deploy_reconciler_verify_test {

using namespace agentd;
using model::Status;

namespace {

using testing::digest;
using testing::has_event;
using testing::k_web;

const std::string k_db = "127.0.0.1:5000/acme/db";

config::ImageVerify keys(const std::string& file) {
    config::ImageVerify v;
    v.cosign = config::CosignKeys{{file}, {}};
    return v;
}

struct Fixture : testing::PipelineFixture {
    Fixture() {
        compose.declared = {{"web", k_web + ":latest", false, "always"},
                            {"db", k_db + ":1.0", false, "always"}};
        registry.digests["acme/db:1.0"] = digest('d');
        stack.verify = keys("/etc/agentd/cosign.pub");
    }
};

}  // namespace

TEST_CASE("reconciler verify: signed images deploy, with a verify event naming the key",
          "[deploy][verify]") {
    Fixture f;
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.verifier.calls ==
          std::vector<std::string>{k_db + "@" + digest('d'), k_web + "@" + digest('1')});
    const auto d = f.get(*r.deployment);
    CHECK(has_event(d, "verify", "service web: signed by /etc/agentd/cosign.pub"));
    CHECK(has_event(d, "verify", "service db: signed by /etc/agentd/cosign.pub"));

    // A poll that finds nothing new verifies nothing.
    REQUIRE(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.verifier.calls.size() == 2);
}

TEST_CASE("reconciler verify: an unsigned image is rejected before any pull; what runs stays",
          "[deploy][verify]") {
    Fixture f;
    REQUIRE(f.poll().outcome == deploy::Outcome::Succeeded);
    const auto pulls = f.engine.pulls.size();
    const auto ups = f.compose.ups.size();

    f.registry.digests["acme/web:latest"] = digest('2');
    const std::string why = "image " + k_web + "@" + digest('2') +
                            ": cosign verification failed: not signed: no signature tag";
    f.verifier.errors.emplace(digest('2'), sys::Error::invalid(why));
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Rejected);
    CHECK_THAT(r.message, Catch::Contains("service web: " + why));
    const auto d = f.get(*r.deployment);
    CHECK(d.status == Status::Rejected);
    CHECK(has_event(d, "verify", "service web: " + why));
    CHECK(f.engine.pulls.size() == pulls);  // nothing pulled
    CHECK(f.compose.ups.size() == ups);     // nothing applied
    CHECK(f.engine.running.at("web") == k_web + "@" + digest('1'));

    // Remembered as bad: the next poll does not ask again.
    const auto calls = f.verifier.calls.size();
    CHECK(f.poll().outcome == deploy::Outcome::Noop);
    CHECK(f.verifier.calls.size() == calls);
}

TEST_CASE("reconciler verify: a registry failure while verifying is a poll error, retried",
          "[deploy][verify]") {
    Fixture f;
    f.verifier.errors.emplace(digest('1'), sys::Error::failed("registry 127.0.0.1:5000: down"));
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::PollError);
    CHECK_THAT(r.message, Catch::Contains("verify: service web: registry 127.0.0.1:5000: down"));
    CHECK_FALSE(r.deployment.has_value());
    CHECK(f.store.all().empty());
    CHECK(f.engine.pulls.empty());

    f.verifier.errors.clear();
    CHECK(f.poll().outcome == deploy::Outcome::Succeeded);
}

TEST_CASE("reconciler verify: a service's own policy replaces the stack's; none, no check",
          "[deploy][verify]") {
    Fixture f;
    f.stack.verify.reset();
    f.stack.image_verify["web"] = keys("/etc/agentd/web.pub");
    const auto r = f.poll();
    REQUIRE(r.outcome == deploy::Outcome::Succeeded);
    CHECK(f.verifier.calls == std::vector<std::string>{k_web + "@" + digest('1')});
    CHECK(has_event(f.get(*r.deployment), "verify", "service web: signed by /etc/agentd/web.pub"));

    Fixture plain;
    plain.stack.verify.reset();
    REQUIRE(plain.poll().outcome == deploy::Outcome::Succeeded);
    CHECK(plain.verifier.calls.empty());
}

}  // namespace unit_deploy_reconciler_verify_test
