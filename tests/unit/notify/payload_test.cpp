#include "agent/notify/payload.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace unit_notify_payload_test {

using namespace agentd;
using nlohmann::json;
using notify::Format;
using notify::Kind;
using notify::Notification;

namespace {

const std::string k_digest = "sha256:" + std::string(64, 'a');

Notification rolled_back() {
    Notification n;
    n.stack = "shop";
    n.kind = Kind::RolledBack;
    n.deployment = 12;
    n.revision = "3f2a9c1d0e4b5a6978812233445566778899aabb";
    n.tag = "v1.4.0";
    n.images = {{"web", "registry.example/shop/web:1.4.0@" + k_digest}};
    n.reason = "web: unhealthy";
    n.at = sys::TimePoint(std::chrono::seconds(1764842400));
    return n;
}

std::string header(const notify::Message& m, const std::string& name) {
    for (const auto& [k, v] : m.headers) {
        if (k == name) {
            return v;
        }
    }
    FAIL("no header " << name);
    return "";
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("notify payload: formats parse by name", "[notify][payload]") {
    for (Format f : {Format::Generic, Format::Slack, Format::Discord, Format::Ntfy}) {
        CHECK(notify::parse_format(notify::to_string(f)) == f);
    }
    CHECK_FALSE(notify::parse_format("json"));
    CHECK_FALSE(notify::parse_format("Slack"));
}

TEST_CASE("notify payload: generic is the documented JSON object", "[notify][payload]") {
    notify::Message m = notify::render(Format::Generic, rolled_back());
    CHECK(m.content_type == "application/json");
    CHECK(m.headers.empty());
    json j = json::parse(m.body);
    CHECK(j["version"] == 1);
    CHECK(j["event"] == "rolled_back");
    CHECK(j["stack"] == "shop");
    CHECK(j["deployment"] == 12);
    CHECK(j["release"]["revision"] == "3f2a9c1d0e4b5a6978812233445566778899aabb");
    CHECK(j["release"]["tag"] == "v1.4.0");
    CHECK(j["release"]["images"]["web"] == "registry.example/shop/web:1.4.0@" + k_digest);
    CHECK(j["reason"] == "web: unhealthy");
    CHECK(j["at"] == "2025-12-04T10:00:00Z");
    CHECK(j["summary"] == notify::summary(rolled_back()));
    CHECK_FALSE(j.contains("since"));
    CHECK_FALSE(j.contains("resolves"));
    CHECK_FALSE(j.contains("repeats"));
}

TEST_CASE("notify payload: generic carries since, resolves and repeats when they apply",
          "[notify][payload]") {
    Notification n;
    n.stack = "shop";
    n.kind = Kind::Resolved;
    n.resolves = Kind::PollFailing;
    n.since = sys::TimePoint(std::chrono::seconds(1764842400));
    n.repeats = 4;
    json j = json::parse(notify::render(Format::Generic, n).body);
    CHECK(j["event"] == "resolved");
    CHECK(j["resolves"] == "poll_failing");
    CHECK(j["since"] == "2025-12-04T10:00:00Z");
    CHECK(j["repeats"] == 4);
    CHECK_FALSE(j.contains("deployment"));
}

TEST_CASE("notify payload: slack is an incoming webhook's text, its markup escaped",
          "[notify][payload]") {
    Notification n = rolled_back();
    n.reason = "<!channel> & <https://evil|click>";
    notify::Message m = notify::render(Format::Slack, n);
    CHECK(m.content_type == "application/json");
    json j = json::parse(m.body);
    REQUIRE(j["text"].is_string());
    std::string text = j["text"];
    CHECK(text ==
          "shop: v1.4.0 (3f2a9c1) rolled back (deployment 12): &lt;!channel&gt; &amp; "
          "&lt;https://evil|click&gt;");
    CHECK(text.find('<') == std::string::npos);
}

TEST_CASE("notify payload: discord's content stays within 2000 characters and mentions no one",
          "[notify][payload]") {
    Notification n = rolled_back();
    notify::Message m = notify::render(Format::Discord, n);
    json j = json::parse(m.body);
    CHECK(j["content"] == notify::summary(n));
    CHECK(j["allowed_mentions"]["parse"] == json::array());
    // A long reason of multi-byte characters: cut at 2000 code points, on a boundary.
    n.reason.clear();
    for (int i = 0; i < 3000; ++i) {
        n.reason += "\xC3\xA9";  // é
    }
    j = json::parse(notify::render(Format::Discord, n).body);
    std::string content = j["content"];
    CHECK(code_points(content) == 2000);
    CHECK(content.size() > 2000);
    CHECK(content.substr(content.size() - 3) == "\xE2\x80\xA6");
    CHECK(content.rfind("shop: v1.4.0", 0) == 0);
}

TEST_CASE("notify payload: ntfy is a plain-text body with title, priority and tags",
          "[notify][payload]") {
    notify::Message m = notify::render(Format::Ntfy, rolled_back());
    CHECK(m.content_type == "text/plain; charset=utf-8");
    CHECK(m.body == notify::summary(rolled_back()));
    CHECK(header(m, "Title") == "agentd: shop rolled back");
    CHECK(header(m, "Priority") == "4");
    CHECK(header(m, "Tags") == "rewind,warning");
    Notification ok = rolled_back();
    ok.kind = Kind::Succeeded;
    notify::Message s = notify::render(Format::Ntfy, ok);
    CHECK(header(s, "Priority") == "3");
    CHECK(header(s, "Tags") == "white_check_mark");
    // Headers never carry a value from outside, so none can split a header.
    Notification evil = rolled_back();
    evil.reason = "x\r\nX-Injected: 1";
    evil.tag = "t\r\n";
    for (const auto& [name, value] : notify::render(Format::Ntfy, evil).headers) {
        CHECK(value.find_first_of("\r\n") == std::string::npos);
    }
}

TEST_CASE("notify payload: ntfy's body stays within 4096 bytes", "[notify][payload]") {
    Notification n = rolled_back();
    n.reason = std::string(1000, 'x');
    for (int i = 0; i < 2000; ++i) {
        n.reason += "\xE2\x82\xAC";  // €
    }
    std::string body = notify::render(Format::Ntfy, n).body;
    CHECK(body.size() <= notify::k_ntfy_max_bytes);
    CHECK(body.size() >= notify::k_ntfy_max_bytes - 3);
    CHECK(body.substr(body.size() - 3) == "\xE2\x80\xA6");
    // Still valid UTF-8: the JSON parser accepts it as a string.
    CHECK_NOTHROW(json::parse(json(body).dump()));
}

TEST_CASE("notify payload: invalid UTF-8 from outside is replaced in every format",
          "[notify][payload]") {
    Notification n = rolled_back();
    n.reason = "bad \xFF\xFE bytes";
    for (Format f : {Format::Generic, Format::Slack, Format::Discord, Format::Ntfy}) {
        notify::Message m = notify::render(f, n);
        CHECK(m.body.find('\xFF') == std::string::npos);
        CHECK(m.body.find("bytes") != std::string::npos);
    }
}

TEST_CASE("notify payload: truncation never cuts a UTF-8 sequence", "[notify][payload]") {
    CHECK(notify::truncate_code_points("abc", 3) == "abc");
    CHECK(notify::truncate_code_points("abcd", 3) == "ab\xE2\x80\xA6");
    CHECK(notify::truncate_code_points("\xC3\xA9\xC3\xA9\xC3\xA9", 2) == "\xC3\xA9\xE2\x80\xA6");
    CHECK(notify::truncate_code_points("abcd", 0).empty());
    CHECK(notify::truncate_bytes("abcdef", 6) == "abcdef");
    CHECK(notify::truncate_bytes("abcdefg", 6) == "abc\xE2\x80\xA6");
    // "a" then "€" (3 bytes) then "b": 5 bytes allowed leaves 2 for text, and "€" does not fit.
    CHECK(notify::truncate_bytes("a\xE2\x82\xAC"
                                 "bcd",
                                 5) == "a\xE2\x80\xA6");
    CHECK(notify::truncate_bytes("abcdef", 2).empty());
}

}  // namespace unit_notify_payload_test
