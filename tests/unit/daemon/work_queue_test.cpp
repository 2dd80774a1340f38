#include "agent/daemon/work_queue.h"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/unit/daemon/fake_clock.h"

namespace unit_daemon_work_queue_test {

using namespace agentd;
using namespace std::chrono_literals;
using daemon::Job;
using daemon::WorkQueue;
using daemon::testing::FakeClock;

namespace {

Job cycle(const std::string& stack) {
    return Job{Job::Kind::Cycle, stack, model::Trigger::Manual, std::nullopt, nullptr};
}

}  // namespace

TEST_CASE("work queue: triggered jobs go before due polls", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.set_stacks({{"a", 60s}, {"b", 60s}});
    REQUIRE(q.push(cycle("b")));
    auto first = q.next();
    REQUIRE(first);
    REQUIRE(first->stack == "b");
    REQUIRE(first->trigger == model::Trigger::Manual);
    auto second = q.next();
    REQUIRE(second);
    REQUIRE(second->stack == "a");
    REQUIRE(second->trigger == model::Trigger::Poll);
}

TEST_CASE("work queue: one job per stack at a time", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.set_stacks({{"a", 60s}});
    auto poll = q.next();
    REQUIRE(poll->stack == "a");
    auto rollback = cycle("a");
    rollback.kind = Job::Kind::Rollback;
    q.push(rollback);
    // The rollback waits for the running poll of the same stack.
    REQUIRE_FALSE(q.try_next().has_value());
    REQUIRE(q.pending() == 1);
    q.finish(*poll);
    auto taken = q.try_next();
    REQUIRE(taken);
    REQUIRE(taken->kind == Job::Kind::Rollback);
}

TEST_CASE("work queue: a finished cycle is not due again before its interval", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.set_stacks({{"a", 60s}});
    auto poll = q.next();
    q.finish(*poll);
    q.push(cycle("x-unknown-marker"));
    auto next = q.next();
    REQUIRE(next->stack == "x-unknown-marker");  // not "a": it is not due yet
    clock.t += 60s;
    auto again = q.next();
    REQUIRE(again->stack == "a");
}

TEST_CASE("work queue: a sync without reply merges into a queued one", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.push(cycle("a"));
    q.push(cycle("a"));
    REQUIRE(q.pending() == 1);
}

TEST_CASE("work queue: stop wakes workers and answers waiting requesters", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.set_stacks({{"a", 60s}});
    auto busy = q.next();
    auto waiting = cycle("a");
    waiting.reply = std::make_shared<std::promise<deploy::CycleResult>>();
    auto answer = waiting.reply->get_future();
    q.push(waiting);
    std::optional<Job> taken = Job{};
    std::thread worker([&] { taken = q.next(); });
    q.stop();
    worker.join();
    REQUIRE_FALSE(taken.has_value());
    REQUIRE(answer.get().outcome == deploy::Outcome::Interrupted);
    REQUIRE_FALSE(q.push(cycle("a")));
}

TEST_CASE("work queue: due polls of one round are asked for when the round began", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    q.set_stacks({{"a", 60s, "https://git.example/deploy.git"},
                  {"b", 60s, "https://git.example/deploy.git"},
                  {"c", 60s}});
    auto a = q.next();
    REQUIRE(a);
    auto b = q.next();
    auto c = q.next();
    REQUIRE(b);
    REQUIRE(c);
    CHECK(b->asked == a->asked);
    CHECK(c->asked > a->asked);
}

TEST_CASE("work queue: a merged trigger keeps the newer time it was asked for", "[daemon]") {
    FakeClock clock;
    WorkQueue q(clock, [] { return 0.0; });
    auto older = cycle("a");
    auto newer = cycle("a");
    older.asked = newer.asked - 5s;
    REQUIRE(q.push(older));
    REQUIRE(q.push(newer));
    REQUIRE(q.pending() == 1);
    auto taken = q.try_next();
    REQUIRE(taken);
    CHECK(taken->asked == newer.asked);
}

}  // namespace unit_daemon_work_queue_test
