#include "agent/sys/quote.h"

#include <catch2/catch.hpp>

namespace unit_sys_quote_test {

using namespace agentd;

TEST_CASE("quote: printable names are shown in quotes as they are", "[sys][quote]") {
    CHECK(sys::quoted("v1.2.0") == "\"v1.2.0\"");
    CHECK(sys::quoted("") == "\"\"");
    CHECK(sys::quoted("--privileged") == "\"--privileged\"");
    CHECK(sys::quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
}

TEST_CASE("quote: control characters and other bytes cannot forge a line or drive a terminal",
          "[sys][quote]") {
    CHECK(sys::quoted("v1\nlevel=info msg=forged") == "\"v1\\nlevel=info msg=forged\"");
    CHECK(sys::quoted("a\rb\tc") == "\"a\\rb\\tc\"");
    CHECK(sys::quoted("\x1b[31mred") == "\"\\x1b[31mred\"");
    CHECK(sys::quoted(std::string_view("a\0b", 3)) == "\"a\\x00b\"");
    CHECK(sys::quoted("\x7f\xc3\xa9") == "\"\\x7f\\xc3\\xa9\"");
}

TEST_CASE("quote: long names are cut and their length said", "[sys][quote]") {
    const std::string long_name(10240, 'a');
    const auto shown = sys::quoted(long_name);
    CHECK(shown == "\"" + std::string(sys::k_quoted_max, 'a') + "\"... (10240 bytes)");
    CHECK(sys::quoted("abcdef", 3) == "\"abc\"... (6 bytes)");
    CHECK(sys::quoted("abc", 3) == "\"abc\"");
    // Escapes never grow a shown name past four bytes per input byte.
    CHECK(sys::quoted(std::string(10240, '\n')).size() < 4 * sys::k_quoted_max + 32);
}

}  // namespace unit_sys_quote_test
