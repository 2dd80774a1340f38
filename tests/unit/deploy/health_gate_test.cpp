#include "agent/deploy/health_gate.h"

#include <catch2/catch.hpp>

#include "tests/fakes/fakes.h"

namespace unit_deploy_health_gate_test {

using namespace agentd;
using namespace std::chrono_literals;

namespace {

runtime::ContainerState running(const std::string& service, const std::string& image) {
    runtime::ContainerState c;
    c.id = service + "-1";
    c.name = "shop_" + service + "_1";
    c.service = service;
    c.image = image;
    c.state = "running";
    c.restart_policy = "always";
    return c;
}

deploy::GateTarget target_web() {
    return {"shop", {"web"}, {{"web", "reg/web@sha256:1"}}};
}

}  // namespace

TEST_CASE("health gate: a running healthy container is good", "[deploy][gate]") {
    auto c = running("web", "reg/web@sha256:1");
    c.health = "healthy";
    const auto v = deploy::judge_containers(target_web(), {c}, {});
    CHECK(v.good());
}

TEST_CASE("health gate: unhealthy is fatal and carries the health log", "[deploy][gate]") {
    auto c = running("web", "reg/web@sha256:1");
    c.health = "unhealthy";
    c.health_log = "Connecting to 127.0.0.1\nwget: server returned error 500\n";
    const auto v = deploy::judge_containers(target_web(), {c}, {});
    REQUIRE(v.fatal.count("web") == 1);
    CHECK(v.fatal.at("web") == "unhealthy: wget: server returned error 500");
}

TEST_CASE("health gate: starting health and missing containers are pending", "[deploy][gate]") {
    auto c = running("web", "reg/web@sha256:1");
    c.health = "starting";
    deploy::GateTarget target{"shop", {"web", "worker"}, {{"web", "reg/web@sha256:1"}}};
    const auto v = deploy::judge_containers(target, {c}, {});
    CHECK(v.fatal.empty());
    CHECK(v.pending.at("web") == "health: starting");
    CHECK(v.pending.at("worker") == "no container");
}

TEST_CASE("health gate: a restart since the gate began is fatal", "[deploy][gate]") {
    auto c = running("web", "reg/web@sha256:1");
    c.restart_count = 3;
    c.exit_code = 1;
    CHECK(deploy::judge_containers(target_web(), {c}, {{"web-1", 3}}).good());
    const auto v = deploy::judge_containers(target_web(), {c}, {{"web-1", 2}});
    REQUIRE(v.fatal.count("web") == 1);
    CHECK(v.fatal.at("web").find("restarted") != std::string::npos);
}

TEST_CASE("health gate: exits fail unless a one-shot service exited 0", "[deploy][gate]") {
    auto c = running("migrate", "reg/web@sha256:1");
    c.state = "exited";
    c.restart_policy = "no";
    deploy::GateTarget target{"shop", {"migrate"}, {{"migrate", "reg/web@sha256:1"}}};
    CHECK(deploy::judge_containers(target, {c}, {}).good());
    c.exit_code = 2;
    CHECK(deploy::judge_containers(target, {c}, {}).fatal.at("migrate") == "exited with code 2");
    c.exit_code = 0;
    c.restart_policy = "always";
    CHECK_FALSE(deploy::judge_containers(target, {c}, {}).fatal.empty());
}

TEST_CASE("health gate: OOM kill and restarting state are fatal", "[deploy][gate]") {
    auto c = running("web", "reg/web@sha256:1");
    c.oom_killed = true;
    CHECK(deploy::judge_containers(target_web(), {c}, {}).fatal.at("web") == "OOM-killed");
    c.oom_killed = false;
    c.state = "restarting";
    CHECK(deploy::judge_containers(target_web(), {c}, {}).fatal.count("web") == 1);
}

TEST_CASE("health gate: a container still on the old image is pending", "[deploy][gate]") {
    const auto c = running("web", "reg/web@sha256:0");
    const auto v = deploy::judge_containers(target_web(), {c}, {});
    CHECK(v.fatal.empty());
    CHECK(v.pending.at("web").find("still runs reg/web@sha256:0") != std::string::npos);
}

TEST_CASE("health gate: one-off and unknown services are ignored", "[deploy][gate]") {
    auto oneoff = running("web", "reg/web@sha256:9");
    oneoff.one_off = true;
    oneoff.state = "exited";
    oneoff.exit_code = 1;
    auto orphan = running("old", "reg/old@sha256:1");
    orphan.state = "exited";
    auto web = running("web", "reg/web@sha256:1");
    CHECK(deploy::judge_containers(target_web(), {oneoff, orphan, web}, {}).good());
}

namespace {

struct GateFixture {
    fakes::FakeClock clock;
    fakes::FakeEngine engine;
    fakes::FakeHttp http;
    std::atomic<bool> stop{false};
    deploy::HealthGate gate{engine, http, clock, stop};
    config::Health health;
    GateFixture() {
        health.timeout = 20s;
        health.stable = 5s;
    }
};

}  // namespace

TEST_CASE("health gate: passes after the stable window", "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    CHECK(result.passed());
    // the first sample sees "starting", the next (a pending interval later) healthy; stable
    // 5s from then.
    CHECK(f.clock.now() - start == deploy::HealthGate::k_pending_interval + 5s);
}

TEST_CASE("health gate: notices readiness quickly and ends with the stable window",
          "[deploy][gate]") {
    GateFixture f;
    f.health.stable = 2500ms;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    CHECK(result.passed());
    // starting at 0, healthy at 250ms; samples at 1.25s and 2.25s, then at 2.75s when the
    // window ends, not a whole second later.
    CHECK(f.clock.now() - start == 2750ms);
    CHECK(result.samples == 5);
}

TEST_CASE("health gate: samples are at most a second apart", "[deploy][gate]") {
    using deploy::HealthGate;
    const auto t = std::chrono::system_clock::from_time_t(1'790'000'000);
    CHECK(HealthGate::next_wait(std::nullopt, t, 10s) == HealthGate::k_pending_interval);
    CHECK(HealthGate::next_wait(t, t, 10s) == 1s);
    CHECK(HealthGate::next_wait(t, t + 9700ms, 10s) == 300ms);
    CHECK(HealthGate::next_wait(t, t + 10s, 10s) == HealthGate::k_pending_interval);
    CHECK(HealthGate::next_wait(t, t, 0s) == HealthGate::k_pending_interval);
}

TEST_CASE("health gate: needs at least three good samples", "[deploy][gate]") {
    GateFixture f;
    f.health.stable = 0s;
    f.engine.behaviour["reg/web@sha256:1"] = fakes::Behaviour::NoHealthcheck;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto result = f.gate.run(target_web(), f.health);
    CHECK(result.passed());
    CHECK(result.samples == deploy::HealthGate::k_min_samples);
}

TEST_CASE("health gate: unhealthy fails before the timeout with the reason", "[deploy][gate]") {
    GateFixture f;
    f.engine.behaviour["reg/web@sha256:1"] = fakes::Behaviour::Unhealthy;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    CHECK_FALSE(result.passed());
    CHECK(result.summary() == "web: unhealthy: wget: server returned error 500");
    CHECK(f.clock.now() - start < f.health.timeout);
}

TEST_CASE("health gate: a crash loop fails although samples see it running", "[deploy][gate]") {
    GateFixture f;
    f.engine.behaviour["reg/web@sha256:1"] = fakes::Behaviour::CrashLoop;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto result = f.gate.run(target_web(), f.health);
    CHECK_FALSE(result.passed());
    CHECK(result.reasons.at("web").find("restarted") != std::string::npos);
}

TEST_CASE("health gate: never healthy times out naming what it waited for", "[deploy][gate]") {
    GateFixture f;
    f.engine.behaviour["reg/web@sha256:1"] = fakes::Behaviour::StartingForever;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    CHECK_FALSE(result.passed());
    CHECK(f.clock.now() - start == 20s);
    CHECK(result.reasons.at("web") == "not ready within 20s (health: starting)");
}

TEST_CASE("health gate: HTTP probes must answer the expected status", "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    f.health.http = {{"http://127.0.0.1:8080/healthz", 0}};
    f.http.status = 503;
    auto result = f.gate.run(target_web(), f.health);
    CHECK_FALSE(result.passed());
    CHECK(result.reasons.at("http://127.0.0.1:8080/healthz").find("answered 503") !=
          std::string::npos);
    CHECK_FALSE(f.http.requests.empty());

    GateFixture g;
    g.engine.run({{"web", "reg/web@sha256:1"}});
    g.health.http = {{"http://127.0.0.1:8080/healthz", 204}};
    g.http.status = 204;
    CHECK(g.gate.run(target_web(), g.health).passed());
}

TEST_CASE("health gate: a stop request interrupts it", "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    f.stop = true;
    CHECK(f.gate.run(target_web(), f.health).verdict == deploy::GateResult::Verdict::Interrupted);
}

// --- the engine stopping or restarting during the gate -----------------------------------

namespace {

runtime::EngineEvents events(std::vector<runtime::ContainerEvent> list, bool ended = false) {
    return {std::move(list), ended};
}

}  // namespace

TEST_CASE("health gate: a container stopped by the engine is no verdict on the release",
          "[deploy][gate]") {
    const auto target = target_web();
    auto why =
        deploy::engine_interruption(target, events({{"kill", "shop-web-1", "web", false, "15"}}));
    REQUIRE(why);
    CHECK(why->find("container shop-web-1 was stopped by the engine (kill, signal 15)") == 0);
    CHECK(deploy::engine_interruption(target, events({{"kill", "shop-web-1", "web", false, "9"}})));
    CHECK(deploy::engine_interruption(target, events({{"stop", "shop-web-1", "web", false, ""}})));
    // the stream's end: the engine went away, whatever it restores later
    why = deploy::engine_interruption(target, events({}, true));
    REQUIRE(why);
    CHECK(why->find("event stream ended") != std::string::npos);
}

TEST_CASE("health gate: reload signals, one-off and other containers do not interrupt it",
          "[deploy][gate]") {
    const auto target = target_web();
    CHECK_FALSE(deploy::engine_interruption(target, events({})));
    // `docker kill -s HUP` (an nginx reload) stops nothing
    CHECK_FALSE(deploy::engine_interruption(target, events({{"kill", "w", "web", false, "1"}})));
    // a hook's `compose run` container, a service the release does not have
    CHECK_FALSE(deploy::engine_interruption(target, events({{"stop", "w", "web", true, ""}})));
    CHECK_FALSE(deploy::engine_interruption(target, events({{"stop", "o", "old", false, ""}})));
}

TEST_CASE("health gate: a dockerd restart ends it inconclusive, once the engine is back",
          "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    f.engine.restart_at_sample = 3;  // the containers exit with code 0, the stream ends
    f.engine.down_for = 3;
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    REQUIRE(result.verdict == deploy::GateResult::Verdict::Inconclusive);
    CHECK(result.summary().find("docker: container shop_web_1 was stopped by the engine") == 0);
    // the failing sample waited for the events that explain it
    CHECK(f.engine.reads.back() == deploy::HealthGate::k_event_grace);
    // then for the engine: three refused connections a second apart, the fourth accepted
    CHECK(f.engine.watches == 1 + 4);
    // (samples at 0, 250ms and 1.25s, the third the failing one)
    CHECK(f.clock.now() - start == deploy::HealthGate::k_pending_interval + 1s + 3s);
}

TEST_CASE("health gate: an engine away until the deadline ends it inconclusive at the deadline",
          "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    f.engine.down = 1000;  // no event stream from the start
    const auto start = f.clock.now();
    const auto result = f.gate.run(target_web(), f.health);
    REQUIRE(result.verdict == deploy::GateResult::Verdict::Inconclusive);
    CHECK(result.reasons.at("docker").find("no such file or directory") != std::string::npos);
    CHECK(result.samples == 0);
    CHECK(f.clock.now() - start == f.health.timeout);
}

TEST_CASE("health gate: a container exiting on its own still fails it", "[deploy][gate]") {
    GateFixture f;
    f.engine.run({{"web", "reg/web@sha256:1"}});
    f.engine.stopped_by_engine = true;  // exited with code 0, and no event says why
    const auto result = f.gate.run(target_web(), f.health);
    REQUIRE(result.verdict == deploy::GateResult::Verdict::Failed);
    CHECK(result.summary() == "web: exited with code 0");
    CHECK(f.engine.reads.back() == deploy::HealthGate::k_event_grace);
}

}  // namespace unit_deploy_health_gate_test
