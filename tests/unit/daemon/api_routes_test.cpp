#include "agent/daemon/api_routes.h"

#include <catch2/catch.hpp>

#include "tests/unit/daemon/fake_backend.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/temp_dir.h"

namespace unit_daemon_api_routes_test {

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
    REQUIRE(s["last_poll"]["revision"].is_null());
    REQUIRE(s["candidate"].is_null());
    REQUIRE(s["drift"].is_null());
    REQUIRE(s["releases"].is_null());  // counted at the first promotion
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
    // The waiting client's id, for its cycle's end line of the live progress.
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/sync",
                                  R"({"wait":true,"request":"a1-b.c_d"})"))
                .status == 200);
    REQUIRE(b.calls.back() == "sync shop wait request a1-b.c_d");
    const std::string too_long = R"({"request":")" + std::string(65, 'a') + R"("})";
    for (const std::string& bad : std::vector<std::string>{
             R"({"request":7})", R"({"request":"a b"})", R"({"request":"x\ny"})", too_long}) {
        INFO(bad);
        const auto reply = handle_request(b, req("POST", "/v1/stacks/shop/sync", bad));
        CHECK(reply.status == 400);
        CHECK(reply.body.dump().find("request") != std::string::npos);
    }
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

TEST_CASE("api routes: pin passes the deployment and keeps the backend's refusals", "[daemon]") {
    FakeBackend b;
    b.deployments.push_back(daemon::testing::sample_deployment(5, "shop"));
    auto failed = daemon::testing::sample_deployment(6, "shop");
    failed.status = model::Status::RolledBack;
    b.deployments.push_back(failed);
    b.deployments.push_back(daemon::testing::sample_deployment(8, "blog"));
    auto r = handle_request(b, req("POST", "/v1/stacks/shop/pin", R"({"deployment":5})"));
    REQUIRE(r.status == 200);
    REQUIRE(r.body["outcome"] == "succeeded");
    REQUIRE(r.body["deployment"] == 7);
    REQUIRE(b.calls.back() == "pin shop 5");
    // unknown, another stack's (404: agentctl exits 2), not succeeded (409: exits 1)
    auto unknown = handle_request(b, req("POST", "/v1/stacks/shop/pin", R"({"deployment":99})"));
    REQUIRE(unknown.status == 404);
    REQUIRE(unknown.body["error"] == "stack shop has no deployment 99");
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/pin", R"({"deployment":8})")).status ==
            404);
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/pin", R"({"deployment":6})")).status ==
            409);
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/nope/pin", R"({"deployment":5})")).status ==
            404);
    // the deployment is required, a positive number; refused before the backend is asked
    const auto calls = b.calls.size();
    for (const char* body : {"", R"({"deployment":"5"})", R"({"deployment":0})",
                             R"({"deployment":-3})", R"({"deployment":null})", "[5]"}) {
        auto bad = handle_request(b, req("POST", "/v1/stacks/shop/pin", body));
        CAPTURE(body);
        REQUIRE(bad.status == 400);
        REQUIRE(bad.body["error"].get<std::string>().find("expected") != std::string::npos);
    }
    REQUIRE(b.calls.size() == calls);
    REQUIRE(handle_request(b, req("GET", "/v1/stacks/shop/pin")).status == 405);
}

TEST_CASE("api routes: unpin answers the stack's controls, retry the cycle", "[daemon]") {
    FakeBackend b;
    auto u = handle_request(b, req("POST", "/v1/stacks/shop/unpin"));
    REQUIRE(u.status == 200);
    REQUIRE(b.calls.back() == "unpin shop");
    REQUIRE(u.body["stack"] == "shop");
    REQUIRE(u.body["pinned"].is_null());
    REQUIRE(u.body["paused"] == true);  // as the backend left it
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/nope/unpin")).status == 404);
    b.cycle = {deploy::Outcome::Succeeded, 12, "deployed"};
    auto r = handle_request(b, req("POST", "/v1/stacks/blog/retry"));
    REQUIRE(r.status == 200);
    REQUIRE(b.calls.back() == "retry blog");
    REQUIRE(r.body["outcome"] == "succeeded");
    REQUIRE(r.body["deployment"] == 12);
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/nope/retry")).status == 404);
    REQUIRE(handle_request(b, req("GET", "/v1/stacks/blog/retry")).status == 405);
}

TEST_CASE("api routes: approve takes an optional deployment and answers the cycle",
          "[daemon][approval]") {
    FakeBackend b;
    b.cycle = {deploy::Outcome::Succeeded, 12, "v1.3 approved and deployed"};
    auto r = handle_request(b, req("POST", "/v1/stacks/shop/approve"));
    REQUIRE(r.status == 200);
    REQUIRE(b.calls.back() == "approve shop");
    REQUIRE(b.last_approved == std::nullopt);
    REQUIRE(r.body["outcome"] == "succeeded");
    REQUIRE(r.body["message"] == "v1.3 approved and deployed");
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/approve", R"({"deployment":12})"))
                .status == 200);
    REQUIRE(b.last_approved == 12);
    b.stale_candidate = 11;
    auto stale = handle_request(b, req("POST", "/v1/stacks/shop/approve", R"({"deployment":11})"));
    REQUIRE(stale.status == 409);
    REQUIRE(stale.body["error"] == "a newer candidate waits for approval now");
    REQUIRE(handle_request(b, req("POST", "/v1/stacks/nope/approve")).status == 404);
    const auto calls = b.calls.size();
    for (const char* body : {R"({"deployment":"5"})", R"({"deployment":0})", "[5]"}) {
        CAPTURE(body);
        REQUIRE(handle_request(b, req("POST", "/v1/stacks/shop/approve", body)).status == 400);
    }
    REQUIRE(b.calls.size() == calls);
    REQUIRE(handle_request(b, req("GET", "/v1/stacks/shop/approve")).status == 405);
}

TEST_CASE("api routes: diff answers the stable document", "[daemon]") {
    FakeBackend b;
    auto& d = b.stack_diff;
    d.current = daemon::testing::sample_deployment(3, "shop");
    d.candidate = d.current->release;
    d.candidate->revision = std::string(40, 'b');
    d.candidate->tag = "v3";
    d.candidate->images["web"] = "ghcr.io/acme/web:3@sha256:" + std::string(64, 'c');
    d.candidate->images["api"] = "ghcr.io/acme/api:1@sha256:" + std::string(64, 'd');
    d.pending = true;
    d.note = "v3 is new; not deployed: stack pinned at deployment 3";
    d.commits = {{std::string(40, 'b'), "release 3"}};
    d.compose_diff = "--- a/shop/compose.yaml\n";
    d.services = deploy::compare_images(d.current->release.images, d.candidate->images);
    auto r = handle_request(b, req("GET", "/v1/stacks/shop/diff"));
    REQUIRE(r.status == 200);
    CHECK(b.calls.back() == "diff shop");
    CHECK(r.body["stack"] == "shop");
    CHECK(r.body["pending"] == true);
    CHECK(r.body["note"] == d.note);
    CHECK(r.body["current"]["deployment"] == 3);
    CHECK(r.body["current"]["revision"] == d.current->release.revision);
    CHECK(r.body["current"]["tag"].is_null());
    CHECK(r.body["candidate"]["revision"] == std::string(40, 'b'));
    CHECK(r.body["candidate"]["tag"] == "v3");
    CHECK(r.body["commits"][0]["subject"] == "release 3");
    CHECK(r.body["commits_truncated"] == false);
    CHECK(r.body["compose_diff"] == "--- a/shop/compose.yaml\n");
    CHECK(r.body["services"]["changed"][0]["service"] == "web");
    CHECK(r.body["services"]["changed"][0]["from"]["tag"] == "2.3.1");
    CHECK(r.body["services"]["changed"][0]["to"]["tag"] == "3");
    CHECK(r.body["services"]["added"][0]["service"] == "api");
    CHECK(r.body["services"]["removed"].empty());
    // nothing pending: the same shape, empty
    b.stack_diff = {};
    auto none = handle_request(b, req("GET", "/v1/stacks/blog/diff"));
    REQUIRE(none.status == 200);
    CHECK(none.body["pending"] == false);
    CHECK(none.body["current"].is_null());
    CHECK(none.body["candidate"].is_null());
    CHECK(none.body["commits"].empty());
    CHECK(none.body["services"]["changed"].empty());
    CHECK(handle_request(b, req("GET", "/v1/stacks/nope/diff")).status == 404);
    CHECK(handle_request(b, req("POST", "/v1/stacks/shop/diff")).status == 405);
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
    st.last_poll.drift = "web: no container";
    REQUIRE(daemon::stack_state_name(st, ok, ok) == "drifted");
    REQUIRE(daemon::stack_state_name(st, ok, running) == "deploying");
    st.paused = true;
    REQUIRE(daemon::stack_state_name(st, ok, ok) == "paused");
}

TEST_CASE("api routes: tags are listed in version order without a policy", "[daemon]") {
    FakeBackend b;
    b.registry_tags.push_back("1.9.3");  // a registry may list a tag twice
    auto r = handle_request(b, ApiRequest{"GET", "/v1/tags", {{"image", "ghcr.io/acme/web"}}, ""});
    REQUIRE(r.status == 200);
    CHECK(r.body == nlohmann::json::parse(
                        R"({"tags":["v1.2.0","1.9.3","1.10.0","v2.0.0-rc.1","latest",
                                    "sha256-abc.sig"]})"));
    REQUIRE(b.last_image);
    CHECK(b.last_image->registry == "ghcr.io");
    CHECK(b.last_image->repository == "acme/web");
}

TEST_CASE("api routes: tags with a policy give its matches and selection", "[daemon]") {
    FakeBackend b;
    auto semver = handle_request(
        b,
        ApiRequest{"GET", "/v1/tags", {{"image", "ghcr.io/acme/web:2.0"}, {"semver", "^1"}}, ""});
    REQUIRE(semver.status == 200);
    CHECK(semver.body["tags"].size() == 6);
    CHECK(semver.body["matches"] == nlohmann::json({"1.10.0", "1.9.3", "v1.2.0"}));
    CHECK(semver.body["selected"] == "1.10.0");

    b.registry_tags = {"main-9", "main-10", "dev-11", "main-3.sig"};
    auto regex = handle_request(
        b, ApiRequest{"GET",
                      "/v1/tags",
                      {{"image", "web"}, {"regex", "^main-(?P<n>\\d+)$"}, {"order", "numerical"}},
                      ""});
    REQUIRE(regex.status == 200);
    CHECK(regex.body["tags"] == nlohmann::json({"dev-11", "main-3.sig", "main-9", "main-10"}));
    CHECK(regex.body["matches"] == nlohmann::json({"main-10", "main-9"}));
    CHECK(regex.body["selected"] == "main-10");
    CHECK(b.last_image->registry == "registry-1.docker.io");

    auto none =
        handle_request(b, ApiRequest{"GET", "/v1/tags", {{"image", "web"}, {"semver", ">=5"}}, ""});
    REQUIRE(none.status == 200);
    CHECK(none.body["matches"] == nlohmann::json::array());
    CHECK(none.body["selected"].is_null());
}

TEST_CASE("api routes: tags refuse bad parameters naming them, before the registry", "[daemon]") {
    FakeBackend b;
    const auto error = [&](std::map<std::string, std::string> query) {
        auto r = handle_request(b, ApiRequest{"GET", "/v1/tags", std::move(query), ""});
        CHECK(r.status == 400);
        return r.body["error"].get<std::string>();
    };
    CHECK(error({}).rfind("image: required", 0) == 0);
    CHECK(error({{"image", "Not An Image"}}).rfind("image: ", 0) == 0);
    CHECK(error({{"image", "web"}, {"semver", "<<1"}}) ==
          "semver: semver range \"<<1\": unknown operator \"<<\"");
    CHECK(error({{"image", "web"}, {"regex", "("}}).rfind("regex: ", 0) == 0);
    CHECK(error({{"image", "web"}, {"regex", "x"}, {"order", "up"}}).rfind("order ", 0) == 0);
    CHECK(error({{"image", "web"}, {"semver", "^1"}, {"order", "numerical"}}).rfind("order: ", 0) ==
          0);
    CHECK(error({{"image", "web"}, {"semver", "^1"}, {"regex", "x"}}).find("not both") !=
          std::string::npos);
    CHECK(b.calls.empty());
    CHECK(handle_request(b, req("POST", "/v1/tags")).status == 405);
}

TEST_CASE("api routes: registry errors keep their status and message", "[daemon]") {
    FakeBackend b;
    b.tags_error = sys::Error::not_found("repository ghcr.io/acme/nope not found");
    auto r = handle_request(b, ApiRequest{"GET", "/v1/tags", {{"image", "ghcr.io/acme/nope"}}, ""});
    CHECK(r.status == 404);
    CHECK(r.body["error"] == "repository ghcr.io/acme/nope not found");
    b.tags_error = sys::Error::unavailable("registry ghcr.io: connection refused");
    CHECK(handle_request(b, ApiRequest{"GET", "/v1/tags", {{"image", "ghcr.io/acme/web"}}, ""})
              .status == 502);
}

TEST_CASE("api routes: verify answers the verdict with the image, digest and keys", "[daemon]") {
    agentd::testing::OpensslKey key("p256");
    FakeBackend b;
    const nlohmann::json body{{"image", "ghcr.io/acme/web:2.4.0"},
                              {"key", key.public_pem().string()}};
    auto r = handle_request(b, req("POST", "/v1/verify", body.dump()));
    REQUIRE(r.status == 200);
    const std::string digest = "sha256:" + std::string(64, 'a');
    CHECK(r.body ==
          nlohmann::json{
              {"image", "ghcr.io/acme/web:2.4.0"},
              {"digest", digest},
              {"verified", true},
              {"message", b.verdict.message},
              {"keys", {{{"file", key.public_pem().string()}, {"algorithm", "ECDSA P-256"}}}},
              {"identity", nullptr},
              {"issuer", nullptr},
              {"trusted_root", nullptr}});
    REQUIRE(b.last_policy);
    REQUIRE(b.last_policy->cosign);
    CHECK(b.last_policy->cosign->files == std::vector<std::filesystem::path>{key.public_pem()});
    CHECK(b.last_image->tag == "2.4.0");

    // Not verified is a verdict, not an error: a 200 saying why.
    b.verdict = {"", false, "image ghcr.io/acme/web@sha256:...: not signed"};
    const std::string pinned = "sha256:" + std::string(64, 'c');
    auto rejected = handle_request(
        b, req("POST", "/v1/verify",
               nlohmann::json{{"image", "ghcr.io/acme/web@" + pinned},
                              {"key", nlohmann::json::array({key.public_pem().string()})}}
                   .dump()));
    REQUIRE(rejected.status == 200);
    CHECK(rejected.body["verified"] == false);
    CHECK(rejected.body["image"] == "ghcr.io/acme/web@" + pinned);
    CHECK(rejected.body["digest"] == pinned);
    CHECK(rejected.body["message"] == "image ghcr.io/acme/web@sha256:...: not signed");
}

TEST_CASE("api routes: verify refuses a bad request before the registry", "[daemon]") {
    agentd::testing::TempDir dir;
    agentd::testing::OpensslKey key("ed25519");
    FakeBackend b;
    const auto post = [&](const std::string& body) {
        auto r = handle_request(b, req("POST", "/v1/verify", body));
        CHECK(r.status == 400);
        return r.body["error"].get<std::string>();
    };
    const std::string pub = key.public_pem().string();
    CHECK(post("not json") == "request body: expected a JSON object");
    CHECK(post(R"({"key":")" + pub + R"("})").rfind("image: required", 0) == 0);
    CHECK(post(R"({"image":"Web","key":")" + pub + R"("})").rfind("image: ", 0) == 0);
    CHECK(post(R"({"image":"web","key":"k.pub"})").rfind("key: k.pub is a relative path", 0) == 0);
    CHECK(post(R"({"image":"web","key":")" + (dir.path() / "none.pub").string() + R"("})")
              .rfind("key: public key " + (dir.path() / "none.pub").string() + ": cannot be read",
                     0) == 0);
    CHECK(post(R"({"image":"web"})").rfind("give the signatures to check", 0) == 0);
    CHECK(post(R"({"image":"web","identity":"regex:(","issuer":"https://x"})")
              .rfind("identity: ", 0) == 0);
    CHECK(post(R"({"image":"web","identity":"x@acme.example","issuer":"https://x",)"
               R"("trusted_root":")" + (dir.path() / "none.json").string() + R"("})")
              .rfind("trusted_root: cannot read trusted root", 0) == 0);
    CHECK(b.calls.empty());
    CHECK(handle_request(b, req("GET", "/v1/verify")).status == 405);
}

TEST_CASE("api routes: verify errors keep their status and message", "[daemon]") {
    agentd::testing::OpensslKey key("p256");
    FakeBackend b;
    const std::string body =
        nlohmann::json{{"image", "ghcr.io/acme/web:9"}, {"key", key.public_pem().string()}}.dump();
    b.verify_error = sys::Error::not_found("tag 9 not found in ghcr.io/acme/web");
    auto missing = handle_request(b, req("POST", "/v1/verify", body));
    CHECK(missing.status == 404);
    CHECK(missing.body["error"] == "tag 9 not found in ghcr.io/acme/web");
    b.verify_error = sys::Error::unavailable("registry ghcr.io: connection refused");
    CHECK(handle_request(b, req("POST", "/v1/verify", body)).status == 502);
}

TEST_CASE("api routes: GET /v1/events streams the backend's lines as JSON lines", "[daemon]") {
    FakeBackend backend;
    backend.event_lines = {"{\"type\":\"subscribed\"}\n"};
    auto r = handle_request(backend, {"GET", "/v1/events", {{"stack", "shop"}}, "", {}, ""});
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/x-ndjson");
    REQUIRE(r.stream);
    CHECK(r.stream->next(sys::Duration::zero()) == "{\"type\":\"subscribed\"}\n");
    CHECK_FALSE(r.stream->next(sys::Duration::zero()).has_value());
    CHECK(backend.calls.back() == "events shop");
    // Every stack without ?stack=.
    REQUIRE(handle_request(backend, {"GET", "/v1/events", {}, "", {}, ""}).stream);
    CHECK(backend.calls.back() == "events *");
    // An unknown stack is a 404 naming it, not a stream; other methods are refused.
    auto unknown = handle_request(backend, {"GET", "/v1/events", {{"stack", "nope"}}, "", {}, ""});
    CHECK(unknown.status == 404);
    CHECK_FALSE(unknown.stream);
    CHECK(unknown.body["error"] == "unknown stack \"nope\"");
    CHECK(handle_request(backend, {"POST", "/v1/events", {}, "", {}, ""}).status == 405);
}

namespace {

/// A fleet of group "prod" seen from host a: a holding shop's slot, c queued, shop halted.
FakeBackend fleet_backend() {
    FakeBackend b;
    b.fleet_admin = std::make_unique<FakeBackend::FakeAdmin>();
    auto& group = b.fleet_admin->group;
    group = {"prod", "a", 1, 42, {}};
    auto& shop = group.stacks["shop"];
    shop.queue = {{"a", "r2", "2026-12-05T10:00:00Z", 10, 0x1f},
                  {"c", "r2", "2026-12-05T10:01:00Z", 11, 0x2a}};
    shop.halt = fleet::Halt{"r1", "b", "health gate failed", "2026-12-05T09:00:00Z", 9};
    shop.done["r0"] = {"a", "b"};
    group.stacks[""].malformed = {"/agentd/prod/"};
    b.names["shop"] = {{"r1", "v1.0.0 (0123456789ab)"}};
    return b;
}

}  // namespace

TEST_CASE("api routes: GET /v1/fleet shows who updates, who waits, the halt and done hosts",
          "[daemon][fleet]") {
    auto b = fleet_backend();
    auto r = handle_request(b, req("GET", "/v1/fleet"));
    REQUIRE(r.status == 200);
    CHECK(r.body["group"] == "prod");
    CHECK(r.body["host"] == "a");
    CHECK(r.body["max_updating"] == 1);
    CHECK(r.body["revision"] == 42);
    CHECK(r.body["malformed"] == nlohmann::json{"/agentd/prod/"});
    REQUIRE(r.body["stacks"].size() == 1);
    const auto& shop = r.body["stacks"][0];
    CHECK(shop["stack"] == "shop");
    CHECK(shop["updating"] == nlohmann::json::parse(
                                  R"([{"host":"a","release":"r2","name":null,
                                       "since":"2026-12-05T10:00:00Z","lease":"1f"}])"));
    REQUIRE(shop["queued"].size() == 1);
    CHECK(shop["queued"][0]["host"] == "c");
    CHECK(shop["halt"] == nlohmann::json::parse(R"j({"release":"r1",
        "name":"v1.0.0 (0123456789ab)","host":"b",
        "reason":"health gate failed","time":"2026-12-05T09:00:00Z"})j"));
    CHECK(shop["done"] ==
          nlohmann::json::parse(R"([{"release":"r0","name":null,"hosts":["a","b"]}])"));
    // One stack; a name that cannot be a key is refused before etcd is asked.
    auto one = handle_request(b, {"GET", "/v1/fleet", {{"stack", "shop"}}, "", {}, ""});
    CHECK(one.status == 200);
    CHECK(b.fleet_admin->calls.back() == "look shop");
    auto bad = handle_request(b, {"GET", "/v1/fleet", {{"stack", "a/b"}}, "", {}, ""});
    CHECK(bad.status == 400);
    CHECK(bad.body["error"] == "stack \"a/b\": expected 1 to 128 letters, digits, '.', '_' or '-'");
    CHECK(b.fleet_admin->calls.size() == 2);
    CHECK(handle_request(b, req("POST", "/v1/fleet")).status == 405);
}

TEST_CASE("api routes: fleet unhalt and release change etcd through the fleet", "[daemon][fleet]") {
    auto b = fleet_backend();
    auto cleared = handle_request(b, req("POST", "/v1/fleet/stacks/shop/unhalt"));
    REQUIRE(cleared.status == 200);
    CHECK(cleared.body["stack"] == "shop");
    CHECK(cleared.body["halt"]["release"] == "r1");
    CHECK_FALSE(b.fleet_admin->group.stacks["shop"].halt);
    auto again = handle_request(b, req("POST", "/v1/fleet/stacks/shop/unhalt"));
    CHECK(again.status == 409);
    CHECK(again.body["error"] == "fleet: stack shop is not halted");

    auto freed = handle_request(b, req("POST", "/v1/fleet/stacks/shop/release", R"({"host":"c"})"));
    REQUIRE(freed.status == 200);
    CHECK(freed.body["released"]["host"] == "c");
    CHECK(b.fleet_admin->group.stacks["shop"].queue.size() == 1);
    CHECK(
        handle_request(b, req("POST", "/v1/fleet/stacks/shop/release", R"({"host":"c"})")).status ==
        404);
    // Bad input never reaches etcd.
    const auto calls = b.fleet_admin->calls.size();
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/shop/release")).body["error"] ==
          "host: expected the host's name in the fleet");
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/shop/release", R"({"host":"../x"})"))
              .status == 400);
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/sh%op/unhalt")).status == 400);
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/shop/release", "[1]")).status == 400);
    CHECK(b.fleet_admin->calls.size() == calls);
    CHECK(handle_request(b, req("GET", "/v1/fleet/stacks/shop/unhalt")).status == 405);
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/shop/nothing")).status == 404);
    // etcd unreachable: 502 with its message.
    b.fleet_admin->error = sys::Error::unavailable("etcd: no endpoint answers");
    auto down = handle_request(b, req("GET", "/v1/fleet"));
    CHECK(down.status == 502);
    CHECK(down.body["error"] == "etcd: no endpoint answers");
}

TEST_CASE("api routes: without fleet: the fleet routes say so", "[daemon][fleet]") {
    FakeBackend b;
    auto r = handle_request(b, req("GET", "/v1/fleet"));
    CHECK(r.status == 409);
    CHECK(r.body["error"] ==
          "this agentd is not in a fleet (its configuration has no fleet: section)");
    CHECK(handle_request(b, req("POST", "/v1/fleet/stacks/shop/unhalt")).status == 409);
}

}  // namespace unit_daemon_api_routes_test
