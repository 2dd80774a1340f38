// The TCP listener's webhook routes: every answer they give, and what each one queues.

#include "agent/daemon/webhook_routes.h"

#include <catch2/catch.hpp>

#include "agent/sys/digest.h"
#include "agent/webhook/signature.h"

namespace unit_daemon_webhook_routes_test {

using namespace agentd;
using namespace agentd::daemon;
using namespace std::chrono_literals;

namespace {

constexpr const char* k_secret = "It's a Secret to Everybody";

struct FakeWebhooks final : WebhookBackend {
    std::vector<webhook::Target> stacks;
    std::vector<std::string> triggered;
    std::vector<sources::AskedAt> arrivals;  ///< each trigger's, in order
    sys::TimePoint time{std::chrono::seconds(1700000000)};
    bool secret_readable = true;
    sys::Result<std::string> secret() override {
        if (!secret_readable) {
            return sys::Error::failed("api.webhook_secret_file /x: no such file");
        }
        return std::string(k_secret);
    }
    sys::Result<std::vector<webhook::Target>> targets() override { return stacks; }
    bool trigger(const std::string& stack, sources::AskedAt arrived) override {
        triggered.push_back(stack);
        arrivals.push_back(arrived);
        return true;
    }
    sys::TimePoint now() override { return time; }
};

webhook::Target shop() {
    webhook::Target t;
    t.stack = "shop";
    t.git_url = "https://github.com/acme/deploy.git";
    t.branch = "main";
    return t;
}

std::string push_body(const std::string& ref) {
    return R"({"ref":")" + ref +
           R"(","deleted":false,"repository":{"clone_url":"https://github.com/acme/deploy.git",)"
           R"("ssh_url":"git@github.com:acme/deploy.git"}})";
}

ApiRequest github(const std::string& event, const std::string& body,
                  const std::string& secret = k_secret) {
    ApiRequest r;
    r.method = "POST";
    r.path = "/webhooks/github";
    r.body = body;
    r.peer = "192.0.2.7";
    r.headers = {{"X-GitHub-Event", event},
                 {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                 {"X-Hub-Signature-256",
                  "sha256=" + sys::hex_encode(webhook::hmac_sha256(secret, body))}};
    return r;
}

}  // namespace

TEST_CASE("webhook routes: a signed push for a configured stack queues its cycle, 202",
          "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    const auto r = routes.handle(github("push", push_body("refs/heads/main")));
    CHECK(r.status == 202);
    CHECK(r.body["status"] == "triggered");
    CHECK(r.body["stacks"] == nlohmann::json::array({"shop"}));
    CHECK(r.body["delivery"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    CHECK(b.triggered == std::vector<std::string>{"shop"});
}

TEST_CASE(
    "webhook routes: the stacks a push names are queued as arrived together, each delivery at "
    "its own time",
    "[daemon][webhook]") {
    FakeWebhooks b;
    auto blog = shop();
    blog.stack = "blog";
    b.stacks = {shop(), blog};
    WebhookRoutes routes(b, {});
    REQUIRE(routes.handle(github("push", push_body("refs/heads/main"))).status == 202);
    REQUIRE(routes.handle(github("push", push_body("refs/heads/main"))).status == 202);
    REQUIRE(b.triggered == std::vector<std::string>{"shop", "blog", "shop", "blog"});
    // One time for the stacks of a delivery: their polls share one check of the repository
    // begun since; a later delivery is later.
    CHECK(b.arrivals[0] == b.arrivals[1]);
    CHECK(b.arrivals[2] == b.arrivals[3]);
    CHECK(b.arrivals[2] > b.arrivals[1]);
}

TEST_CASE("webhook routes: an event for nothing configured is 202 ignored and queues nothing",
          "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    const auto other_branch = routes.handle(github("push", push_body("refs/heads/feature")));
    CHECK(other_branch.status == 202);
    CHECK(other_branch.body["status"] == "ignored");
    const std::string issue = R"({"action":"opened"})";
    const auto unknown_event = routes.handle(github("issues", issue));
    CHECK(unknown_event.status == 202);
    CHECK(unknown_event.body["status"] == "ignored");
    CHECK(b.triggered.empty());
}

TEST_CASE("webhook routes: ping is 200 and queues nothing", "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    const auto r = routes.handle(github("ping", R"({"zen":"Keep it simple."})"));
    CHECK(r.status == 200);
    CHECK(r.body["status"] == "pong");
    CHECK(b.triggered.empty());
}

TEST_CASE("webhook routes: a missing or wrong signature is 401 and queues nothing",
          "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    auto unsigned_request = github("push", push_body("refs/heads/main"));
    unsigned_request.headers.erase("X-Hub-Signature-256");
    const auto missing = routes.handle(unsigned_request);
    CHECK(missing.status == 401);
    const auto wrong = routes.handle(github("push", push_body("refs/heads/main"), "guess"));
    CHECK(wrong.status == 401);
    // The signature of another body.
    auto tampered = github("push", push_body("refs/heads/main"));
    tampered.body = push_body("refs/heads/main ");
    CHECK(routes.handle(tampered).status == 401);
    CHECK(b.triggered.empty());
    // The answer names the header, never a secret.
    CHECK(wrong.body["error"].get<std::string>().find("X-Hub-Signature-256") != std::string::npos);
    CHECK(wrong.body.dump().find(k_secret) == std::string::npos);
}

TEST_CASE("webhook routes: an unreadable secret refuses every webhook (500)", "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    b.secret_readable = false;
    WebhookRoutes routes(b, {});
    CHECK(routes.handle(github("push", push_body("refs/heads/main"))).status == 500);
    CHECK(b.triggered.empty());
}

TEST_CASE("webhook routes: malformed JSON is 400 and queues nothing", "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    CHECK(routes.handle(github("push", R"({"ref": "refs/heads/main")")).status == 400);
    CHECK(routes.handle(github("push", R"([1,2])")).status == 400);
    const auto wrong_type = routes.handle(github("push", R"({"ref": 7})"));
    CHECK(wrong_type.status == 400);
    CHECK(wrong_type.body["error"].get<std::string>().find("ref") != std::string::npos);
    CHECK(b.triggered.empty());
}

TEST_CASE("webhook routes: over the rate limit of its peer address is 429", "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {2, std::chrono::seconds(1), 16});
    const auto request = github("push", push_body("refs/heads/main"));
    CHECK(routes.handle(request).status == 202);
    CHECK(routes.handle(request).status == 202);
    const auto refused = routes.handle(request);
    CHECK(refused.status == 429);
    CHECK(b.triggered.size() == 2);
    // Another address has its own bucket; the first regains one request per second.
    auto other = request;
    other.peer = "198.51.100.1";
    CHECK(routes.handle(other).status == 202);
    b.time += 1s;
    CHECK(routes.handle(request).status == 202);
    CHECK(routes.handle(request).status == 429);
}

TEST_CASE("webhook routes: other paths are 404, other methods 405", "[daemon][webhook]") {
    FakeWebhooks b;
    WebhookRoutes routes(b, {});
    CHECK(WebhookRoutes::handles("/webhooks/github"));
    CHECK_FALSE(WebhookRoutes::handles("/v1/stacks/shop/sync"));
    auto r = github("push", push_body("refs/heads/main"));
    r.path = "/webhooks/bitbucket";
    CHECK(routes.handle(r).status == 404);
    r.path = "/webhooks/github";
    r.method = "GET";
    CHECK(routes.handle(r).status == 405);
    CHECK(b.triggered.empty());
}

TEST_CASE("webhook routes: Gitea and GitLab deliveries are checked their own way",
          "[daemon][webhook]") {
    FakeWebhooks b;
    b.stacks = {shop()};
    WebhookRoutes routes(b, {});
    const std::string body = push_body("refs/heads/main");
    ApiRequest gitea;
    gitea.method = "POST";
    gitea.path = "/webhooks/gitea";
    gitea.body = body;
    gitea.headers = {{"X-Gitea-Event", "push"},
                     {"X-Gitea-Signature", sys::hex_encode(webhook::hmac_sha256(k_secret, body))}};
    CHECK(routes.handle(gitea).status == 202);
    ApiRequest gitlab;
    gitlab.method = "POST";
    gitlab.path = "/webhooks/gitlab";
    gitlab.body =
        R"({"ref":"refs/heads/main","after":"1111111111111111111111111111111111111111",)"
        R"("project":{"git_http_url":"https://github.com/acme/deploy.git"}})";
    gitlab.headers = {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "wrong"}};
    CHECK(routes.handle(gitlab).status == 401);
    gitlab.headers["X-Gitlab-Token"] = k_secret;
    CHECK(routes.handle(gitlab).status == 202);
    CHECK(b.triggered == std::vector<std::string>{"shop", "shop"});
}

}  // namespace unit_daemon_webhook_routes_test
