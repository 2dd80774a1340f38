#include "agent/sys/semaphore.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>
#include <vector>

namespace unit_sys_semaphore_test {

using agentd::sys::Semaphore;
using namespace std::chrono_literals;

TEST_CASE("semaphore: at most N holders; the next waits until one gives its slot back",
          "[sys][semaphore]") {
    Semaphore slots(2);
    std::atomic<bool> stop = false;
    REQUIRE(slots.acquire(stop));
    REQUIRE(slots.try_acquire());
    CHECK(slots.held() == 2);
    CHECK_FALSE(slots.try_acquire());
    std::atomic<bool> third = false;
    auto waiter = std::async(std::launch::async, [&] {
        const bool got = slots.acquire(stop);
        third = true;
        return got;
    });
    // Still waiting while both are held (it has had every chance to wake, several times over).
    CHECK(waiter.wait_for(600ms) == std::future_status::timeout);
    CHECK_FALSE(third);
    slots.release();
    CHECK(waiter.get());
    CHECK(slots.held() == 2);
    slots.release();
    slots.release();
    CHECK(slots.held() == 0);
}

TEST_CASE("semaphore: stopping ends a wait without a slot", "[sys][semaphore]") {
    Semaphore slots(1);
    std::atomic<bool> stop = false;
    REQUIRE(slots.acquire(stop));
    auto waiter = std::async(std::launch::async, [&] { return slots.acquire(stop); });
    stop = true;
    CHECK(waiter.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(waiter.get());
    CHECK(slots.held() == 1);
    // A free slot is still taken when stopping: only a wait ends early.
    slots.release();
    CHECK(slots.acquire(stop));
}

TEST_CASE("semaphore: many threads never hold more than N at once", "[sys][semaphore]") {
    Semaphore slots(3);
    std::atomic<bool> stop = false;
    std::atomic<int> inside = 0;
    std::atomic<int> most = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                if (!slots.acquire(stop))
                    return;
                const int now = ++inside;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::yield();
                --inside;
                slots.release();
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(most.load() <= 3);
    CHECK(most.load() >= 1);
    CHECK(slots.held() == 0);
}

}  // namespace unit_sys_semaphore_test
