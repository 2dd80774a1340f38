#include "agent/notify/alerts.h"

#include <catch2/catch.hpp>

namespace unit_notify_alerts_test {

using namespace agentd;
using namespace std::chrono_literals;
using notify::Alerts;
using notify::Kind;
using notify::Notification;

namespace {

const sys::TimePoint k_start = sys::TimePoint(std::chrono::hours(24 * 365 * 50));

Notification outcome(Kind kind, sys::TimePoint at, std::int64_t deployment,
                     const std::string& revision = "aaaa", const std::string& stack = "shop") {
    Notification n;
    n.stack = stack;
    n.kind = kind;
    n.deployment = deployment;
    n.revision = revision;
    n.images = {{"web", "web:1@sha256:" + std::string(64, 'a')}};
    n.reason = "reason " + std::to_string(deployment);
    n.at = at;
    return n;
}

std::vector<Kind> kinds(const std::vector<Notification>& sent) {
    std::vector<Kind> out;
    for (const auto& n : sent) {
        out.push_back(n.kind);
    }
    return out;
}

notify::Thresholds thresholds(sys::Duration repeat = 1h, sys::Duration waiting = 10min,
                              sys::Duration polls = 15min) {
    notify::Thresholds t;
    t.repeat_interval = repeat;
    t.waiting_after = waiting;
    t.poll_failing_after = polls;
    return t;
}

}  // namespace

TEST_CASE("notify alerts: every promotion is sent", "[notify][alerts]") {
    Alerts alerts(thresholds());
    for (int i = 0; i < 3; ++i) {
        auto sent = alerts.deployment(outcome(Kind::Succeeded, k_start + i * 1min, i));
        REQUIRE(kinds(sent) == std::vector<Kind>{Kind::Succeeded});
        CHECK(sent[0].deployment == i);
    }
}

TEST_CASE("notify alerts: a failure repeated on every poll is sent once per repeat interval",
          "[notify][alerts]") {
    Alerts alerts(thresholds(1h));
    // A transient failure retried at every poll (a minute): a new deployment of the same release.
    CHECK(kinds(alerts.deployment(outcome(Kind::RolledBack, k_start, 1))) ==
          std::vector<Kind>{Kind::RolledBack});
    int sent = 0;
    for (int i = 1; i < 60; ++i) {
        sent += static_cast<int>(
            alerts.deployment(outcome(Kind::RolledBack, k_start + i * 1min, 1 + i)).size());
    }
    CHECK(sent == 0);
    // An hour after it was sent, it is sent again, saying how often it was seen meanwhile.
    auto again = alerts.deployment(outcome(Kind::RolledBack, k_start + 60min, 61));
    REQUIRE(kinds(again) == std::vector<Kind>{Kind::RolledBack});
    CHECK(again[0].repeats == 60);
    CHECK(again[0].deployment == 61);
    REQUIRE(again[0].since);
    CHECK(*again[0].since == k_start);
    // The interval counts from that last sending.
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start + 119min, 62)).empty());
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start + 120min, 63)).size() == 1);
}

TEST_CASE("notify alerts: the next success says the problem is resolved", "[notify][alerts]") {
    Alerts alerts(thresholds());
    alerts.deployment(outcome(Kind::Failed, k_start, 1));
    alerts.deployment(outcome(Kind::Failed, k_start + 1min, 2));
    auto sent = alerts.deployment(outcome(Kind::Succeeded, k_start + 2min, 3, "bbbb"));
    REQUIRE(kinds(sent) == std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
    CHECK(sent[1].resolves == Kind::Failed);
    CHECK(sent[1].deployment == 3);
    CHECK(sent[1].revision == "bbbb");
    CHECK(sent[1].since == k_start);
    CHECK(sent[1].stack == "shop");
    // Resolved once: the next promotion is only a promotion.
    CHECK(kinds(alerts.deployment(outcome(Kind::Succeeded, k_start + 3min, 4))) ==
          std::vector<Kind>{Kind::Succeeded});
    // The same failure after it was resolved is news again.
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start + 4min, 5)).size() == 1);
}

TEST_CASE("notify alerts: another problem is sent at once", "[notify][alerts]") {
    Alerts alerts(thresholds());
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start, 1, "aaaa")).size() == 1);
    // Another release failing, or the same release failing another way.
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start + 1min, 2, "bbbb")).size() == 1);
    CHECK(alerts.deployment(outcome(Kind::Rejected, k_start + 2min, 3, "bbbb")).size() == 1);
    Notification other_images = outcome(Kind::Rejected, k_start + 3min, 4, "bbbb");
    other_images.images["web"] = "web:2@sha256:" + std::string(64, 'b');
    CHECK(alerts.deployment(other_images).size() == 1);
    // Going back to the first one is a change too.
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start + 4min, 5, "aaaa")).size() == 1);
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start + 5min, 6, "aaaa")).empty());
}

TEST_CASE("notify alerts: stacks are tracked apart", "[notify][alerts]") {
    Alerts alerts(thresholds());
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start, 1, "aaaa", "shop")).size() == 1);
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start, 2, "aaaa", "blog")).size() == 1);
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start + 1min, 3, "aaaa", "shop")).empty());
    auto blog = alerts.deployment(outcome(Kind::Succeeded, k_start + 2min, 4, "aaaa", "blog"));
    CHECK(kinds(blog) == std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start + 3min, 5, "aaaa", "shop")).empty());
    alerts.forget("shop");
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start + 4min, 6, "aaaa", "shop")).size() == 1);
}

TEST_CASE("notify alerts: a waiting release is a problem once it has waited long enough",
          "[notify][alerts]") {
    Alerts alerts(thresholds(1h, 10min));
    auto waiting = [&](sys::Duration after) {
        Notification n = outcome(Kind::Waiting, k_start + after, 7);
        n.since = k_start;
        return alerts.deployment(n);
    };
    CHECK(waiting(0min).empty());
    CHECK(waiting(9min).empty());
    auto sent = waiting(10min);
    REQUIRE(kinds(sent) == std::vector<Kind>{Kind::Waiting});
    CHECK(sent[0].since == k_start);
    CHECK(waiting(11min).empty());
    CHECK(waiting(69min).empty());
    CHECK(waiting(70min).size() == 1);
    // Waiting without knowing since when is not judged.
    CHECK(alerts.deployment(outcome(Kind::Waiting, k_start + 5h, 8, "cccc")).empty());
    // The images came and it was deployed: resolved.
    auto done = alerts.deployment(outcome(Kind::Succeeded, k_start + 71min, 7));
    CHECK(kinds(done) == std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
    CHECK(done[1].resolves == Kind::Waiting);
}

TEST_CASE("notify alerts: polls failing are sent once they have failed long enough",
          "[notify][alerts]") {
    Alerts alerts(thresholds(1h, 10min, 15min));
    for (int i = 0; i < 15; ++i) {
        CHECK(alerts.poll_failed("shop", "connection refused", k_start + i * 1min).empty());
    }
    auto sent = alerts.poll_failed("shop", "timed out", k_start + 15min);
    REQUIRE(kinds(sent) == std::vector<Kind>{Kind::PollFailing});
    CHECK(sent[0].stack == "shop");
    CHECK(sent[0].reason == "timed out");
    CHECK(sent[0].since == k_start);
    CHECK_FALSE(sent[0].deployment);
    // Another error text is the same problem.
    CHECK(alerts.poll_failed("shop", "404", k_start + 16min).empty());
    CHECK(alerts.poll_failed("shop", "404", k_start + 75min).size() == 1);
    auto ok = alerts.poll_ok("shop", k_start + 76min);
    REQUIRE(kinds(ok) == std::vector<Kind>{Kind::Resolved});
    CHECK(ok[0].resolves == Kind::PollFailing);
    CHECK(ok[0].since == k_start + 15min);
    CHECK(alerts.poll_ok("shop", k_start + 77min).empty());
}

TEST_CASE("notify alerts: a poll that works resets the time polls have been failing",
          "[notify][alerts]") {
    Alerts alerts(thresholds(1h, 10min, 15min));
    CHECK(alerts.poll_failed("shop", "e", k_start).empty());
    CHECK(alerts.poll_failed("shop", "e", k_start + 14min).empty());
    // Never sent, so nothing to resolve.
    CHECK(alerts.poll_ok("shop", k_start + 15min).empty());
    CHECK(alerts.poll_failed("shop", "e", k_start + 16min).empty());
    CHECK(alerts.poll_failed("shop", "e", k_start + 30min).empty());
    CHECK(alerts.poll_failed("shop", "e", k_start + 31min).size() == 1);
}

TEST_CASE(
    "notify alerts: a poll that works does not resolve a failed deployment, nor the "
    "reverse",
    "[notify][alerts]") {
    Alerts alerts(thresholds(1h, 10min, 0min));
    CHECK(alerts.deployment(outcome(Kind::RolledBack, k_start, 1)).size() == 1);
    CHECK(alerts.poll_ok("shop", k_start + 1min).empty());
    CHECK(alerts.poll_failed("shop", "e", k_start + 2min).size() == 1);
    // A promotion resolves the rollback, not the polls.
    auto sent = alerts.deployment(outcome(Kind::Succeeded, k_start + 3min, 2));
    REQUIRE(kinds(sent) == std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
    CHECK(sent[1].resolves == Kind::RolledBack);
    auto ok = alerts.poll_ok("shop", k_start + 4min);
    REQUIRE(kinds(ok) == std::vector<Kind>{Kind::Resolved});
    CHECK(ok[0].resolves == Kind::PollFailing);
}

TEST_CASE("notify alerts: agentd starting is always sent", "[notify][alerts]") {
    Alerts alerts(thresholds());
    Notification started;
    started.kind = Kind::Started;
    started.at = k_start;
    CHECK(alerts.deployment(started).size() == 1);
    CHECK(alerts.deployment(started).size() == 1);
}

TEST_CASE("notify alerts: save and restore carry everything across a restart", "[notify][alerts]") {
    Alerts before(thresholds(1h, 10min, 15min));
    CHECK(before.deployment(outcome(Kind::RolledBack, k_start, 1)).size() == 1);
    CHECK(before.deployment(outcome(Kind::RolledBack, k_start + 1min, 2)).empty());
    CHECK(before.poll_failed("shop", "refused", k_start).empty());  // failing, not yet sent
    CHECK(before.poll_failed("cart", "refused", k_start).empty());
    CHECK(before.poll_failed("cart", "refused", k_start + 15min).size() == 1);

    Alerts after(thresholds(1h, 10min, 15min));
    REQUIRE(after.restore(before.save()));
    CHECK(after.save() == before.save());
    // The rolled-back release stays sent: not again within the hour, then with its count.
    CHECK(after.deployment(outcome(Kind::RolledBack, k_start + 59min, 3)).empty());
    auto again = after.deployment(outcome(Kind::RolledBack, k_start + 60min, 4));
    REQUIRE(again.size() == 1);
    CHECK(again[0].repeats == 3);
    CHECK(again[0].since == k_start);
    // shop's polls have been failing since k_start: sent at 15 minutes, not from the restart.
    auto failing = after.poll_failed("shop", "refused", k_start + 15min);
    REQUIRE(kinds(failing) == std::vector<Kind>{Kind::PollFailing});
    CHECK(failing[0].since == k_start);
    // cart's problem was sent before: a working poll resolves it.
    auto ok = after.poll_ok("cart", k_start + 16min);
    REQUIRE(kinds(ok) == std::vector<Kind>{Kind::Resolved});
    CHECK(ok[0].since == k_start + 15min);
    // And the promotion resolves the rollback.
    CHECK(kinds(after.deployment(outcome(Kind::Succeeded, k_start + 61min, 5))) ==
          std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
}

TEST_CASE("notify alerts: restore refuses what save does not write", "[notify][alerts]") {
    Alerts alerts(thresholds());
    CHECK(alerts.deployment(outcome(Kind::Failed, k_start, 1)).size() == 1);
    for (const std::string bad :
         {"", "[]", "{", "{\"deployments\": {}}", "{\"deployments\": [], \"polls\": {}}",
          "{\"deployments\": {\"shop\": 1}, \"polls\": {}}",
          "{\"deployments\": {\"shop\": {\"open\": {\"kind\": \"exploded\", \"fingerprint\": "
          "\"x\", \"first_sent\": 0, \"last_sent\": 0, \"seen_since\": 0}}}, \"polls\": {}}",
          "{\"deployments\": {\"shop\": {\"open\": {\"kind\": \"failed\"}}}, \"polls\": {}}"}) {
        INFO(bad);
        CHECK_FALSE(alerts.restore(bad));
        // Nothing remembered: the same failure is sent as a first one.
        CHECK(alerts.deployment(outcome(Kind::Failed, k_start + 1min, 2)).size() == 1);
    }
    CHECK(alerts.restore("{\"deployments\": {}, \"polls\": {}}"));
}

TEST_CASE("notify alerts: a release waiting for approval is sent at once; its success resolves "
          "nothing",
          "[notify][alerts][approval]") {
    Alerts alerts(thresholds(1h, 10min));
    auto waits = outcome(Kind::Approval, k_start, 4);
    waits.since = k_start;  // no waiting_after: an approver is wanted now
    REQUIRE(kinds(alerts.deployment(waits)) == std::vector<Kind>{Kind::Approval});
    waits.at = k_start + 5min;
    CHECK(alerts.deployment(waits).empty());  // the same wait, within the repeat interval
    waits.at = k_start + 61min;
    CHECK(kinds(alerts.deployment(waits)) == std::vector<Kind>{Kind::Approval});  // a reminder
    // Approved and deployed: the success is the news, no "approval resolved".
    CHECK(kinds(alerts.deployment(outcome(Kind::Succeeded, k_start + 62min, 4))) ==
          std::vector<Kind>{Kind::Succeeded});
    // A failure after an approval is a problem of its own, resolved by the next success.
    REQUIRE(kinds(alerts.deployment(outcome(Kind::Approval, k_start + 70min, 5, "bbbb"))) ==
            std::vector<Kind>{Kind::Approval});
    CHECK(kinds(alerts.deployment(outcome(Kind::RolledBack, k_start + 71min, 5, "bbbb"))) ==
          std::vector<Kind>{Kind::RolledBack});
    CHECK(kinds(alerts.deployment(outcome(Kind::Succeeded, k_start + 80min, 6, "cccc"))) ==
          std::vector<Kind>{Kind::Succeeded, Kind::Resolved});
    CHECK(notify::parse_kind("approval") == Kind::Approval);
    CHECK(notify::summary(outcome(Kind::Approval, k_start, 7)) ==
          "shop: aaaa waits for approval (deployment 7): reason 7");
}

TEST_CASE("notify alerts: drift is sent once while it goes on, then resolved", "[notify][alerts]") {
    Alerts alerts(thresholds(1h));
    const auto drift = [](sys::TimePoint at, const std::string& why) {
        Notification n = outcome(Kind::Drifted, at, 1);
        n.reason = why;
        return n;
    };
    // no drift, none before: nothing to say
    CHECK(alerts.drift(drift(k_start, ""), false).empty());
    auto sent = alerts.drift(drift(k_start, "web: no container"), true);
    REQUIRE(kinds(sent) == std::vector<Kind>{Kind::Drifted});
    CHECK(sent[0].reason == "web: no container");
    // found by every poll (also in other words): not sent again within the repeat interval
    CHECK(alerts.drift(drift(k_start + 1min, "web: container x is exited (137)"), true).empty());
    // a promotion does not resolve it: drift is tracked apart
    CHECK(kinds(alerts.deployment(outcome(Kind::Succeeded, k_start + 2min, 2))) ==
          std::vector<Kind>{Kind::Succeeded});
    // carried across a restart
    Alerts after(thresholds(1h));
    REQUIRE(after.restore(alerts.save()));
    CHECK(after.drift(drift(k_start + 3min, "web: no container"), true).empty());
    auto resolved = after.drift(drift(k_start + 4min, ""), false);
    REQUIRE(kinds(resolved) == std::vector<Kind>{Kind::Resolved});
    CHECK(resolved[0].resolves == Kind::Drifted);
    CHECK(resolved[0].since == k_start);
    CHECK(after.drift(drift(k_start + 5min, ""), false).empty());
}

}  // namespace unit_notify_alerts_test
