#include "agent/notify/notification.h"

#include <catch2/catch.hpp>

namespace unit_notify_notification_test {

using namespace agentd;
using notify::Kind;
using notify::Notification;

namespace {

Notification rolled_back() {
    Notification n;
    n.stack = "shop";
    n.kind = Kind::RolledBack;
    n.deployment = 12;
    n.revision = "3f2a9c1d0e4b5a6978812233445566778899aabb";
    n.tag = "v1.4.0";
    n.images = {{"web", "registry.example/shop/web:1.4.0@sha256:" + std::string(64, 'a')}};
    n.reason = "web: unhealthy";
    n.at = sys::TimePoint(std::chrono::seconds(1764842400));
    return n;
}

}  // namespace

TEST_CASE("notify kind: every name parses back to its kind, nothing else parses",
          "[notify][notification]") {
    REQUIRE(notify::all_kinds().size() == 10);
    for (Kind k : notify::all_kinds()) {
        CHECK(notify::parse_kind(notify::to_string(k)) == k);
    }
    CHECK(notify::to_string(Kind::RolledBack) == "rolled_back");
    CHECK(notify::to_string(Kind::PollFailing) == "poll_failing");
    CHECK_FALSE(notify::parse_kind("rolled-back"));
    CHECK_FALSE(notify::parse_kind("Succeeded"));
    CHECK_FALSE(notify::parse_kind(""));
}

TEST_CASE("notify kind: problems are the kinds a later success resolves",
          "[notify][notification]") {
    CHECK(notify::is_problem(Kind::RolledBack));
    CHECK(notify::is_problem(Kind::Rejected));
    CHECK(notify::is_problem(Kind::Failed));
    CHECK(notify::is_problem(Kind::Waiting));
    CHECK(notify::is_problem(Kind::PollFailing));
    CHECK_FALSE(notify::is_problem(Kind::Succeeded));
    CHECK_FALSE(notify::is_problem(Kind::Started));
    CHECK_FALSE(notify::is_problem(Kind::Resolved));
    CHECK_FALSE(notify::is_problem(Kind::Approval));  // a request, not a failure
}

TEST_CASE("notify summary: names the stack, the release, the deployment and the reason",
          "[notify][notification]") {
    CHECK(notify::summary(rolled_back()) ==
          "shop: v1.4.0 (3f2a9c1) rolled back (deployment 12): web: unhealthy");
    Notification branch = rolled_back();
    branch.tag.clear();
    branch.kind = Kind::Succeeded;
    branch.reason.clear();
    CHECK(notify::summary(branch) == "shop: 3f2a9c1 deployed (deployment 12)");
    Notification dir = branch;
    dir.revision.clear();
    CHECK(notify::summary(dir) == "shop: release deployed (deployment 12)");
}

TEST_CASE("notify summary: polls failing and resolved say since when", "[notify][notification]") {
    Notification polls;
    polls.stack = "shop";
    polls.kind = Kind::PollFailing;
    polls.since = sys::TimePoint(std::chrono::seconds(1764842400));
    polls.reason = "git fetch: connection refused";
    polls.repeats = 7;
    CHECK(notify::summary(polls) ==
          "shop: polls failing since 2025-12-04T10:00:00Z, seen 7 times: git fetch: connection "
          "refused");
    Notification resolved;
    resolved.stack = "shop";
    resolved.kind = Kind::Resolved;
    resolved.resolves = Kind::RolledBack;
    resolved.tag = "v1.4.1";
    CHECK(notify::summary(resolved) == "shop: rolled back resolved, now on v1.4.1");
    CHECK(notify::title(resolved) == "agentd: shop rolled back: resolved");
}

TEST_CASE("notify title: carries no value from outside", "[notify][notification]") {
    Notification n = rolled_back();
    n.reason = "evil\r\nX-Injected: 1";
    n.tag = "v1\r\nX: y";
    CHECK(notify::title(n) == "agentd: shop rolled back");
    Notification started;
    started.kind = Kind::Started;
    CHECK(notify::title(started) == "agentd started");
    CHECK(notify::summary(started) == "agentd started");
}

}  // namespace unit_notify_notification_test
