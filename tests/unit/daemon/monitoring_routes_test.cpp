// The TCP listener's routes: /healthz, /readyz, /metrics, and nothing else.

#include "agent/daemon/monitoring_routes.h"

#include <catch2/catch.hpp>

#include "agent/sys/version.h"

namespace unit_daemon_monitoring_routes_test {

using namespace agentd;
using namespace agentd::daemon;
using namespace std::chrono_literals;

namespace {

struct FakeMonitoring final : MonitoringBackend {
    Readiness ready{"ok", {{"state_store", true, "open"}}};
    int readiness_calls = 0;
    sys::Duration uptime() override { return 90500ms; }
    Readiness readiness() override {
        ++readiness_calls;
        return ready;
    }
    std::string metrics() override { return "agentd_up 1\n"; }
};

ApiReply call(MonitoringBackend& b, const std::string& method, const std::string& path) {
    ApiRequest r;
    r.method = method;
    r.path = path;
    return handle_monitoring_request(b, r);
}

}  // namespace

TEST_CASE("monitoring routes: healthz says alive, version and uptime", "[daemon]") {
    FakeMonitoring b;
    const auto r = call(b, "GET", "/healthz");
    CHECK(r.status == 200);
    CHECK(r.content_type.empty());
    CHECK(r.body ==
          nlohmann::json{{"status", "ok"}, {"version", sys::k_version}, {"uptime_seconds", 90}});
    CHECK(b.readiness_calls == 0);  // alive does not depend on the store or the engine
}

TEST_CASE("monitoring routes: readyz answers the verdict with its status code", "[daemon]") {
    FakeMonitoring b;
    auto r = call(b, "GET", "/readyz");
    CHECK(r.status == 200);
    CHECK(r.body["status"] == "ok");
    CHECK(r.body["checks"][0] ==
          nlohmann::json{{"name", "state_store"}, {"ok", true}, {"detail", "open"}});
    b.ready = {"degraded", {{"stack shop", false, "last poll 1s ago failed: x"}}};
    r = call(b, "GET", "/readyz");
    CHECK(r.status == 503);
    CHECK(r.body["status"] == "degraded");
    b.ready.status = "error";
    CHECK(call(b, "HEAD", "/readyz").status == 503);
}

TEST_CASE("monitoring routes: metrics is Prometheus text", "[daemon]") {
    FakeMonitoring b;
    const auto r = call(b, "GET", "/metrics");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.text == "agentd_up 1\n");
}

TEST_CASE("monitoring routes: no control route, nor any other path, is reachable", "[daemon]") {
    FakeMonitoring b;
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"POST", "/v1/stacks/shop/sync"},
                                                          {"POST", "/v1/stacks/shop/rollback"},
                                                          {"POST", "/v1/stacks/shop/pause"},
                                                          {"POST", "/v1/reload"},
                                                          {"GET", "/v1/status"},
                                                          {"GET", "/v1/history"},
                                                          {"GET", "/v1/events"},
                                                          {"POST", "/v1/verify"},
                                                          {"GET", "/"},
                                                          {"GET", "/metrics/"},
                                                          {"GET", "/healthz/../v1/status"}}) {
        INFO(method << " " << path);
        CHECK(call(b, method, path).status == 404);
    }
    CHECK(call(b, "POST", "/metrics").status == 405);
    CHECK(call(b, "DELETE", "/healthz").status == 405);
}

}  // namespace unit_daemon_monitoring_routes_test
