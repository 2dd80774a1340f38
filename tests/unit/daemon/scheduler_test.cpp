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

}  // namespace unit_daemon_scheduler_test
