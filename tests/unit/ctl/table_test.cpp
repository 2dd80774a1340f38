#include "agent/ctl/table.h"

#include <catch2/catch.hpp>

namespace unit_ctl_table_test {

using namespace agentd;
using namespace std::chrono_literals;

TEST_CASE("table: columns are aligned and trailing spaces trimmed", "[ctl]") {
    ctl::Table t({"STACK", "STATE", "NOTES"});
    t.add_row({"shop", "running", ""});
    t.add_row({"blog-äö", "failed", "PAUSED"});
    REQUIRE(t.render() ==
            "STACK    STATE    NOTES\n"
            "shop     running\n"
            "blog-äö  failed   PAUSED\n");
}

TEST_CASE("table: relative times use one unit", "[ctl]") {
    const sys::TimePoint now = std::chrono::system_clock::from_time_t(1'800'000'000);
    REQUIRE(ctl::relative_time(now, now - 2s) == "just now");
    REQUIRE(ctl::relative_time(now, now - 45s) == "45s ago");
    REQUIRE(ctl::relative_time(now, now - 150s) == "2m ago");
    REQUIRE(ctl::relative_time(now, now - 3h - 5min) == "3h ago");
    REQUIRE(ctl::relative_time(now, now - 24h * 5) == "5d ago");
    REQUIRE(ctl::relative_time(now, now + 120s) == "in 2m");
    REQUIRE(ctl::relative_time(now, sys::format_rfc3339(now - 60s)) == "1m ago");
    REQUIRE(ctl::relative_time(now, std::string("garbage")) == "-");
    REQUIRE(ctl::relative_time(now, std::string()) == "-");
}

TEST_CASE("table: durations, revisions, images and long text are shortened", "[ctl]") {
    REQUIRE(ctl::human_duration(42s) == "42s");
    REQUIRE(ctl::human_duration(95s) == "1m35s");
    REQUIRE(ctl::human_duration(3720s) == "1h2m");
    REQUIRE(ctl::short_revision("0123456789abcdef0123") == "0123456789ab");
    REQUIRE(ctl::short_revision("abc") == "abc");
    REQUIRE(ctl::short_image("ghcr.io/acme/web:2.3@sha256:00112233445566778899aabbccddeeff") ==
            "ghcr.io/acme/web:2.3@sha256:001122334455");
    REQUIRE(ctl::short_image("busybox:latest") == "busybox:latest");
    REQUIRE(ctl::one_line("a\nb", 10) == "a b");
    REQUIRE(ctl::one_line("abcdefghijkl", 8) == "abcde...");
}

}  // namespace unit_ctl_table_test
