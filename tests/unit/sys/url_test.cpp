#include "agent/sys/url.h"

#include <catch2/catch.hpp>

namespace unit_sys_url_test {

using namespace agentd;

TEST_CASE("url: the RFC 3986 unreserved characters pass, everything else is encoded",
          "[sys][url]") {
    const std::string unreserved =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    CHECK(sys::url_encode(unreserved) == unreserved);
    // RFC 3986 section 2.2's reserved set, each encoded.
    CHECK(sys::url_encode(":/?#[]@!$&'()*+,;=") ==
          "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D");
    CHECK(sys::url_encode("a b%c\"") == "a%20b%25c%22");
    CHECK(sys::url_encode("repository:acme/web:pull") == "repository%3Aacme%2Fweb%3Apull");
    CHECK(sys::url_encode(R"({"label":["x=y"]})") == "%7B%22label%22%3A%5B%22x%3Dy%22%5D%7D");
    CHECK(sys::url_encode("") == "");
}

TEST_CASE("url: control and non-ASCII bytes are encoded byte by byte, upper-case hex",
          "[sys][url]") {
    CHECK(sys::url_encode(std::string_view("\0\n\x7f", 3)) == "%00%0A%7F");
    CHECK(sys::url_encode("\xc3\xa9") == "%C3%A9");  // "é" in UTF-8
    CHECK(sys::url_encode("\xff") == "%FF");
}

}  // namespace unit_sys_url_test
