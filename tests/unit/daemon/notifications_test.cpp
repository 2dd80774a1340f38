#include "agent/daemon/notifications.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/state/sqlite_outbox.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/log_capture.h"
#include "tests/unit/temp_dir.h"

namespace unit_daemon_notifications_test {

using namespace agentd;
using namespace std::chrono_literals;
using daemon::NotificationCenter;
using daemon::NotificationSender;
using daemon::NotificationTarget;

namespace {

const std::string k_secret_url = "http://127.0.0.1:9/hooks/T0/B0/SECRETTOKEN?key=abc";

/// Answers every POST with the status the test sets (or no answer), recording requests.
class Receiver final : public sys::HttpClient {
public:
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        requests.push_back(request);
        if (refuse) {
            return sys::Error::failed("POST " + request.url + ": connection refused");
        }
        sys::HttpResponse r;
        r.status = status;
        if (!retry_after.empty()) {
            r.headers.emplace_back("retry-after", retry_after);
        }
        return r;
    }
    std::vector<sys::HttpRequest> requests;
    long status = 200;
    bool refuse = false;
    std::string retry_after;
};

NotificationTarget target(notify::Format format, const std::string& url = k_secret_url,
                          std::optional<std::set<notify::Kind>> events = std::nullopt) {
    NotificationTarget t;
    t.config.format = format;
    t.config.url = url;
    t.config.events = std::move(events);
    t.config.label = notify::to_string(format) + " #1";
    t.config.poll_failing_after = 0s;
    t.url = url;
    t.key = daemon::target_key(url);
    return t;
}

struct Fixture {
    testing::TempDir tmp;
    fakes::FakeClock clock;
    fakes::MemoryStore store;
    Receiver receiver;
    std::unique_ptr<state::SqliteOutbox> sender_outbox;
    std::unique_ptr<NotificationCenter> center;
    int wakes = 0;

    Fixture() {
        center = std::make_unique<NotificationCenter>(
            std::make_unique<state::SqliteOutbox>(tmp.path() / "state.db"), clock);
        sender_outbox = std::make_unique<state::SqliteOutbox>(tmp.path() / "state.db");
        center->on_enqueued([this] { ++wakes; });
    }

    std::int64_t deployment(model::Status status, const std::string& tag,
                            const std::string& reason = "") {
        model::Deployment d;
        d.stack = "shop";
        d.status = status;
        d.release.revision = "3f2a9c1d0e4b5a6978812233445566778899aabb";
        d.release.tag = tag;
        d.release.images = {{"web", "r.local/web:1@sha256:" + std::string(64, 'a')}};
        d.started_at = clock.now() - 1min;
        d.reason = reason;
        return store.create_deployment(d);
    }

    int deliver() {
        NotificationSender sender(*sender_outbox, receiver, clock);
        return sender.deliver_due(center->targets());
    }
};

}  // namespace

TEST_CASE("notifications: a promotion reaches the receiver in its format, the rollback too",
          "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Generic)});
    const auto good = f.deployment(model::Status::Succeeded, "v1.0.0");
    f.center->cycle_ended("shop", {deploy::Outcome::Succeeded, good, "promoted"}, f.store);
    const auto bad = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, bad, "rolled back"}, f.store);
    CHECK(f.wakes == 2);
    CHECK(f.deliver() == 2);
    REQUIRE(f.receiver.requests.size() == 2);
    const auto& first = f.receiver.requests[0];
    CHECK(first.method == "POST");
    CHECK(first.url == k_secret_url);
    CHECK(first.timeout <= 5s);
    auto j = nlohmann::json::parse(first.body);
    CHECK(j["event"] == "succeeded");
    CHECK(j["stack"] == "shop");
    CHECK(j["deployment"] == good);
    CHECK(j["release"]["tag"] == "v1.0.0");
    j = nlohmann::json::parse(f.receiver.requests[1].body);
    CHECK(j["event"] == "rolled_back");
    CHECK(j["deployment"] == bad);
    CHECK(j["reason"] == "web: unhealthy");
    bool json_type = false;
    for (const auto& [k, v] : first.headers) {
        json_type = json_type || (k == "Content-Type" && v == "application/json");
    }
    CHECK(json_type);
    // Delivered: nothing left to send.
    CHECK(f.deliver() == 0);
}

TEST_CASE("notifications: a failed delivery is retried with backoff and the URL never logged",
          "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Slack)});
    const auto bad = f.deployment(model::Status::Failed, "v1.1.0", "compose: killed");
    f.center->cycle_ended("shop", {deploy::Outcome::Failed, bad, ""}, f.store);
    testing::LogCapture logs;
    f.receiver.status = 500;
    CHECK(f.deliver() == 1);
    CHECK(f.deliver() == 0);  // not due before its backoff
    f.clock.advance(5s);
    f.receiver.status = 0;
    f.receiver.refuse = true;
    CHECK(f.deliver() == 1);
    f.clock.advance(9s);
    CHECK(f.deliver() == 0);
    f.clock.advance(1s);
    f.receiver.refuse = false;
    f.receiver.status = 204;
    CHECK(f.deliver() == 1);
    CHECK(f.deliver() == 0);
    REQUIRE(f.receiver.requests.size() == 3);
    const std::string text = logs.text();
    CHECK(text.find("(slack #1) failed: HTTP 500, retry in 5s") != std::string::npos);
    CHECK(text.find("(slack #1) failed: POST <url>: connection refused, retry in 10s") !=
          std::string::npos);
    CHECK(text.find("(slack #1) delivered") != std::string::npos);
    CHECK(text.find("SECRETTOKEN") == std::string::npos);
    CHECK(text.find("key=abc") == std::string::npos);
}

TEST_CASE("notifications: a refused delivery is given up, not retried", "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Discord)});
    f.center->started("version 1");
    f.receiver.status = 404;
    CHECK(f.deliver() == 1);
    f.clock.advance(48h);
    CHECK(f.deliver() == 0);
    CHECK(f.receiver.requests.size() == 1);
}

TEST_CASE("notifications: a receiver's events filter what it is sent", "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Ntfy, k_secret_url,
                                  std::set<notify::Kind>{notify::Kind::RolledBack})});
    f.center->started("");
    const auto good = f.deployment(model::Status::Succeeded, "v1.0.0");
    f.center->cycle_ended("shop", {deploy::Outcome::Succeeded, good, ""}, f.store);
    CHECK(f.wakes == 0);
    const auto bad = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, bad, ""}, f.store);
    // The same rollback at the next poll: not sent again within the repeat interval.
    const auto again = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, again, ""}, f.store);
    const auto fixed = f.deployment(model::Status::Succeeded, "v1.1.1");
    f.center->cycle_ended("shop", {deploy::Outcome::Succeeded, fixed, ""}, f.store);
    CHECK(f.deliver() == 2);
    REQUIRE(f.receiver.requests.size() == 2);
    CHECK(f.receiver.requests[0].body.find("v1.1.0 (3f2a9c1) rolled back") != std::string::npos);
    CHECK(f.receiver.requests[1].body.find("rolled back resolved, now on v1.1.1") !=
          std::string::npos);
}

TEST_CASE("notifications: polls failing are sent, and resolved by a poll that works",
          "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Generic)});
    f.center->cycle_ended("shop", {deploy::Outcome::PollError, std::nullopt, "git: refused"},
                          f.store);
    f.center->cycle_ended("shop", {deploy::Outcome::PollError, std::nullopt, "git: refused"},
                          f.store);
    f.center->cycle_ended("shop", {deploy::Outcome::Noop, std::nullopt, ""}, f.store);
    CHECK(f.deliver() == 2);
    REQUIRE(f.receiver.requests.size() == 2);
    CHECK(nlohmann::json::parse(f.receiver.requests[0].body)["event"] == "poll_failing");
    auto resolved = nlohmann::json::parse(f.receiver.requests[1].body);
    CHECK(resolved["event"] == "resolved");
    CHECK(resolved["resolves"] == "poll_failing");
}

TEST_CASE("notifications: a row whose receiver was removed is dropped", "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Generic)});
    f.center->started("");
    f.center->set_targets({target(notify::Format::Generic, "http://127.0.0.1:9/other")});
    CHECK(f.deliver() == 1);
    CHECK(f.receiver.requests.empty());
    CHECK(f.deliver() == 0);
}

TEST_CASE("notifications: url_file is read from the credentials directory, never shown",
          "[daemon][notifications]") {
    testing::TempDir tmp;
    {
        std::ofstream(tmp.path() / "slack-url") << k_secret_url << "\n";
        std::ofstream(tmp.path() / "not-a-url") << "SECRETTOKEN\n";
    }
    ::setenv("CREDENTIALS_DIRECTORY", tmp.path().c_str(), 1);
    config::Notification n;
    n.url_file = "slack-url";
    n.label = "slack #1";
    auto targets = daemon::resolve_targets({n});
    REQUIRE(targets);
    REQUIRE(targets->size() == 1);
    CHECK((*targets)[0].url == k_secret_url);
    CHECK((*targets)[0].key == daemon::target_key(k_secret_url));
    CHECK((*targets)[0].key.size() == 16);
    CHECK((*targets)[0].key.find("SECRET") == std::string::npos);
    n.url_file = "not-a-url";
    auto bad = daemon::resolve_targets({n});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("slack #1") != std::string::npos);
    CHECK(bad.error().message.find("SECRETTOKEN") == std::string::npos);
    n.url_file = "missing";
    CHECK_FALSE(daemon::resolve_targets({n}));
    ::unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_CASE("notifications: a receiver that does not answer is asked once per batch",
          "[daemon][notifications]") {
    Fixture f;
    NotificationTarget down = target(notify::Format::Generic, "http://127.0.0.1:9/down");
    NotificationTarget up = target(notify::Format::Generic, "http://127.0.0.1:9/up");
    f.center->set_targets({down, up});
    f.center->started("1");
    f.center->started("2");
    f.center->started("3");
    struct PerUrl final : public sys::HttpClient {
        sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
            urls.push_back(request.url);
            if (request.url.ends_with("/down")) {
                return sys::Error::failed("timed out");
            }
            sys::HttpResponse r;
            r.status = 200;
            return r;
        }
        std::vector<std::string> urls;
    } http;
    NotificationSender sender(*f.sender_outbox, http, f.clock);
    CHECK(sender.deliver_due(f.center->targets()) == 6);
    // One attempt at the receiver that is down, three at the one that answers.
    CHECK(std::count(http.urls.begin(), http.urls.end(), "http://127.0.0.1:9/down") == 1);
    CHECK(std::count(http.urls.begin(), http.urls.end(), "http://127.0.0.1:9/up") == 3);
    // All three of the down receiver's rows wait for their next attempt.
    CHECK(sender.deliver_due(f.center->targets()) == 0);
    f.clock.advance(5s);
    CHECK(sender.deliver_due(f.center->targets()) == 3);
    CHECK(std::count(http.urls.begin(), http.urls.end(), "http://127.0.0.1:9/down") == 2);
}

TEST_CASE("notifications: after a restart an ongoing problem is not sent again, its end is",
          "[daemon][notifications]") {
    Fixture f;
    f.center->set_targets({target(notify::Format::Generic)});
    const auto bad = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, bad, "rolled back"}, f.store);
    CHECK(f.deliver() == 1);

    // agentd restarts: a new center over the same state.db.
    f.center = std::make_unique<NotificationCenter>(
        std::make_unique<state::SqliteOutbox>(f.tmp.path() / "state.db"), f.clock);
    f.center->set_targets({target(notify::Format::Generic)});
    f.clock.advance(1min);
    const auto again = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, again, "rolled back"}, f.store);
    CHECK(f.deliver() == 0);  // the same release failing again, within repeat_interval

    const auto good = f.deployment(model::Status::Succeeded, "v1.2.0");
    f.center->cycle_ended("shop", {deploy::Outcome::Succeeded, good, "promoted"}, f.store);
    CHECK(f.deliver() == 2);
    REQUIRE(f.receiver.requests.size() == 3);
    CHECK(nlohmann::json::parse(f.receiver.requests[1].body)["event"] == "succeeded");
    const auto resolved = nlohmann::json::parse(f.receiver.requests[2].body);
    CHECK(resolved["event"] == "resolved");
    CHECK(resolved["resolves"] == "rolled_back");
}

TEST_CASE("notifications: a malformed alert memory in state.db starts afresh",
          "[daemon][notifications]") {
    Fixture f;
    const auto t = target(notify::Format::Generic);
    f.sender_outbox->remember(t.key, "{\"deployments\": [", f.clock.now());
    const testing::LogCapture log;
    f.center->set_targets({t});
    CHECK(log.text().find("malformed") != std::string::npos);
    const auto bad = f.deployment(model::Status::RolledBack, "v1.1.0", "web: unhealthy");
    f.center->cycle_ended("shop", {deploy::Outcome::RolledBack, bad, "rolled back"}, f.store);
    CHECK(f.deliver() == 1);
    // What it remembers now replaced the malformed text.
    const auto saved = f.sender_outbox->memory(t.key);
    REQUIRE(saved);
    CHECK(nlohmann::json::parse(*saved)["deployments"].contains("shop"));
}

}  // namespace unit_daemon_notifications_test
