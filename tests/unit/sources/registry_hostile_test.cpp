// Hostile names from registries and compose files: refused or skipped with an error that names
// them escaped and capped, never passed on.

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/sources/image_ref.h"
#include "agent/sources/registry_client.h"
#include "agent/sys/quote.h"
#include "tests/unit/log_capture.h"

namespace unit_sources_registry_hostile_test {

using namespace agentd;
using sources::ImageRef;
using sources::RegistryClient;
using sys::HttpRequest;
using sys::HttpResponse;

namespace {

class FakeHttp final : public sys::HttpClient {
public:
    std::function<sys::Result<HttpResponse>(const HttpRequest&)> handler;
    std::vector<HttpRequest> requests;
    sys::Result<HttpResponse> send(const HttpRequest& request) override {
        requests.push_back(request);
        return handler(request);
    }
};

HttpResponse respond(long status, std::vector<std::pair<std::string, std::string>> headers = {},
                     std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
}

/// True when `text` holds no control character: it cannot forge a log line or an answer.
bool one_line(const std::string& text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
            return false;
        }
    }
    return text.find('\n') == text.size() - 1 || text.find('\n') == std::string::npos;
}

}  // namespace

TEST_CASE("image refs: injected options and hostile names are refused, named escaped and capped",
          "[sources][image]") {
    const std::vector<std::string> hostile = {
        "--privileged",
        "-v/:/host",
        "busybox --privileged",
        "busybox:1 -v /:/host",
        "ghcr.io/acme/web:--privileged",
        "ghcr.io/-v/web:1",
        "web:1\nlevel=info msg=forged",
        "web@sha256:--privileged",
        "ghcr.io/acme/web:" + std::string(10240, 'a'),
        std::string(10240, 'a'),
        "../../etc/passwd",
        "web:v1/../x",
    };
    for (const auto& text : hostile) {
        INFO(text.substr(0, 60));
        const auto ref = ImageRef::parse(text);
        REQUIRE_FALSE(ref.ok());
        CHECK(ref.error().kind == sys::Error::Kind::InvalidInput);
        const auto& message = ref.error().message;
        CHECK(message.find('\n') == std::string::npos);
        CHECK(message.size() < 700);
    }
    const auto forged = ImageRef::parse("web:1\nlevel=info msg=forged");
    CHECK(forged.error().message.rfind(R"(invalid image reference "web:1\nlevel=info msg=forged":)",
                                       0) == 0);
    const auto long_name = ImageRef::parse(std::string(10240, 'a'));
    CHECK_THAT(long_name.error().message, Catch::Contains("... (10240 bytes)"));
}

TEST_CASE("registry: hostile names in a tag list are skipped with one warning naming them",
          "[sources][registry]") {
    const std::string long_tag(10240, 'v');
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        nlohmann::json body = {{"name", "acme/web"},
                               {"tags",
                                {"1.0.0", "--privileged", "-v/:/host", "a/b", "../x", "v1\nv2",
                                 "v\x1b[2J", long_tag, "", "1.1.0"}}};
        return respond(200, {}, body.dump());
    };
    RegistryClient client(http, {});
    testing::LogCapture log;
    const auto tags = client.list_tags(*ImageRef::parse("127.0.0.1:5000/acme/web"));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{"1.0.0", "1.1.0"});
    const auto text = log.text();
    INFO(text);
    CHECK(one_line(text));
    CHECK_THAT(text, Catch::StartsWith("warning registry 127.0.0.1:5000: skipping 8 invalid tag(s) "
                                       "of acme/web (\"--privileged\", \"-v/:/host\", \"a/b\", "
                                       "...)"));
    CHECK(text.size() < 600);
}

TEST_CASE("registry: a long tag is named capped in the warning", "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        nlohmann::json body = {{"tags", {std::string(10240, 'v'), "v1\nforged"}}};
        return respond(200, {}, body.dump());
    };
    RegistryClient client(http, {});
    testing::LogCapture log;
    const auto tags = client.list_tags(*ImageRef::parse("127.0.0.1:5000/acme/web"));
    REQUIRE(tags.ok());
    CHECK(tags->empty());
    const auto text = log.text();
    CHECK(one_line(text));
    CHECK_THAT(text, Catch::Contains("\"" + std::string(sys::k_quoted_max, 'v') +
                                     "\"... (10240 bytes), \"v1\\nforged\""));
}

TEST_CASE("registry: hostile WWW-Authenticate realms and services are refused, named capped",
          "[sources][registry]") {
    const std::vector<std::pair<std::string, std::string>> challenges = {
        {"Bearer realm=\"https://auth.example.com/" + std::string(10240, 'r') + "\"",
         "without a usable realm: \"https://auth.example.com/rrr"},
        {"Bearer realm=\"https://auth.example.com/t\",service=\"" + std::string(4096, 's') + "\"",
         "with a service of \"sss"},
        {"Bearer realm=\"http://127.evil.example/token\"", "token realm \"http://127.evil.example"},
        {"Bearer realm=\"http://127.0.0.1.nip.io/token\"", "is not an https URL"},
        {"Bearer realm=\"https://auth.example.com/t x\"", "without a usable realm"},
    };
    for (const auto& [challenge, expected] : challenges) {
        INFO(challenge.substr(0, 80));
        FakeHttp http;
        // clang 14 cannot capture a structured binding: capture a copy by name.
        http.handler = [&, challenge = challenge](const HttpRequest&) {
            return respond(401, {{"www-authenticate", challenge}});
        };
        RegistryClient client(http, {});
        const auto digest = client.resolve_digest(*ImageRef::parse("ghcr.io/acme/web:1"));
        REQUIRE_FALSE(digest.ok());
        CHECK_THAT(digest.error().message, Catch::Contains(expected));
        CHECK(digest.error().message.size() < 400);
        CHECK(http.requests.size() == 1);  // no token request went out
    }
}

TEST_CASE("registry: the token request's scope is ours, whatever the challenge asks for",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(200, {}, R"({"token":"t"})");
        }
        if (request.headers.empty() || request.headers.back().second != "Bearer t") {
            return respond(
                401, {{"www-authenticate", R"(Bearer realm="https://auth.example.com/token",)"
                                           R"(service="a&b=c d",scope="repository:*:push,pull")"}});
        }
        return respond(200, {{"docker-content-digest",
                              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
                              "abcdef"}});
    };
    RegistryClient client(http, {});
    REQUIRE(client.resolve_digest(*ImageRef::parse("ghcr.io/acme/web:1")).ok());
    REQUIRE(http.requests.size() == 3);
    CHECK(http.requests[1].url ==
          "https://auth.example.com/token?service=a%26b%3Dc%20d&scope=repository%3Aacme%2Fweb%"
          "3Apull");
}

TEST_CASE("registry: a hostile Docker-Content-Digest is named escaped", "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.method == "HEAD") {
            return respond(200);
        }
        return respond(200, {{"docker-content-digest", "sha256:x\nlevel=info forged"}}, "{}");
    };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(*ImageRef::parse("127.0.0.1:5000/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().message.find('\n') == std::string::npos);
    CHECK_THAT(digest.error().message, Catch::Contains(R"("sha256:x\nlevel=info forged")"));
}

}  // namespace unit_sources_registry_hostile_test
