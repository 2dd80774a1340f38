#include "agent/sys/net.h"

#include <catch2/catch.hpp>

namespace unit_sys_net_test {

using namespace agentd;

TEST_CASE("net: authorities split into host and port", "[sys][net]") {
    using HP = std::pair<std::string, std::optional<std::uint16_t>>;
    const auto split = [](std::string_view authority) -> std::optional<HP> {
        const auto parts = sys::split_host_port(authority);
        return parts ? std::optional(HP{parts->host, parts->port}) : std::nullopt;
    };
    CHECK(split("ghcr.io") == HP{"ghcr.io", std::nullopt});
    CHECK(split("127.0.0.1:5000") == HP{"127.0.0.1", 5000});
    CHECK(split("[::1]") == HP{"::1", std::nullopt});
    CHECK(split("[::1]:5000") == HP{"::1", 5000});
    CHECK(split("localhost:65535") == HP{"localhost", 65535});
    for (const char* bad : {"", ":5000", "[]", "[::1", "[::1]x", "[::1]:", "host:", "host:0",
                            "host:65536", "host:05000", "host:+80", "host:8o", "::1", "a:b:c",
                            "user@host", "host/path", "host?x", "host#x"}) {
        INFO(bad);
        CHECK_FALSE(sys::split_host_port(bad));
    }
}

TEST_CASE("net: loopback hosts are localhost, 127.0.0.0/8 and ::1 literals only", "[sys][net]") {
    for (const char* host : {"localhost", "LocalHost", "127.0.0.1", "127.255.1.2", "127.0.0.0",
                             "::1", "0:0:0:0:0:0:0:1", "::0001"}) {
        INFO(host);
        CHECK(sys::is_loopback_host(host));
    }
    // Names that only start like a loopback address, other spellings resolvers accept, and
    // addresses that reach loopback only through a mapping: all refused on purpose.
    for (const char* host : {"",
                             "127.evil.example",
                             "127.0.0.1.nip.io",
                             "127.0.0.1.",
                             "127.1",
                             "127.0.1",
                             "0x7f.1",
                             "0x7f.0.0.1",
                             "0177.0.0.1",
                             "127.0.0.01",
                             "2130706433",
                             "127.0.0.1 ",
                             " 127.0.0.1",
                             "127.0.0.1\n",
                             "126.255.255.255",
                             "128.0.0.1",
                             "0.0.0.0",
                             "::ffff:127.0.0.1",
                             "::127.0.0.1",
                             "::1%lo",
                             "[::1]",
                             "::2",
                             "::",
                             "localhost.",
                             "localhost.evil",
                             "evil.localhost",
                             "xlocalhost",
                             "local host"}) {
        INFO(host);
        CHECK_FALSE(sys::is_loopback_host(host));
    }
    CHECK_FALSE(sys::is_loopback_host(std::string_view("127.0.0.1\0.evil.example", 24)));
}

TEST_CASE("net: loopback authorities carry an optional port", "[sys][net]") {
    for (const char* authority : {"localhost", "LOCALHOST:5000", "127.0.0.1", "127.255.1.2:443",
                                  "[::1]", "[::1]:5000", "[0:0:0:0:0:0:0:1]:80"}) {
        INFO(authority);
        CHECK(sys::is_loopback_authority(authority));
    }
    for (const char* authority : {"",
                                  "localhost.",
                                  "localhost:",
                                  "localhost:0",
                                  "localhost:65536",
                                  "127.0.0",
                                  "127.1:80",
                                  "127.0.0.1.2",
                                  "127.0.0.01x",
                                  "126.0.0.1",
                                  "::1",
                                  "[::1]x",
                                  "[::2]",
                                  "[::ffff:127.0.0.1]",
                                  "127.0.0.1:5000/x",
                                  "127.evil.example:80",
                                  "127.0.0.1.nip.io:5000",
                                  "0x7f.1",
                                  "user@127.0.0.1",
                                  "127.0.0.1@evil.example",
                                  "ghcr.io"}) {
        INFO(authority);
        CHECK_FALSE(sys::is_loopback_authority(authority));
    }
}

}  // namespace unit_sys_net_test
