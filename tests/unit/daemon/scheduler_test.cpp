#include "agent/daemon/scheduler.h"

#include <catch2/catch.hpp>

#include "tests/unit/daemon/fake_clock.h"

namespace unit_daemon_scheduler_test {

using namespace agentd;
using namespace std::chrono_literals;
using daemon::Scheduler;
using daemon::testing::FakeClock;

TEST_CASE("scheduler: a new stack is due at once", "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, [] { return 0.0; });
    s.set_stacks({{"shop", 60s}, {"blog", 30s}});
    const auto due = s.due();
    REQUIRE(due.size() == 2);
    REQUIRE(s.next_due() == clock.t);
}

TEST_CASE("scheduler: after a cycle the stack is due after its interval", "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, [] { return 0.0; });
    s.set_stacks({{"shop", 60s}});
    s.cycle_done("shop");
    REQUIRE(s.due().empty());
    REQUIRE(s.due_at("shop") == clock.t + 60s);
    clock.t += 59s;
    REQUIRE(s.due().empty());
    clock.t += 1s;
    REQUIRE(s.due() == std::vector<std::string>{"shop"});
}

TEST_CASE("scheduler: jitter adds up to 10% of the interval", "[daemon]") {
    FakeClock clock;
    double r = 0.5;
    Scheduler s(clock, [&] { return r; });
    s.set_stacks({{"shop", 100s}});
    s.cycle_done("shop");
    REQUIRE(s.due_at("shop") == clock.t + 105s);
    r = 0.999;
    s.cycle_done("shop");
    REQUIRE(*s.due_at("shop") < clock.t + 110s);
    REQUIRE(*s.due_at("shop") > clock.t + 109s);
    r = 7.0;  // a broken random source never pushes past 10%
    s.cycle_done("shop");
    REQUIRE(s.due_at("shop") == clock.t + 110s);
}

TEST_CASE("scheduler: the real random source stays within the jitter bound", "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, daemon::make_random_source());
    s.set_stacks({{"shop", 1000s}});
    for (int i = 0; i < 200; ++i) {
        s.cycle_done("shop");
        REQUIRE(*s.due_at("shop") >= clock.t + 1000s);
        REQUIRE(*s.due_at("shop") <= clock.t + 1100s);
    }
}

TEST_CASE("scheduler: due stacks come earliest first", "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, [] { return 0.0; });
    s.set_stacks({{"a", 20s}, {"b", 10s}});
    s.cycle_done("a");
    s.cycle_done("b");
    clock.t += 30s;
    REQUIRE(s.due() == std::vector<std::string>{"b", "a"});
}

TEST_CASE("scheduler: set_stacks keeps due times, caps them and forgets removed stacks",
          "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, [] { return 0.0; });
    s.set_stacks({{"a", 600s}, {"b", 60s}});
    s.cycle_done("a");
    s.cycle_done("b");
    clock.t += 10s;
    s.set_stacks({{"a", 60s}, {"c", 60s}});
    REQUIRE(s.due_at("a") == clock.t + 60s);  // shortened interval applies now
    REQUIRE_FALSE(s.due_at("b").has_value());
    REQUIRE(s.due() == std::vector<std::string>{"c"});
    REQUIRE(s.next_due(std::set<std::string>{"c"}) == clock.t + 60s);
}

TEST_CASE("scheduler: stacks of one repository and interval poll in rounds", "[daemon]") {
    FakeClock clock;
    double r = 0.5;
    Scheduler s(clock, [&] { return r; });
    s.set_stacks({{"shop", 100s, "https://git.example/deploy.git"},
                  {"blog", 100s, "https://git.example/deploy.git"},
                  {"wiki", 100s, "https://git.example/other.git"},
                  {"cron", 50s, "https://git.example/deploy.git"},
                  {"dir", 100s}});
    // The first cycle of the round to end sets the next round, jitter and all.
    s.cycle_done("shop");
    const auto round = clock.t + 105s;
    REQUIRE(s.due_at("shop") == round);
    // The others of the round join it, whenever they end and whatever jitter they would draw.
    clock.t += 7s;
    r = 0.1;
    s.cycle_done("blog");
    CHECK(s.due_at("blog") == round);
    // Another repository, another interval, or no repository: each on its own.
    s.cycle_done("wiki");
    CHECK(s.due_at("wiki") == clock.t + 101s);
    s.cycle_done("cron");
    CHECK(s.due_at("cron") == clock.t + 50500ms);
    s.cycle_done("dir");
    CHECK(s.due_at("dir") == clock.t + 101s);
    // Both come due together; once the round has begun, a cycle that ends starts the next.
    clock.t = round;
    CHECK(s.due() == std::vector<std::string>{"cron", "blog", "shop"});
    clock.t += 2s;
    s.cycle_done("blog");
    CHECK(s.due_at("blog") == clock.t + 101s);
    s.cycle_done("shop");
    CHECK(s.due_at("shop") == clock.t + 101s);
}

TEST_CASE("scheduler: the polls of one round are asked for when its first one is taken",
          "[daemon]") {
    FakeClock clock;
    Scheduler s(clock, [] { return 0.0; });
    s.set_stacks({{"shop", 60s, "https://git.example/deploy.git"},
                  {"blog", 60s, "https://git.example/deploy.git"},
                  {"dir", 60s}});
    const Scheduler::Steady start{};
    CHECK(s.taken("shop", start + 1s) == start + 1s);
    // Taken later (the workers were busy), it still belongs to the round begun at 1s.
    CHECK(s.taken("blog", start + 4s) == start + 1s);
    CHECK(s.taken("dir", start + 5s) == start + 5s);
    // The next round begins when its first poll is taken.
    s.cycle_done("shop");
    s.cycle_done("blog");
    clock.t += 60s;
    CHECK(s.taken("blog", start + 70s) == start + 70s);
    CHECK(s.taken("shop", start + 71s) == start + 70s);
    // A stack that left the round (reloaded with another interval) is asked for on its own.
    s.set_stacks({{"shop", 30s, "https://git.example/deploy.git"},
                  {"blog", 60s, "https://git.example/deploy.git"}});
    CHECK(s.taken("shop", start + 80s) == start + 80s);
    CHECK(s.taken("blog", start + 81s) == start + 70s);
}

}  // namespace unit_daemon_scheduler_test
