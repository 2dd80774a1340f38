#include "agent/daemon/http_message.h"

#include <catch2/catch.hpp>

using namespace agentd;
using daemon::parse_request_head;
using daemon::percent_decode;

TEST_CASE("http message: request line, decoded path and query, Content-Length", "[daemon]") {
    auto head = parse_request_head(
        "POST /v1/stacks/shop%2Dweb/sync?wait=1&limit=20&note=a%20b&flag HTTP/1.1\r\n"
        "Host: localhost\r\nContent-Type: application/json\r\ncontent-length:  17 ");
    REQUIRE(head.ok());
    CHECK(head->method == "POST");
    CHECK(head->path == "/v1/stacks/shop-web/sync");
    CHECK(head->query == std::map<std::string, std::string>{
                             {"wait", "1"}, {"limit", "20"}, {"note", "a b"}, {"flag", ""}});
    CHECK(head->content_length == 17);

    auto get = parse_request_head("GET /v1/status HTTP/1.0");
    REQUIRE(get.ok());
    CHECK(get->path == "/v1/status");
    CHECK(get->query.empty());
    CHECK(get->content_length == 0);
}

TEST_CASE("http message: malformed or unsupported requests are InvalidInput", "[daemon]") {
    for (const char* head : {
             "",
             "GET",
             "GET /v1/status",
             "GET /v1/status HTTP/2",
             "GET v1/status HTTP/1.1",
             "G(T /v1/status HTTP/1.1",
             "GET /v1/%zz HTTP/1.1",
             "GET /v1/a%00b HTTP/1.1",
             "GET /v1/status?x=%4 HTTP/1.1",
             "POST /v1/reload HTTP/1.1\r\nContent-Length: -1",
             "POST /v1/reload HTTP/1.1\r\nContent-Length: 12x",
             "POST /v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked",
             "GET /v1/status HTTP/1.1\r\nno colon here",
             "GET /v1/status HTTP/1.1\r\nX-A: 1\r\n folded",
         }) {
        CAPTURE(head);
        auto parsed = parse_request_head(head);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
    }
}

TEST_CASE("http message: percent decoding", "[daemon]") {
    CHECK(percent_decode("a%20b%2fc") == "a b/c");
    CHECK(percent_decode("plain+text") == "plain+text");  // '+' is not a space in a path
    CHECK_FALSE(percent_decode("%"));
    CHECK_FALSE(percent_decode("%4"));
    CHECK_FALSE(percent_decode("%g0"));
    CHECK_FALSE(percent_decode("%00"));
}

TEST_CASE("http message: responses are JSON and close the connection", "[daemon]") {
    CHECK(daemon::format_response(404, "{}\n") ==
          "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
          "Connection: close\r\n\r\n{}\n");
}
