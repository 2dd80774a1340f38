#include "agent/daemon/api_routes.h"

#include <catch2/catch.hpp>

#include "tests/unit/daemon/fake_backend.h"

using namespace agentd;
using daemon::ApiRequest;
using daemon::handle_request;
using daemon::testing::FakeBackend;

namespace {

ApiRequest req(std::string method, std::string path, std::string body = "") {
    return ApiRequest{std::move(method), std::move(path), {}, std::move(body)};
}

}  // namespace

TEST_CASE("api routes: status lists every stack with the stable fields", "[daemon]") {
    FakeBackend b;
    b.deployments.push_back(daemon::testing::sample_deployment(3, "shop"));
    auto r = handle_request(b, req("GET", "/v1/status"));
    REQUIRE(r.status == 200);
    REQUIRE(r.body["stacks"].size() == 2);
    const auto& s = r.body["stacks"][0];
    REQUIRE(s["name"] == "shop");
    REQUIRE(s["state"] == "running");
    REQUIRE(s["paused"] == false);
    REQUIRE(s["pinned"].is_null());
    REQUIRE(s["current"]["id"] == 3);
    REQUIRE(s["last_poll"]["result"] == "ok");
    REQUIRE(s["last_poll"]["at"].is_null());
    REQUIRE(s["candidate"].is_null());
}

TEST_CASE("api routes: unknown stack is a 404 naming it", "[daemon]") {
    FakeBackend b;
    auto r = handle_request(b, ApiRequest{"GET", "/v1/status", {{"stack", "x"}}, ""});
    REQUIRE(r.status == 404);
    REQUIRE(r.body["error"] == "unknown stack \"x\"");
    auto s = handle_request(b, req("POST", "/v1/stacks/x/sync"));
    REQUIRE(s.status == 404);
    auto bad = handle_request(b, req("POST", "/v1/stacks/..%2F/sync"));
    REQUIRE(bad.status == 404);
}

TEST_CASE("api routes: history limit is validated and defaults to 20", "[daemon]") {
    FakeBackend b;
    REQUIRE(handle_request(b, req("GET", "/v1/history")).status == 200);
    REQUIRE(b.last_limit == 20);
    auto ok = handle_request(b, ApiRequest{"GET", "/v1/history", {{"limit", "5"}}, ""});
    REQUIRE(ok.status == 200);
    REQUIRE(ok.body["deployments"].is_array());
    REQUIRE(b.last_limit == 5);
    for (const char* bad : {"0", "-1", "x", "5000", "3x"}) {
        auto r = handle_request(b, ApiRequest{"GET", "/v1/history", {{"limit", bad}}, ""});
        REQUIRE(r.status == 400);
    }
}

TEST_CASE("api routes: a deployment is shown with its events", "[daemon]") {
    FakeBackend b;
    b.deployments.push_back(daemon::testing::sample_deployment(3, "shop"));
    auto r = handle_request(b, req("GET", "/v1/deployments/3"));
    REQUIRE(r.status == 200);
    REQUIRE(r.body["id"] == 3);
    REQUIRE(r.body["events"].size() == 1);
    REQUIRE(handle_request(b, req("GET", "/v1/deployments/4")).status == 404);
    REQUIRE(handle_request(b, req("GET", "/v1/deployments/abc")).status == 400);
}

TEST_CASE("api routes: sync queues (202) or waits for the outcome", "[daemon]") {
    FakeBackend b;
    auto queued = handle_request(b, req("POST", "/v1/stacks/shop/sync"));
    REQUIRE(queued.status == 202);
    REQUIRE(queued.body["queued"] == true);
    auto waited = handle_request(b, req("POST", "/v1/stacks/shop/sync", R"({"wait":true})"));
    REQUIRE(waited.status == 200);
    REQUIRE(waited.body["outcome"] == "succeeded");
    REQUIRE(waited.body["deployment"] == 7);
    REQUIRE(b.calls.back() == "sync shop wait");
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/sync", "{bad")).status == 400);
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/sync", R"({"wait":"yes"})")).status ==
            400);
}

TEST_CASE("api routes: rollback passes the target and validates it", "[daemon]") {
    FakeBackend b;
    auto r = handle_request(b, req("POST", "/v1/stacks/shop/rollback", R"({"to":5})"));
    REQUIRE(r.status == 200);
    REQUIRE(b.last_to == 5);
    handle_request(b, req("POST", "/v1/stacks/shop/rollback", R"({"to":null})"));
    REQUIRE_FALSE(b.last_to.has_value());
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/rollback", R"({"to":"5"})")).status ==
            400);
}

TEST_CASE("api routes: pause, resume, reload and wrong methods", "[daemon]") {
    FakeBackend b;
    auto p = handle_request(b, req("POST", "/v1/stacks/blog/pause"));
    REQUIRE(p.status == 200);
    REQUIRE(p.body["paused"] == true);
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/blog/resume")).body["paused"] == false);
    REQUIRE(handle_request(b, req("POST", "/v1/reload")).body["stacks"] == 2);
    b.reload_fails = true;
    auto bad = handle_request(b, req("POST", "/v1/reload"));
    REQUIRE(bad.status == 400);
    REQUIRE(bad.body["error"].get<std::string>().find("agent.yaml:1:1") != std::string::npos);
    REQUIRE(handle_request(b, req("GET", "/v1/reload")).status == 405);
    REQUIRE(handle_request(b, req("POST", "/v1/status")).status == 405);
    REQUIRE(handle_request(b, req("GET", "/v2/status")).status == 404);
    REQUIRE(handle_request(b, req("GET", "/v1/nothing")).status == 404);
}

TEST_CASE("api routes: stack state names", "[daemon]") {
    model::StackState st;
    auto ok = daemon::testing::sample_deployment(1, "shop");
    auto failed = ok;
    failed.status = model::Status::RolledBack;
    auto running = ok;
    running.status = model::Status::InProgress;
    REQUIRE(daemon::stack_state_name(st, std::nullopt, std::nullopt) == "new");
    REQUIRE(daemon::stack_state_name(st, ok, ok) == "running");
    REQUIRE(daemon::stack_state_name(st, std::nullopt, failed) == "failed");
    REQUIRE(daemon::stack_state_name(st, ok, running) == "deploying");
    st.paused = true;
    REQUIRE(daemon::stack_state_name(st, ok, ok) == "paused");
}
