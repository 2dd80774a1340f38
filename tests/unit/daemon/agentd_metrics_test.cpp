// agentd's metrics: what the pipeline, the daemon and the registry clients feed, and what a
// scrape reads from each stack's status.

#include "agent/daemon/agentd_metrics.h"

#include <catch2/catch.hpp>

#include "agent/sys/url.h"
#include "agent/sys/version.h"
#include "tests/fakes/fakes.h"

namespace unit_daemon_agentd_metrics_test {

using namespace agentd;
using namespace agentd::daemon;
using namespace std::chrono_literals;

namespace {

const sys::TimePoint k_t0 = sys::TimePoint{} + 1700000000s;

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

model::Deployment deployment(std::int64_t id, model::Status status, sys::Duration took,
                             model::Trigger trigger = model::Trigger::Poll) {
    model::Deployment d;
    d.id = id;
    d.stack = "shop";
    d.status = status;
    d.trigger = trigger;
    d.started_at = k_t0;
    d.finished_at = k_t0 + took;
    d.release.revision = std::string(40, 'a');
    d.release.tag = "v1.2.0";
    return d;
}

}  // namespace

TEST_CASE("agentd metrics: polls, errors and their durations per stack", "[daemon]") {
    AgentdMetrics m(k_t0);
    m.polled("shop", deploy::Outcome::Noop);
    m.polled("shop", deploy::Outcome::Succeeded);
    m.polled("shop", deploy::Outcome::PollError);
    m.polled("blog", deploy::Outcome::Noop);
    m.polled("blog", deploy::Outcome::Paused);  // a paused stack does not poll
    m.observed("shop", 300ms, true);
    const auto text = m.render({});
    CHECK(has_line(text, "agentd_polls_total{stack=\"shop\"} 3"));
    CHECK(has_line(text, "agentd_poll_errors_total{stack=\"shop\"} 1"));
    CHECK(has_line(text, "agentd_polls_total{stack=\"blog\"} 1"));
    CHECK(has_line(text, "agentd_poll_errors_total{stack=\"blog\"} 0"));
    CHECK(has_line(text, "agentd_poll_duration_seconds_bucket{stack=\"shop\",le=\"0.25\"} 0"));
    CHECK(has_line(text, "agentd_poll_duration_seconds_bucket{stack=\"shop\",le=\"0.5\"} 1"));
    CHECK(has_line(text, "agentd_poll_duration_seconds_sum{stack=\"shop\"} 0.3"));
    CHECK(has_line(text, "agentd_build_info{version=\"" + std::string(sys::k_version) + "\"} 1"));
    CHECK(has_line(text, "process_start_time_seconds 1700000000"));
}

TEST_CASE("agentd metrics: deployments by result, their duration, gates and rollbacks",
          "[daemon]") {
    AgentdMetrics m(k_t0);
    m.finished(deployment(1, model::Status::Succeeded, 42s));
    m.finished(deployment(2, model::Status::RolledBack, 200s));
    m.finished(deployment(3, model::Status::Rejected, 0s));
    m.finished(deployment(4, model::Status::Succeeded, 20s, model::Trigger::Rollback));
    deploy::GateResult passed;
    passed.verdict = deploy::GateResult::Verdict::Passed;
    m.gated("shop", passed, 12s);
    const auto text = m.render({});
    CHECK(has_line(text, "agentd_deployments_total{stack=\"shop\",result=\"succeeded\"} 2"));
    CHECK(has_line(text, "agentd_deployments_total{stack=\"shop\",result=\"rolled_back\"} 1"));
    CHECK(has_line(text, "agentd_deployments_total{stack=\"shop\",result=\"rejected\"} 1"));
    CHECK(has_line(text, "agentd_rollbacks_total{stack=\"shop\",kind=\"automatic\"} 1"));
    CHECK(has_line(text, "agentd_rollbacks_total{stack=\"shop\",kind=\"manual\"} 1"));
    CHECK(has_line(text, "agentd_deployment_duration_seconds_bucket{stack=\"shop\",le=\"30\"} 2"));
    CHECK(has_line(text, "agentd_deployment_duration_seconds_count{stack=\"shop\"} 4"));
    CHECK(has_line(text, "agentd_deployment_duration_seconds_sum{stack=\"shop\"} 262"));
    CHECK(has_line(text, "agentd_gate_duration_seconds_bucket{stack=\"shop\",le=\"10\"} 0"));
    CHECK(has_line(text, "agentd_gate_duration_seconds_bucket{stack=\"shop\",le=\"15\"} 1"));
    // no revision or digest in any label but the release info's
    CHECK(text.find(std::string(40, 'a')) == std::string::npos);
}

TEST_CASE("agentd metrics: the release each stack runs, read when scraped", "[daemon]") {
    AgentdMetrics m(k_t0);
    StackStatus shop;
    shop.name = "shop";
    shop.current = deployment(1, model::Status::Succeeded, 42s);
    shop.stack_state.last_poll.at = k_t0 + 100s;
    shop.stack_state.last_poll.drift = "web: no container";
    shop.stack_state.kept_releases = 3;
    shop.stack_state.offline_releases = 2;
    StackStatus blog;
    blog.name = "blog";
    blog.stack_state.paused = true;
    const auto text = m.render({shop, blog});
    CHECK(has_line(text, "agentd_stack_drifted{stack=\"shop\"} 1"));
    CHECK(has_line(text, "agentd_stack_drifted{stack=\"blog\"} 0"));
    CHECK(has_line(text, "agentd_releases_restorable_offline{stack=\"shop\"} 2"));
    CHECK(text.find("agentd_releases_restorable_offline{stack=\"blog\"") == std::string::npos);
    CHECK(has_line(text, "agentd_release_info{stack=\"shop\",revision=\"" + std::string(40, 'a') +
                             "\",tag=\"v1.2.0\"} 1"));
    CHECK(has_line(text,
                   "agentd_last_successful_deploy_timestamp_seconds{stack=\"shop\"} "
                   "1700000042"));
    CHECK(has_line(text, "agentd_last_poll_timestamp_seconds{stack=\"shop\"} 1700000100"));
    CHECK(has_line(text, "agentd_stack_paused{stack=\"blog\"} 1"));
    CHECK(has_line(text, "agentd_stack_paused{stack=\"shop\"} 0"));
    CHECK(text.find("agentd_release_info{stack=\"blog\"") == std::string::npos);
}

TEST_CASE("agentd metrics: registry requests by host and status code", "[daemon]") {
    AgentdMetrics m(k_t0);
    fakes::FakeHttp inner;
    MeteredHttpClient http(inner, &m);
    (void)http.send({.url = "https://user:secret@ghcr.io/v2/acme/web/manifests/v1"});
    inner.status = 404;
    (void)http.send({.url = "http://127.0.0.1:5000/v2/x/manifests/y"});
    (void)http.send({.url = "http://127.0.0.1:5000/v2/x/manifests/y"});
    inner.refuse = true;
    (void)http.send({.url = "http://127.0.0.1:5000/v2/x/manifests/y"});
    const auto text = m.render({});
    CHECK(has_line(text, "agentd_registry_requests_total{host=\"ghcr.io\",code=\"200\"} 1"));
    CHECK(has_line(text, "agentd_registry_requests_total{host=\"127.0.0.1:5000\",code=\"404\"} 2"));
    CHECK(
        has_line(text, "agentd_registry_requests_total{host=\"127.0.0.1:5000\",code=\"error\"} 1"));
    CHECK(text.find("secret") == std::string::npos);
    CHECK(sys::url_host("https://r.example:443/v2/?x=1") == "r.example:443");
    CHECK(sys::url_host("not a url").empty());
}

TEST_CASE("agentd metrics: the fleet as this host's watch sees it, and its etcd requests",
          "[daemon][fleet]") {
    AgentdMetrics m(k_t0);
    StackStatus shop;
    shop.name = "shop";
    StackStatus blog;
    blog.name = "blog";
    // Without fleet: no fleet sample.
    CHECK(m.render({shop}).find("\nagentd_fleet_") == std::string::npos);

    fleet::FleetSeen seen;
    seen.group = {"prod", "web-1", 2, 42, {}};
    auto& view = seen.group.stacks["shop"];
    view.queue = {{"web-1", "r2", "", 1, 0}, {"web-2", "r2", "", 2, 0}, {"web-3", "r2", "", 3, 0}};
    view.halt = fleet::Halt{"r1", "web-9", "unhealthy", "", 0};
    seen.group.stacks["tools"];  // another host's stack: no slot taken
    seen.group.stacks[""].malformed = {"/agentd/prod/"};
    seen.watching = true;
    seen.lease = false;
    seen.waiting = {"shop"};
    const auto text = m.render({shop, blog}, seen);
    CHECK(has_line(text, "agentd_fleet_watching 1"));
    CHECK(has_line(text, "agentd_fleet_lease 0"));
    CHECK(has_line(text, "agentd_fleet_updating{stack=\"shop\"} 2"));
    CHECK(has_line(text, "agentd_fleet_queued{stack=\"shop\"} 1"));
    CHECK(has_line(text, "agentd_fleet_halted{stack=\"shop\"} 1"));
    CHECK(has_line(text, "agentd_fleet_updating{stack=\"tools\"} 0"));
    CHECK(has_line(text, "agentd_fleet_halted{stack=\"tools\"} 0"));
    CHECK(has_line(text, "agentd_fleet_waiting{stack=\"shop\"} 1"));
    CHECK(has_line(text, "agentd_fleet_waiting{stack=\"blog\"} 0"));
    CHECK(text.find("stack=\"\"") == std::string::npos);

    auto inner = std::make_unique<fakes::FakeHttp>();
    auto* answers = inner.get();
    MeteredEtcdHttp etcd(std::move(inner), &m);
    (void)etcd.send({.url = "https://10.0.0.1:2379/v3/lease/keepalive"});
    (void)etcd.send({.url = "https://10.0.0.1:2379/v3/lease/keepalive"});
    answers->refuse = true;
    (void)etcd.send({.url = "https://10.0.0.2:2379/v3/kv/range"});
    const auto counted = m.render({});
    CHECK(has_line(counted,
                   "agentd_fleet_etcd_requests_total{call=\"lease/keepalive\",code=\"200\"} 2"));
    CHECK(
        has_line(counted, "agentd_fleet_etcd_requests_total{call=\"kv/range\",code=\"error\"} 1"));
}

}  // namespace unit_daemon_agentd_metrics_test
