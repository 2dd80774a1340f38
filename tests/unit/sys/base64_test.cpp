#include "agent/sys/base64.h"

#include <catch2/catch.hpp>

namespace unit_sys_base64_test {

using namespace agentd;

TEST_CASE("base64: RFC 4648 test vectors both ways", "[sys]") {
    const std::pair<const char*, const char*> vectors[] = {
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"user:pa ss", "dXNlcjpwYSBzcw=="},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(sys::base64_encode(plain) == encoded);
        CHECK(sys::base64_decode(encoded) == std::optional<std::string>(plain));
    }
    CHECK(sys::base64_encode("") == "");
}

TEST_CASE("base64: the URL alphabet for Docker's X-Registry-Auth", "[sys]") {
    CHECK(sys::base64_encode("\xfb\xff") == "+/8=");
    CHECK(sys::base64url_encode("\xfb\xff") == "-_8=");
    CHECK(sys::base64url_encode("foo") == "Zm9v");
}

TEST_CASE("base64: malformed input is refused", "[sys]") {
    for (const char* bad : {"", "Zg=", "Zg===", "Z===", "Zg==Zg==", "Zm9v!A==", "Zm=v"}) {
        INFO(bad);
        CHECK_FALSE(sys::base64_decode(bad).has_value());
    }
}

TEST_CASE("base64: padding only at the end", "[sys]") {
    CHECK(sys::base64_decode("dTpw") == std::optional<std::string>("u:p"));
    CHECK(sys::base64_decode("YWI=") == std::optional<std::string>("ab"));
    CHECK_FALSE(sys::base64_decode("Y=Q=").has_value());
    CHECK_FALSE(sys::base64_decode("a!b=").has_value());
}

}  // namespace unit_sys_base64_test
