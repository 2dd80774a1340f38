#include "agent/sys/log_context.h"

#include <catch2/catch.hpp>

#include <thread>

namespace unit_sys_log_context_test {

using namespace agentd::sys;

TEST_CASE("log context: scopes nest and restore the context before them", "[sys][log]") {
    CHECK(current_log_context().stack.empty());
    {
        const LogScope stack("shop");
        CHECK(current_log_context().stack == "shop");
        CHECK_FALSE(current_log_context().deployment);
        {
            const LogScope deployment("shop", 7);
            CHECK(current_log_context().stack == "shop");
            CHECK(current_log_context().deployment == 7);
        }
        CHECK(current_log_context().stack == "shop");
        CHECK_FALSE(current_log_context().deployment);
    }
    CHECK(current_log_context().stack.empty());
}

TEST_CASE("log context: each thread has its own", "[sys][log]") {
    const LogScope stack("shop");
    std::string seen = "unset";
    std::thread other([&] {
        seen = current_log_context().stack;
        const LogScope own("blog");
    });
    other.join();
    CHECK(seen.empty());
    CHECK(current_log_context().stack == "shop");
}

}  // namespace unit_sys_log_context_test
