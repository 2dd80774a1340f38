#include <catch2/catch.hpp>

#include "agent/deploy/reconciler_steps.h"

namespace unit_deploy_plan_test {

using namespace agentd;
using namespace std::chrono_literals;
using deploy::Plan;

namespace {

const std::string k_web = "127.0.0.1:5000/acme/web";
const sys::TimePoint k_now = sys::TimePoint(std::chrono::hours(1000));

deploy::Observation observed(char revision, char digest) {
    deploy::Observation o;
    o.revision = std::string(40, revision);
    o.pins["web"] = k_web + ":1.0@sha256:" + std::string(64, digest);
    return o;
}

model::Deployment deployment(std::int64_t id, model::Status status, const model::Release& r,
                             sys::TimePoint started = k_now) {
    model::Deployment d;
    d.id = id;
    d.stack = "shop";
    d.status = status;
    d.release = r;
    d.started_at = started;
    return d;
}

config::Stack shop() {
    config::Stack s;
    s.name = "shop";
    s.image_wait = 30min;
    return s;
}

}  // namespace

TEST_CASE("plan: the first release of a stack is deployed", "[deploy][plan]") {
    const auto p = deploy::plan(shop(), observed('a', '1'), {}, k_now);
    CHECK(p.kind == Plan::Kind::Deploy);
    CHECK(p.release.revision == std::string(40, 'a'));
    CHECK(p.release.images.at("web") == k_web + ":1.0@sha256:" + std::string(64, '1'));
    CHECK_FALSE(p.waiting);
}

TEST_CASE("plan: what runs already is nothing to do", "[deploy][plan]") {
    const auto o = observed('a', '1');
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, o.release());
    known.latest = known.current;
    const auto p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Noop);
    CHECK(p.why.empty());
}

TEST_CASE("plan: a new digest for the same revision is a new release", "[deploy][plan]") {
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, observed('a', '1').release());
    CHECK(deploy::plan(shop(), observed('a', '2'), known, k_now).kind == Plan::Kind::Deploy);
}

TEST_CASE("plan: a release marked bad is left alone, whatever else holds", "[deploy][plan]") {
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, observed('a', '1').release());
    known.bad = true;
    auto o = observed('b', '2');
    o.missing.push_back("worker: tag 2.0 not found");  // would wait, were it not bad
    const auto p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Noop);
    CHECK(p.why == "release bbbbbbbbbbbb web=sha256:222222222222 is marked bad; waiting for a "
                   "new one");
}

TEST_CASE("plan: refused files go to verify once, then stay rejected", "[deploy][plan]") {
    deploy::Observation o;
    o.revision = std::string(40, 'c');
    o.tag = "v2.0.0";
    o.refused = sys::Error::invalid("compose: services.web.ports contains an invalid type");
    auto p = deploy::plan(shop(), o, {}, k_now);
    CHECK(p.kind == Plan::Kind::Deploy);  // verify() turns it into a rejection
    CHECK(p.release.images.empty());

    deploy::Known known;
    known.bad = true;
    p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Noop);
    CHECK(p.why == "v2.0.0 was rejected: compose: services.web.ports contains an invalid type");
}

TEST_CASE("plan: missing images wait, in one deployment, until image_wait", "[deploy][plan]") {
    auto o = observed('b', '2');
    o.missing = {"worker: tag 2.0 not found", "cron: tag 2.0 not found"};
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, observed('a', '1').release());
    known.latest = known.current;

    auto p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Wait);
    CHECK_FALSE(p.waiting);  // a waiting deployment is to be recorded
    CHECK(p.why == "bbbbbbbbbbbb waits for images: worker: tag 2.0 not found; cron: tag 2.0 not "
                   "found");

    known.latest = deployment(2, model::Status::Waiting, o.release(), k_now);
    p = deploy::plan(shop(), o, known, k_now + 29min);
    CHECK(p.kind == Plan::Kind::Wait);
    CHECK(p.waiting == 2);  // the same deployment keeps waiting

    p = deploy::plan(shop(), o, known, k_now + 30min);
    CHECK(p.kind == Plan::Kind::GiveUp);
    CHECK(p.waiting == 2);
    CHECK(p.why == "images still missing after 30m: worker: tag 2.0 not found; cron: tag 2.0 "
                   "not found");
}

TEST_CASE("plan: a waiting release whose images arrived deploys in its deployment",
          "[deploy][plan]") {
    const auto o = observed('b', '2');
    auto waited = o.release();
    waited.images.clear();
    deploy::Known known;
    known.latest = deployment(7, model::Status::Waiting, waited, k_now - 5min);
    const auto p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Deploy);
    CHECK(p.waiting == 7);
}

TEST_CASE("plan: a waiting deployment of another revision is not reused", "[deploy][plan]") {
    deploy::Known known;
    known.latest = deployment(7, model::Status::Waiting, observed('a', '1').release(),
                              k_now - 2h);
    auto o = observed('b', '2');
    o.missing = {"web: tag 2.0 not found"};
    const auto p = deploy::plan(shop(), o, known, k_now);
    CHECK(p.kind == Plan::Kind::Wait);  // a new wait: image_wait counts from now
    CHECK_FALSE(p.waiting);
}

TEST_CASE("plan: a pinned stack holds a new release back and says which", "[deploy][plan]") {
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, observed('a', '1').release());
    known.latest = known.current;
    const auto p = deploy::hold(deploy::plan(shop(), observed('b', '2'), known, k_now), 4);
    CHECK(p.kind == Plan::Kind::Noop);
    CHECK(p.why.find(std::string(12, 'b') + " web=sha256:2222222222") == 0);
    CHECK(p.why.find("is new; not deployed: stack pinned at deployment 4") != std::string::npos);
}

TEST_CASE("plan: a pinned stack neither records a wait nor gives one up", "[deploy][plan]") {
    auto o = observed('b', '2');
    o.missing = {"web: " + k_web + ":2.0 not found"};
    deploy::Known known;
    known.latest = deployment(3, model::Status::Waiting, o.release(), k_now - 2h);
    const auto waiting = deploy::plan(shop(), o, known, k_now);
    REQUIRE(waiting.kind == Plan::Kind::GiveUp);
    const auto held = deploy::hold(waiting, 2);
    CHECK(held.kind == Plan::Kind::Noop);
    CHECK_FALSE(held.waiting);
    CHECK(held.why.find("images still missing") == 0);
    CHECK(held.why.find("stack pinned at deployment 2") != std::string::npos);
}

TEST_CASE("plan: a pinned stack that runs its release has nothing held", "[deploy][plan]") {
    const auto o = observed('a', '1');
    deploy::Known known;
    known.current = deployment(1, model::Status::Succeeded, o.release());
    const auto p = deploy::hold(deploy::plan(shop(), o, known, k_now), 1);
    CHECK(p.kind == Plan::Kind::Noop);
    CHECK(p.why.empty());
}

}  // namespace unit_deploy_plan_test
