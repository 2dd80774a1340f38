#include "agent/sources/registry_client.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "agent/sys/files.h"
#include "agent/sys/http.h"
#include "agent/sys/process.h"
#include "tests/unit/sources/registry_push.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_registry_client_test {

using namespace agentd;
using sources::ImageRef;
using sources::RegistryClient;
using sys::Error;
using sys::HttpRequest;
using sys::HttpResponse;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Records every request and answers with a scripted handler.
class FakeHttp final : public sys::HttpClient {
public:
    std::function<sys::Result<HttpResponse>(const HttpRequest&)> handler;
    std::vector<HttpRequest> requests;

    sys::Result<HttpResponse> send(const HttpRequest& request) override {
        requests.push_back(request);
        return handler(request);
    }
};

class FakeClock final : public sys::Clock {
public:
    sys::TimePoint now() override { return m_now; }
    void sleep_for(sys::Duration d) override {
        m_now += d;
        sleeps.push_back(d);
    }
    std::vector<sys::Duration> sleeps;

private:
    sys::TimePoint m_now = std::chrono::system_clock::from_time_t(1'800'000'000);
};

/// A temporary directory removed afterwards.
using agentd::testing::TempDir;

std::string header(const HttpRequest& request, const std::string& name) {
    for (const auto& [key, value] : request.headers) {
        std::string lowered = key;
        for (char& c : lowered) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (lowered == name) {
            return value;
        }
    }
    return "";
}

HttpResponse respond(long status, std::vector<std::pair<std::string, std::string>> headers = {},
                     std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
}

ImageRef image(const std::string& text) {
    return *ImageRef::parse(text);
}

config::Registry entry_with_password(const TempDir& dir, const std::string& host,
                                     const std::string& password) {
    std::ofstream(dir.path() / "password") << password << "\n";
    config::Registry entry;
    entry.host = host;
    entry.username = "deploy-bot";
    entry.password_file = dir.path() / "password";
    return entry;
}

// "deploy-bot:s3cret" in base64.
const std::string k_basic = "Basic ZGVwbG95LWJvdDpzM2NyZXQ=";

const std::string k_bearer_challenge =
    R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
    R"(scope="repository:acme/web:pull")";

}  // namespace

TEST_CASE("registry: HEAD with the full Accept list returns Docker-Content-Digest",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:2.4.0"));
    REQUIRE(digest.ok());
    CHECK(*digest == k_digest);
    REQUIRE(http.requests.size() == 1);
    const auto& request = http.requests[0];
    CHECK(request.method == "HEAD");
    CHECK(request.url == "https://ghcr.io/v2/acme/web/manifests/2.4.0");
    const std::string accept = header(request, "accept");
    CHECK_THAT(accept, Catch::Contains("application/vnd.oci.image.index.v1+json"));
    CHECK_THAT(accept,
               Catch::Contains("application/vnd.docker.distribution.manifest.list.v2+json"));
    CHECK_THAT(accept, Catch::Contains("application/vnd.oci.image.manifest.v1+json"));
    CHECK_THAT(accept, Catch::Contains("application/vnd.docker.distribution.manifest.v2+json"));
    CHECK(header(request, "authorization").empty());
}

TEST_CASE("registry: Docker Hub names use registry-1.docker.io and the docker.io entry",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(200, {{"Docker-Content-Digest", k_digest}});
    };
    config::Registry hub;
    hub.host = "docker.io";
    hub.ca_file = "/etc/ssl/hub-ca.pem";
    RegistryClient client(http, {hub});
    REQUIRE(client.resolve_digest(image("nginx")).ok());
    CHECK(http.requests[0].url == "https://registry-1.docker.io/v2/library/nginx/manifests/latest");
    CHECK(http.requests[0].ca_file == "/etc/ssl/hub-ca.pem");
}

TEST_CASE("registry: plain HTTP only for insecure_http entries and loopback hosts without one",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    config::Registry tls_loopback;
    tls_loopback.host = "127.0.0.1:5443";
    tls_loopback.ca_file = "/tmp/ca.pem";
    config::Registry insecure;
    insecure.host = "localhost:5001";
    insecure.insecure_http = true;
    RegistryClient client(http, {tls_loopback, insecure});
    REQUIRE(client.resolve_digest(image("127.0.0.1:5000/web:1")).ok());
    REQUIRE(client.resolve_digest(image("127.0.0.1:5443/web:1")).ok());
    REQUIRE(client.resolve_digest(image("localhost:5001/web:1")).ok());
    REQUIRE(client.resolve_digest(image("[::1]:5002/web:1")).ok());
    REQUIRE(client.resolve_digest(image("registry.local:5000/web:1")).ok());
    REQUIRE(client.resolve_digest(image("127.example.com/web:1")).ok());
    REQUIRE(client.resolve_digest(image("127.0.0.2/web:1")).ok());
    CHECK(http.requests[0].url == "http://127.0.0.1:5000/v2/web/manifests/1");
    CHECK(http.requests[1].url == "https://127.0.0.1:5443/v2/web/manifests/1");
    CHECK(http.requests[1].ca_file == "/tmp/ca.pem");
    CHECK(http.requests[2].url == "http://localhost:5001/v2/web/manifests/1");
    CHECK(http.requests[3].url == "http://[::1]:5002/v2/web/manifests/1");
    CHECK(http.requests[4].url == "https://registry.local:5000/v2/web/manifests/1");
    CHECK(http.requests[5].url == "https://127.example.com/v2/web/manifests/1");
    CHECK(http.requests[6].url == "http://127.0.0.2/v2/web/manifests/1");
}

TEST_CASE("registry: 401 with a Basic challenge retries with the configured credentials",
          "[sources][registry]") {
    TempDir dir;
    FakeHttp http;
    http.handler = [](const HttpRequest& request) {
        if (header(request, "authorization") != k_basic) {
            return respond(401, {{"www-authenticate", R"(Basic realm="Registry Realm")"}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {entry_with_password(dir, "registry.example.com", "s3cret")});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE(digest.ok());
    CHECK(*digest == k_digest);
    REQUIRE(http.requests.size() == 2);
    CHECK(header(http.requests[0], "authorization").empty());
    CHECK(header(http.requests[1], "authorization") == k_basic);

    // The registry is known to want Basic now: credentials go with the first request.
    REQUIRE(client.resolve_digest(image("registry.example.com/acme/web:2")).ok());
    CHECK(http.requests.size() == 3);
}

TEST_CASE("registry: refused Basic credentials are Unauthorized without the password",
          "[sources][registry]") {
    TempDir dir;
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(401, {{"www-authenticate", R"(Basic realm="Registry Realm")"}});
    };
    RegistryClient client(http, {entry_with_password(dir, "registry.example.com", "s3cret")});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().kind == Error::Kind::Unauthorized);
    CHECK_THAT(digest.error().message, Catch::Contains("registry.example.com"));
    CHECK_THAT(digest.error().message, !Catch::Contains("s3cret"));
    CHECK(http.requests.size() == 2);
}

TEST_CASE("registry: a Basic challenge without configured credentials is Unauthorized",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(401, {{"www-authenticate", R"(Basic realm="Registry Realm")"}});
    };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().kind == Error::Kind::Unauthorized);
    CHECK_THAT(digest.error().message, Catch::Contains("none are configured"));
    CHECK(http.requests.size() == 1);
}

TEST_CASE("registry: a relative password_file resolves in $CREDENTIALS_DIRECTORY",
          "[sources][registry]") {
    TempDir dir;
    std::ofstream(dir.path() / "ghcr.token") << "s3cret\n";
    ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
    FakeHttp http;
    http.handler = [](const HttpRequest& request) {
        if (header(request, "authorization") != k_basic) {
            return respond(401, {{"www-authenticate", R"(Basic realm="r")"}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    config::Registry entry;
    entry.host = "ghcr.io";
    entry.username = "deploy-bot";
    entry.password_file = "ghcr.token";
    RegistryClient client(http, {entry});
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    ::unsetenv("CREDENTIALS_DIRECTORY");
    REQUIRE(digest.ok());
    CHECK(header(http.requests.back(), "authorization") == k_basic);

    const auto without_dir = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE_FALSE(without_dir.ok());
    CHECK_THAT(without_dir.error().message, Catch::Contains("CREDENTIALS_DIRECTORY"));
}

TEST_CASE("registry: 401 with Bearer challenge fetches a scoped token and caches it",
          "[sources][registry]") {
    TempDir dir;
    FakeHttp http;
    int token_requests = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {}, R"({"token":"tok-1","expires_in":300})");
        }
        if (header(request, "authorization") != "Bearer tok-1") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {entry_with_password(dir, "registry.example.com", "s3cret")});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE(digest.ok());
    CHECK(*digest == k_digest);
    REQUIRE(http.requests.size() == 3);
    CHECK(http.requests[1].url ==
          "https://auth.example.com/token?service=registry.example.com&"
          "scope=repository%3Aacme%2Fweb%3Apull");
    CHECK(header(http.requests[1], "authorization") == k_basic);
    CHECK(header(http.requests[2], "authorization") == "Bearer tok-1");

    // The second resolve reuses the cached token: one request, no token fetch.
    REQUIRE(client.resolve_digest(image("registry.example.com/acme/web:2")).ok());
    CHECK(http.requests.size() == 4);
    CHECK(token_requests == 1);
    CHECK(header(http.requests[3], "authorization") == "Bearer tok-1");
}

TEST_CASE("registry: anonymous Bearer tokens are fetched without Authorization",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(200, {}, R"({"access_token":"anon"})");
        }
        if (header(request, "authorization") != "Bearer anon") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {});
    REQUIRE(client.resolve_digest(image("registry.example.com/acme/web:1")).ok());
    REQUIRE(http.requests.size() == 3);
    CHECK(header(http.requests[1], "authorization").empty());
}

TEST_CASE("registry: tokens are cached per repository scope", "[sources][registry]") {
    FakeHttp http;
    int token_requests = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {}, R"({"token":"t"})");
        }
        if (header(request, "authorization").empty()) {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {});
    REQUIRE(client.resolve_digest(image("registry.example.com/acme/web:1")).ok());
    REQUIRE(client.resolve_digest(image("registry.example.com/acme/api:1")).ok());
    CHECK(token_requests == 2);
    CHECK_THAT(http.requests[4].url, Catch::Contains("scope=repository%3Aacme%2Fapi%3Apull"));
}

TEST_CASE("registry: clients sharing a token cache ask the token service once",
          "[sources][registry]") {
    // The daemon's workers each have a client; any of them may run a stack's next poll.
    TempDir dir;
    FakeHttp http;
    int token_requests = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {}, R"({"token":"shared","expires_in":300})");
        }
        if (header(request, "authorization") != "Bearer shared") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    const auto entry = entry_with_password(dir, "registry.example.com", "s3cret");
    const auto tokens = std::make_shared<sources::TokenCache>();
    RegistryClient first(http, {entry});
    RegistryClient second(http, {entry});
    first.set_token_cache(tokens);
    second.set_token_cache(tokens);
    const auto web = image("registry.example.com/acme/web:1");
    REQUIRE(first.resolve_digest(web).ok());
    REQUIRE(http.requests.size() == 3);
    REQUIRE(second.resolve_digest(web).ok());
    CHECK(token_requests == 1);
    REQUIRE(http.requests.size() == 4);
    CHECK(header(http.requests[3], "authorization") == "Bearer shared");

    // A client with its own cache (the default) asks again.
    RegistryClient alone(http, {entry});
    REQUIRE(alone.resolve_digest(web).ok());
    CHECK(token_requests == 2);
}

TEST_CASE("registry: an expired token is fetched again", "[sources][registry]") {
    FakeHttp http;
    FakeClock clock;
    int token_requests = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {},
                           fmt::format(R"({{"token":"tok-{}","expires_in":300}})", token_requests));
        }
        if (header(request, "authorization").empty()) {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {}, clock);
    const auto web = image("registry.example.com/acme/web:1");
    REQUIRE(client.resolve_digest(web).ok());
    clock.sleep_for(std::chrono::seconds(299));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 1);
    clock.sleep_for(std::chrono::seconds(2));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 2);
    CHECK(header(http.requests.back(), "authorization") == "Bearer tok-2");
    // The expired token was not sent: the request went out anonymously and was challenged.
    CHECK(header(http.requests[http.requests.size() - 3], "authorization").empty());
}

TEST_CASE("registry: issued_at in the past and the 60s default bound the token lifetime",
          "[sources][registry]") {
    FakeHttp http;
    FakeClock clock;
    int token_requests = 0;
    std::string token_body;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {}, token_body);
        }
        if (header(request, "authorization").empty()) {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    RegistryClient client(http, {}, clock);
    const auto web = image("registry.example.com/acme/web:1");

    // Issued 250s ago with 300s to live: 50s left.
    token_body = fmt::format(R"({{"token":"a","expires_in":300,"issued_at":"{}"}})",
                             sys::format_rfc3339(clock.now() - std::chrono::seconds(250)));
    REQUIRE(client.resolve_digest(web).ok());
    clock.sleep_for(std::chrono::seconds(49));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 1);
    clock.sleep_for(std::chrono::seconds(2));
    token_body = R"({"token":"b"})";
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 2);

    // No expires_in: 60 seconds.
    clock.sleep_for(std::chrono::seconds(59));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 2);
    clock.sleep_for(std::chrono::seconds(2));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 3);

    // An absurd expires_in is capped at a day.
    clock.sleep_for(std::chrono::seconds(61));
    token_body = R"({"token":"c","expires_in":1e300})";
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 4);
    clock.sleep_for(std::chrono::hours(23));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 4);
    clock.sleep_for(std::chrono::hours(2));
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 5);
}

TEST_CASE("registry: a cached token the registry refuses is replaced once", "[sources][registry]") {
    FakeHttp http;
    int token_requests = 0;
    int uses_of_first = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            ++token_requests;
            return respond(200, {},
                           fmt::format(R"({{"token":"tok-{}","expires_in":300}})", token_requests));
        }
        // Only the second token is accepted (the first was revoked after one use).
        const auto auth = header(request, "authorization");
        if (auth == "Bearer tok-2" || (auth == "Bearer tok-1" && uses_of_first++ == 0)) {
            return respond(200, {{"docker-content-digest", k_digest}});
        }
        return respond(401, {{"www-authenticate", k_bearer_challenge}});
    };
    RegistryClient client(http, {});
    const auto web = image("registry.example.com/acme/web:1");
    REQUIRE(client.resolve_digest(web).ok());
    REQUIRE(client.resolve_digest(web).ok());
    CHECK(token_requests == 2);
}

TEST_CASE("registry: malformed token JSON fails naming the realm, never the secret",
          "[sources][registry]") {
    TempDir dir;
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(200, {}, R"({"token": "s3cret-tok)");
        }
        return respond(401, {{"www-authenticate", k_bearer_challenge}});
    };
    RegistryClient client(http, {entry_with_password(dir, "registry.example.com", "s3cret")});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().kind == Error::Kind::Failed);
    CHECK_THAT(digest.error().message, Catch::Contains("https://auth.example.com/token"));
    CHECK_THAT(digest.error().message, Catch::Contains("malformed"));
    CHECK_THAT(digest.error().message, !Catch::Contains("s3cret"));
}

TEST_CASE("registry: token answers without a token or refusing credentials are errors",
          "[sources][registry]") {
    FakeHttp http;
    long token_status = 200;
    std::string token_body;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(token_status, {}, token_body);
        }
        return respond(401, {{"www-authenticate", k_bearer_challenge}});
    };
    RegistryClient client(http, {});
    const auto web = image("registry.example.com/acme/web:1");

    token_body = R"({"expires_in":300})";
    auto result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Catch::Contains("without a token"));

    token_body = "{\"token\":\"a\\r\\nX-Injected: 1\"}";
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Catch::Contains("not printable"));

    token_status = 401;
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Unauthorized);

    // A registry whose token still does not work is Unauthorized too.
    token_status = 200;
    token_body = R"({"token":"ok"})";
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Unauthorized);
}

TEST_CASE("registry: credentials are never sent to a plain-HTTP realm on another host",
          "[sources][registry]") {
    TempDir dir;
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        return respond(401, {{"www-authenticate",
                              R"(Bearer realm="http://evil.example.com/token",service="x")"}});
    };
    RegistryClient client(http, {entry_with_password(dir, "registry.example.com", "s3cret")});
    const auto digest = client.resolve_digest(image("registry.example.com/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK_THAT(digest.error().message, Catch::Contains("not an https URL"));
    CHECK(http.requests.size() == 1);
}

TEST_CASE("registry: 404 is NotFound naming the tag and repository", "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) { return respond(404); };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:9.9"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().is_not_found());
    CHECK(digest.error().message == "tag 9.9 not found in ghcr.io/acme/web");
}

TEST_CASE("registry: 5xx, 403 and connection errors are Failed or Unauthorized with the host",
          "[sources][registry]") {
    FakeHttp http;
    long status = 500;
    http.handler = [&](const HttpRequest&) -> sys::Result<HttpResponse> {
        if (status == 0) {
            return Error::failed("connection refused");
        }
        return respond(status);
    };
    FakeClock clock;  // 500 is retried: the waits must not really sleep
    RegistryClient client(http, {}, clock);
    const auto web = image("ghcr.io/acme/web:1");

    auto result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Failed);
    CHECK_THAT(result.error().message, Catch::Contains("ghcr.io"));
    CHECK_THAT(result.error().message, Catch::Contains("500"));

    status = 0;
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Failed);
    CHECK_THAT(result.error().message, Catch::Contains("ghcr.io"));
    CHECK_THAT(result.error().message, Catch::Contains("connection refused"));

    status = 403;
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Unauthorized);

    status = 401;  // no challenge at all
    result = client.resolve_digest(web);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Unauthorized);
}

TEST_CASE("registry: 429 with Retry-After waits that long once, then succeeds",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        if (http.requests.size() == 1) {
            return respond(429, {{"retry-after", "2"}});
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    FakeClock clock;
    RegistryClient client(http, {}, clock);
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE(digest.ok());
    CHECK(*digest == k_digest);
    CHECK(http.requests.size() == 2);
    CHECK(clock.sleeps == std::vector<sys::Duration>{std::chrono::seconds(2)});
}

TEST_CASE("registry: 500, 500, 200 succeeds after growing backoff delays", "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        if (http.requests.size() <= 2) {
            return respond(500);
        }
        return respond(200, {{"docker-content-digest", k_digest}});
    };
    FakeClock clock;
    RegistryClient client(http, {}, clock);
    REQUIRE(client.resolve_digest(image("ghcr.io/acme/web:1")).ok());
    CHECK(http.requests.size() == 3);
    REQUIRE(clock.sleeps.size() == 2);
    // Equal jitter: the first wait is in [250ms, 500ms], the second in [500ms, 1s].
    CHECK(clock.sleeps[0] >= std::chrono::milliseconds(250));
    CHECK(clock.sleeps[0] <= std::chrono::milliseconds(500));
    CHECK(clock.sleeps[1] >= std::chrono::milliseconds(500));
    CHECK(clock.sleeps[1] <= std::chrono::milliseconds(1000));
    CHECK(clock.sleeps[0] <= clock.sleeps[1]);
}

TEST_CASE("registry: four 500s in a row are Failed naming the status", "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) { return respond(500); };
    FakeClock clock;
    RegistryClient client(http, {}, clock);
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().kind == Error::Kind::Failed);
    CHECK_THAT(digest.error().message, Catch::Contains("HTTP 500"));
    CHECK(http.requests.size() == 4);  // the first attempt and 3 retries
    CHECK(clock.sleeps.size() == 3);
}

TEST_CASE("registry: retries cover token services and tag lists; long Retry-After is not waited",
          "[sources][registry]") {
    FakeHttp http;
    int token_calls = 0;
    int list_calls = 0;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/", 0) == 0) {
            return ++token_calls == 1 ? respond(503, {{"Retry-After", "1"}})
                                      : respond(200, {}, R"({"token":"tok"})");
        }
        if (header(request, "authorization") != "Bearer tok") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return ++list_calls == 1 ? respond(502) : respond(200, {}, R"({"tags":["1"]})");
    };
    FakeClock clock;
    RegistryClient client(http, {}, clock);
    const auto tags = client.list_tags(image("registry.example.com/acme/web"));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{"1"});
    CHECK(token_calls == 2);
    CHECK(list_calls == 2);
    REQUIRE(clock.sleeps.size() == 2);
    CHECK(clock.sleeps[0] == std::chrono::seconds(1));

    // An hour's Retry-After fails at once: the next poll asks again.
    http.handler = [](const HttpRequest&) { return respond(429, {{"Retry-After", "3600"}}); };
    clock.sleeps.clear();
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().message ==
          "registry ghcr.io answered HTTP 429 to HEAD tag 1 of acme/web (Retry-After: 3600)");
    CHECK(clock.sleeps.empty());

    // Retrying can be switched off.
    client.set_retry_policy(sources::RetryPolicy{0});
    http.requests.clear();
    http.handler = [](const HttpRequest&) { return respond(503); };
    REQUIRE_FALSE(client.resolve_digest(image("ghcr.io/acme/web:1")).ok());
    CHECK(http.requests.size() == 1);
}

TEST_CASE("registry: without Docker-Content-Digest the manifest is fetched and hashed",
          "[sources][registry]") {
    const std::string manifest = R"({"schemaVersion":2,"mediaType":"x"})";
    const std::string expected = "sha256:" + sys::sha256_hex(manifest);
    FakeHttp http;
    long head_status = 200;
    http.handler = [&](const HttpRequest& request) {
        if (request.method == "HEAD") {
            return respond(head_status);
        }
        return respond(200, {}, manifest);
    };
    RegistryClient client(http, {});
    auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE(digest.ok());
    CHECK(*digest == expected);
    REQUIRE(http.requests.size() == 2);
    CHECK(http.requests[1].method == "GET");
    CHECK_THAT(header(http.requests[1], "accept"),
               Catch::Contains("application/vnd.oci.image.index.v1+json"));

    head_status = 405;  // HEAD not allowed
    digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE(digest.ok());
    CHECK(*digest == expected);
}

TEST_CASE("registry: a manifest that does not hash to the claimed digest is an error",
          "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.method == "HEAD") {
            return respond(405);
        }
        return respond(200, {{"docker-content-digest", k_digest}}, "{}");
    };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK(digest.error().kind == Error::Kind::Failed);
    CHECK_THAT(digest.error().message, Catch::Contains("hashes to"));
}

TEST_CASE("registry: a manifest GET that is not a manifest is an error, not a digest",
          "[sources][registry]") {
    std::string body;
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.method == "HEAD") {
            return respond(200);  // no Docker-Content-Digest: the body is hashed
        }
        return respond(200, {}, body);
    };
    RegistryClient client(http, {});
    for (const std::string garbage :
         {"<html>502 Bad Gateway</html>", R"({"schemaVersion": 2, "layers": [)", "[]",
          R"({"errors": []})", R"({"schemaVersion": "2"})", ""}) {
        INFO(garbage);
        body = garbage;
        const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
        REQUIRE_FALSE(digest.ok());
        CHECK(digest.error().kind == Error::Kind::Failed);
        CHECK_THAT(digest.error().message, Catch::Contains("ghcr.io"));
        CHECK_THAT(digest.error().message, Catch::Contains("tag 1 of acme/web is not a manifest"));
    }
}

TEST_CASE("registry: an invalid Docker-Content-Digest is refused", "[sources][registry]") {
    FakeHttp http;
    http.handler = [](const HttpRequest&) {
        return respond(200, {{"docker-content-digest", "sha256:abc\r\nX: y"}});
    };
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image("ghcr.io/acme/web:1"));
    REQUIRE_FALSE(digest.ok());
    CHECK_THAT(digest.error().message, Catch::Contains("invalid Docker-Content-Digest"));
}

TEST_CASE("registry: a reference with a digest is checked by digest", "[sources][registry]") {
    const std::string other =
        "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    FakeHttp http;
    std::string answer = k_digest;
    http.handler = [&](const HttpRequest&) {
        return respond(200, {{"docker-content-digest", answer}});
    };
    RegistryClient client(http, {});
    const auto pinned = image("ghcr.io/acme/web:1@" + k_digest);
    REQUIRE(client.resolve_digest(pinned).ok());
    CHECK(http.requests[0].url == "https://ghcr.io/v2/acme/web/manifests/" + k_digest);
    answer = other;
    const auto result = client.resolve_digest(pinned);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == Error::Kind::Failed);
}

TEST_CASE("registry: list_tags follows Link pagination", "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url == "http://127.0.0.1:5000/v2/acme/web/tags/list") {
            return respond(200, {{"link", R"(</v2/acme/web/tags/list?last=b&n=2>; rel="next")"}},
                           R"({"name":"acme/web","tags":["a","b"]})");
        }
        if (request.url == "http://127.0.0.1:5000/v2/acme/web/tags/list?last=b&n=2") {
            return respond(
                200,
                {{"Link", R"(<http://127.0.0.1:5000/v2/acme/web/tags/list?last=d&n=2>; rel=next)"}},
                R"({"name":"acme/web","tags":["c","d"]})");
        }
        if (request.url == "http://127.0.0.1:5000/v2/acme/web/tags/list?last=d&n=2") {
            return respond(200, {}, R"({"name":"acme/web","tags":["e","bad tag"]})");
        }
        return respond(500);
    };
    RegistryClient client(http, {});
    const auto tags = client.list_tags(image("127.0.0.1:5000/acme/web"));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK(http.requests.size() == 3);
}

TEST_CASE("registry: list_tags errors: other hosts, loops, malformed JSON, 404",
          "[sources][registry]") {
    FakeHttp http;
    HttpResponse answer;
    http.handler = [&](const HttpRequest&) { return answer; };
    RegistryClient client(http, {});
    const auto web = image("ghcr.io/acme/web");

    answer = respond(200, {{"link", R"(<https://evil.example.com/v2/x>; rel="next")"}},
                     R"({"tags":[]})");
    auto tags = client.list_tags(web);
    REQUIRE_FALSE(tags.ok());
    CHECK_THAT(tags.error().message, Catch::Contains("another host"));

    answer = respond(200, {{"link", R"(</v2/acme/web/tags/list>; rel="next")"}}, R"({"tags":[]})");
    tags = client.list_tags(web);
    REQUIRE_FALSE(tags.ok());
    CHECK_THAT(tags.error().message, Catch::Contains("loops"));

    const std::vector<std::pair<std::string, std::string>> malformed{
        {"{\"tags\":[", "not JSON (syntax error at byte 10)"},
        {"[]", "expected a JSON object, got an array"},
        {"{\"tags\":\"a\"}", "\"tags\" is a string, not a list"},
        {"{\"tags\":{\"1.0\":true}}", "\"tags\" is an object, not a list"},
        {"{\"tags\":[\"1.0\",1]}", "\"tags\" holds a number, not only strings"}};
    for (const auto& [body, why] : malformed) {
        INFO(body);
        answer = respond(200, {}, body);
        tags = client.list_tags(web);
        REQUIRE_FALSE(tags.ok());
        CHECK(tags.error().kind == Error::Kind::Failed);
        CHECK(tags.error().message == "registry ghcr.io: malformed tag list for acme/web: " + why);
    }

    answer = respond(200, {}, R"({"name":"acme/web","tags":null})");
    tags = client.list_tags(web);
    REQUIRE(tags.ok());
    CHECK(tags->empty());

    answer = respond(404);
    tags = client.list_tags(web);
    REQUIRE_FALSE(tags.ok());
    CHECK(tags.error().is_not_found());
}

TEST_CASE("registry: list_tags answers a Bearer challenge", "[sources][registry]") {
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(200, {}, R"({"token":"t"})");
        }
        if (header(request, "authorization") != "Bearer t") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(200, {}, R"({"tags":["1.0"]})");
    };
    RegistryClient client(http, {});
    const auto tags = client.list_tags(image("registry.example.com/acme/web"));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{"1.0"});
}

TEST_CASE("registry: get_manifest GETs with the Accept list, hashes the body, keeps its type",
          "[sources][registry]") {
    const std::string body = R"({"schemaVersion":2,"layers":[]})";
    const std::string digest = "sha256:" + sys::sha256_hex(body);
    FakeHttp http;
    http.handler = [&](const HttpRequest&) {
        return respond(200,
                       {{"content-type", "application/vnd.oci.image.manifest.v1+json"},
                        {"docker-content-digest", digest}},
                       body);
    };
    RegistryClient client(http, {});
    const auto manifest = client.get_manifest(image("ghcr.io/acme/web:sha256-abc.sig"));
    REQUIRE(manifest.ok());
    CHECK(manifest->digest == digest);
    CHECK(manifest->body == body);
    CHECK(manifest->media_type == "application/vnd.oci.image.manifest.v1+json");
    REQUIRE(http.requests.size() == 1);
    CHECK(http.requests[0].method == "GET");
    CHECK(http.requests[0].url == "https://ghcr.io/v2/acme/web/manifests/sha256-abc.sig");
    CHECK(http.requests[0].max_body == 4 * 1024 * 1024);
    CHECK_THAT(header(http.requests[0], "accept"),
               Catch::Contains("application/vnd.oci.image.manifest.v1+json"));
}

TEST_CASE("registry: get_manifest refuses a body hashing to another digest; 404 is NotFound",
          "[sources][registry]") {
    const std::string body = R"({"schemaVersion":2})";
    FakeHttp http;
    long status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    http.handler = [&](const HttpRequest&) { return respond(status, headers, body); };
    RegistryClient client(http, {});

    headers = {{"docker-content-digest", k_digest}};
    auto claimed = client.get_manifest(image("ghcr.io/acme/web:1.0"));
    REQUIRE_FALSE(claimed.ok());
    CHECK(claimed.error().kind == Error::Kind::Failed);
    CHECK_THAT(claimed.error().message, Catch::Contains("but the registry says"));

    headers = {};
    auto by_digest = client.get_manifest(image("ghcr.io/acme/web@" + k_digest));
    REQUIRE_FALSE(by_digest.ok());
    CHECK(by_digest.error().kind == Error::Kind::Failed);
    CHECK_THAT(by_digest.error().message,
               Catch::Contains(k_digest) && Catch::Contains("hashes to sha256:"));
    CHECK(http.requests.back().url == "https://ghcr.io/v2/acme/web/manifests/" + k_digest);

    status = 404;
    auto missing = client.get_manifest(image("ghcr.io/acme/web:1.0"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().is_not_found());
    CHECK_THAT(missing.error().message, Catch::Contains("tag 1.0 not found in ghcr.io/acme/web"));

    status = 503;
    client.set_retry_policy({0});
    auto down = client.get_manifest(image("ghcr.io/acme/web:1.0"));
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().kind == Error::Kind::Failed);
}

TEST_CASE("registry: get_blob checks the digest and the size bound, through a Bearer challenge",
          "[sources][registry]") {
    const std::string content = "payload bytes";
    const std::string digest = "sha256:" + sys::sha256_hex(content);
    std::string served = content;
    long status = 200;
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.rfind("https://auth.example.com/token", 0) == 0) {
            return respond(200, {}, R"({"token":"t"})");
        }
        if (header(request, "authorization") != "Bearer t") {
            return respond(401, {{"www-authenticate", k_bearer_challenge}});
        }
        return respond(status, {}, served);
    };
    RegistryClient client(http, {});
    const auto ref = image("registry.example.com/acme/web:1.0");

    const auto blob = client.get_blob(ref, digest, 1024);
    REQUIRE(blob.ok());
    CHECK(*blob == content);
    CHECK(http.requests.back().url == "https://registry.example.com/v2/acme/web/blobs/" + digest);
    CHECK(http.requests.back().max_body == 1024);

    served = "tampered bytes";
    const auto tampered = client.get_blob(ref, digest, 1024);
    REQUIRE_FALSE(tampered.ok());
    CHECK(tampered.error().kind == Error::Kind::Failed);
    CHECK_THAT(tampered.error().message,
               Catch::Contains("blob " + digest) && Catch::Contains("hashes to sha256:"));

    served = content;
    const auto large = client.get_blob(ref, digest, 4);
    REQUIRE_FALSE(large.ok());
    CHECK_THAT(large.error().message, Catch::Contains("larger than 4 bytes"));

    status = 404;
    const auto missing = client.get_blob(ref, digest, 1024);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().is_not_found());

    const auto invalid = client.get_blob(ref, "sha256:../../x", 1024);
    REQUIRE_FALSE(invalid.ok());
    CHECK(invalid.error().kind == Error::Kind::InvalidInput);
}

// ---------------------------------------------------------------------------------------------
// Integration: a real distribution registry (docker-registry 2.8) and the docker CLI.

namespace {

std::string test_registry() {
    const char* value = std::getenv("AGENTD_TEST_REGISTRY");
    INFO("AGENTD_TEST_REGISTRY (host:port of a plain-HTTP test registry) must be set");
    REQUIRE(value != nullptr);
    REQUIRE(*value != '\0');
    return value;
}

sys::ProcessResult run(sys::ProcessRunner& runner, std::vector<std::string> argv,
                       std::map<std::string, std::string> env = {},
                       std::optional<std::string> stdin_data = std::nullopt) {
    sys::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
    spec.stdin_data = std::move(stdin_data);
    spec.timeout = std::chrono::minutes(2);
    auto result = runner.run(spec);
    INFO(spec.argv[0]);
    REQUIRE(result.ok());
    INFO(result->out + result->err);
    REQUIRE(result->success());
    return *result;
}

/// Imports a busybox image as `name` (host/repo:tag), pushes it and returns the digest that
/// `docker push` reported, checked against `docker inspect`'s RepoDigests. The local image is
/// removed afterwards.
class PushedImage {
public:
    PushedImage(sys::ProcessRunner& runner, const std::string& name,
                std::map<std::string, std::string> env = {})
        : m_runner(runner), m_name(name) {
        TempDir dir;
        const auto bin = dir.path() / "rootfs" / "bin";
        std::filesystem::create_directories(bin);
        std::filesystem::copy_file("/bin/busybox", bin / "busybox");
        std::filesystem::create_symlink("busybox", bin / "sh");
        const auto tar = (dir.path() / "rootfs.tar").string();
        run(runner, {"tar", "-C", (dir.path() / "rootfs").string(), "-cf", tar, "."});
        run(runner, {"docker", "import", "-c", R"(CMD ["/bin/sh"])", tar, name});
        m_imported = true;
        const auto push = run(runner, {"docker", "push", name}, env);
        const auto at = push.out.find("digest: sha256:");
        REQUIRE(at != std::string::npos);
        digest = push.out.substr(at + 8, 71);
        const auto inspect =
            run(runner, {"docker", "inspect", "--format", "{{index .RepoDigests 0}}", name});
        const auto repo_digest = inspect.out.substr(0, inspect.out.find_last_not_of("\n") + 1);
        REQUIRE(repo_digest.substr(repo_digest.find('@') + 1) == digest);
    }
    ~PushedImage() {
        if (m_imported) {
            sys::ProcessSpec spec;
            spec.argv = {"docker", "rmi", m_name};
            (void)m_runner.run(spec);
        }
    }
    PushedImage(const PushedImage&) = delete;
    PushedImage& operator=(const PushedImage&) = delete;

    std::string digest;

private:
    sys::ProcessRunner& m_runner;
    std::string m_name;
    bool m_imported = false;
};

std::string unique_tag() {
    return fmt::format("it-{}-{}", ::getpid(),
                       std::chrono::steady_clock::now().time_since_epoch().count());
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A docker-registry on a free loopback port with the given `auth:` section (YAML flow style,
/// empty for none), storing under dir/data so that several can share one store. Stopped at the
/// end of the scope.
class LocalRegistry {
public:
    LocalRegistry(const TempDir& dir, const std::string& name, const std::string& auth) {
        host = fmt::format("127.0.0.1:{}", free_port());
        const auto config = dir.path() / (name + ".yml");
        std::ofstream(config) << fmt::format(
            "version: 0.1\n"
            "log: {{level: warn}}\n"
            "storage: {{filesystem: {{rootdirectory: {}}}}}\n"
            "http: {{addr: \"{}\"}}\n"
            "{}",
            (dir.path() / "data").string(), host, auth.empty() ? "" : "auth: " + auth + "\n");
        const std::string log = (dir.path() / (name + ".log")).string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::string program = "docker-registry", serve = "serve", path = config.string();
        char* argv[] = {program.data(), serve.data(), path.data(), nullptr};
        const int rc = posix_spawnp(&m_pid, "docker-registry", &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(rc == 0);

        // Ready when /v2/ answers at all (200 open, 401 with a challenge).
        sys::CurlHttpClient http;
        sys::HttpRequest ping;
        ping.url = fmt::format("http://{}/v2/", host);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        bool ready = false;
        while (!ready && std::chrono::steady_clock::now() < deadline) {
            const auto answer = http.send(ping);
            ready = answer.ok() && (answer->status == 200 || answer->status == 401);
            if (!ready) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        const auto log_text = sys::read_file(log);
        INFO((log_text.ok() ? *log_text : std::string()));
        REQUIRE(ready);
    }
    ~LocalRegistry() {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            int status = 0;
            ::waitpid(m_pid, &status, 0);
        }
    }
    LocalRegistry(const LocalRegistry&) = delete;
    LocalRegistry& operator=(const LocalRegistry&) = delete;

    std::string host;

private:
    pid_t m_pid = -1;
};

std::string base64_of(std::string_view data, bool url) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    if (url) {
        std::replace(out.begin(), out.end(), '+', '-');
        std::replace(out.begin(), out.end(), '/', '_');
        out.erase(out.find_last_not_of('=') + 1);
    }
    return out;
}

/// A token service for docker-registry's `auth: token`: answers GET /token with a JWT signed by
/// a self-signed key (RS256, certificate in x5c) granting pull on `repository`, when the request
/// carries the expected Basic credentials. Records the query of every request.
class TokenService {
public:
    TokenService(sys::ProcessRunner& runner, const TempDir& dir, const std::string& repository,
                 const std::string& authorization)
        : m_authorization(authorization) {
        const auto key = (dir.path() / "token.key").string();
        certificate = (dir.path() / "token.crt").string();
        run(runner, {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                     "-out", certificate, "-subj", "/CN=agentd-test-token", "-days", "1"});
        const auto der = run(runner, {"openssl", "x509", "-in", certificate, "-outform", "DER"});
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const std::string header =
            fmt::format(R"({{"typ":"JWT","alg":"RS256","x5c":["{}"]}})", base64_of(der.out, false));
        const std::string claims =
            fmt::format(R"({{"iss":"agentd-test-issuer","sub":"deploy-bot","aud":"agentd-test",)"
                        R"("exp":{},"nbf":{},"iat":{},"jti":"jti-{}",)"
                        R"("access":[{{"type":"repository","name":"{}","actions":["pull"]}}]}})",
                        now + 3600, now - 60, now, now, repository);
        const std::string signing_input = base64_of(header, true) + "." + base64_of(claims, true);
        const auto signature =
            run(runner, {"openssl", "dgst", "-sha256", "-sign", key}, {}, signing_input);
        m_body = fmt::format(R"({{"token":"{}","expires_in":3600}})",
                             signing_input + "." + base64_of(signature.out, true));

        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        m_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr,
                                    &TokenService::handle, this, MHD_OPTION_SOCK_ADDR, &addr,
                                    MHD_OPTION_END);
        REQUIRE(m_daemon != nullptr);
        realm = fmt::format("http://127.0.0.1:{}/token",
                            MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_BIND_PORT)->port);
    }
    ~TokenService() {
        if (m_daemon != nullptr) {
            MHD_stop_daemon(m_daemon);
        }
    }
    TokenService(const TokenService&) = delete;
    TokenService& operator=(const TokenService&) = delete;

    std::vector<std::string> queries() {
        std::lock_guard lock(m_mutex);
        return m_queries;
    }

    std::string realm;
    std::string certificate;

private:
    static MHD_Result handle(void* self_ptr, MHD_Connection* connection, const char*, const char*,
                             const char*, const char*, size_t*, void**) {
        auto* self = static_cast<TokenService*>(self_ptr);
        const auto arg = [&](const char* name) {
            const char* v = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, name);
            return std::string(v == nullptr ? "" : v);
        };
        const char* auth =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
        const bool allowed = auth != nullptr && self->m_authorization == auth;
        {
            std::lock_guard lock(self->m_mutex);
            self->m_queries.push_back(
                fmt::format("service={} scope={}", arg("service"), arg("scope")));
        }
        const std::string body = allowed ? self->m_body : R"({"details":"denied"})";
        MHD_Response* response = MHD_create_response_from_buffer(
            body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(response, "Content-Type", "application/json");
        const MHD_Result result =
            MHD_queue_response(connection, allowed ? MHD_HTTP_OK : MHD_HTTP_UNAUTHORIZED, response);
        MHD_destroy_response(response);
        return result;
    }

    std::string m_authorization;
    std::string m_body;
    MHD_Daemon* m_daemon = nullptr;
    std::mutex m_mutex;
    std::vector<std::string> m_queries;
};

}  // namespace

TEST_CASE("registry: resolves a pushed tag to the digest docker push reported",
          "[integration][registry]") {
    const std::string host = test_registry();
    sys::PosixProcessRunner runner;
    const std::string tag = unique_tag();
    const std::string name = fmt::format("{}/agentd-it/registry-client:{}", host, tag);
    PushedImage pushed(runner, name);

    sys::CurlHttpClient http;
    RegistryClient client(http, {});
    const auto digest = client.resolve_digest(image(name));
    REQUIRE(digest.ok());
    CHECK(*digest == pushed.digest);

    const auto tags = client.list_tags(image(name));
    REQUIRE(tags.ok());
    CHECK(std::find(tags->begin(), tags->end(), tag) != tags->end());

    const auto missing = client.resolve_digest(image(name + "-missing"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().is_not_found());

    const auto no_repo = client.list_tags(image(fmt::format("{}/agentd-it/absent-{}", host, tag)));
    REQUIRE_FALSE(no_repo.ok());
    CHECK(no_repo.error().is_not_found());
}

TEST_CASE("registry: a multi-platform index resolves to the index digest",
          "[integration][registry]") {
    const std::string host = test_registry();
    sys::PosixProcessRunner runner;
    const std::string tag = unique_tag();
    const std::string repository = "agentd-it/index";
    PushedImage pushed(runner, fmt::format("{}/{}:{}", host, repository, tag));

    // Put an OCI index pointing at the pushed manifest under another tag, as buildx does for
    // multi-platform images.
    sys::CurlHttpClient http;
    sys::HttpRequest get;
    get.url = fmt::format("http://{}/v2/{}/manifests/{}", host, repository, pushed.digest);
    get.headers = {{"Accept", "application/vnd.docker.distribution.manifest.v2+json"}};
    const auto manifest = http.send(get);
    REQUIRE(manifest.ok());
    REQUIRE(manifest->status == 200);
    const std::string index = fmt::format(
        R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
        R"("manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
        R"("digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}})",
        pushed.digest, manifest->body.size());
    sys::HttpRequest put;
    put.method = "PUT";
    put.url = fmt::format("http://{}/v2/{}/manifests/{}-index", host, repository, tag);
    put.headers = {{"Content-Type", "application/vnd.oci.image.index.v1+json"}};
    put.body = index;
    const auto stored = http.send(put);
    REQUIRE(stored.ok());
    INFO(stored->body);
    REQUIRE(stored->status == 201);

    RegistryClient client(http, {});
    const auto digest =
        client.resolve_digest(image(fmt::format("{}/{}:{}-index", host, repository, tag)));
    REQUIRE(digest.ok());
    CHECK(*digest == "sha256:" + sys::sha256_hex(index));
    CHECK(*digest != pushed.digest);
}

TEST_CASE("registry: htpasswd Basic auth against a real registry", "[integration][registry]") {
    test_registry();  // the same services must be up: docker and docker-registry
    sys::PosixProcessRunner runner;
    TempDir dir;
    const auto htpasswd = run(runner, {"htpasswd", "-Bbn", "deploy-bot", "s3cret"});
    std::ofstream(dir.path() / "htpasswd") << htpasswd.out;
    LocalRegistry registry(dir, "registry",
                           fmt::format("{{htpasswd: {{realm: agentd-test, path: {}}}}}",
                                       (dir.path() / "htpasswd").string()));

    // Push with a private docker client config so the machine's ~/.docker stays untouched.
    const std::map<std::string, std::string> env = {
        {"DOCKER_CONFIG", (dir.path() / "docker-config").string()}};
    run(runner, {"docker", "login", "--username", "deploy-bot", "--password-stdin", registry.host},
        env, "s3cret\n");
    const std::string tag = unique_tag();
    const std::string name = fmt::format("{}/agentd-it/private:{}", registry.host, tag);
    PushedImage pushed(runner, name, env);

    sys::CurlHttpClient http;
    {
        RegistryClient anonymous(http, {});
        const auto digest = anonymous.resolve_digest(image(name));
        REQUIRE_FALSE(digest.ok());
        CHECK(digest.error().kind == Error::Kind::Unauthorized);
    }
    {
        config::Registry wrong = entry_with_password(dir, registry.host, "wrong");
        wrong.insecure_http = true;
        RegistryClient client(http, {wrong});
        const auto digest = client.resolve_digest(image(name));
        REQUIRE_FALSE(digest.ok());
        CHECK(digest.error().kind == Error::Kind::Unauthorized);
        CHECK_THAT(digest.error().message, !Catch::Contains("wrong"));
    }
    {
        // No entry for the host: what `docker login` stored above is used.
        sources::DockerCredentials docker(runner, dir.path() / "docker-config" / "config.json");
        RegistryClient client(http, {});
        client.set_docker_credentials(&docker);
        const auto digest = client.resolve_digest(image(name));
        REQUIRE(digest.ok());
        CHECK(*digest == pushed.digest);
    }
    config::Registry entry = entry_with_password(dir, registry.host, "s3cret");
    entry.insecure_http = true;
    RegistryClient client(http, {entry});
    const auto digest = client.resolve_digest(image(name));
    REQUIRE(digest.ok());
    CHECK(*digest == pushed.digest);
    const auto tags = client.list_tags(image(name));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{tag});
}

TEST_CASE("registry: Bearer token auth against a real registry and token service",
          "[integration][registry]") {
    test_registry();  // the same services must be up: docker and docker-registry
    sys::PosixProcessRunner runner;
    TempDir dir;
    const std::string repository = "agentd-it/bearer";
    TokenService tokens(runner, dir, repository, k_basic);
    // Two registries on one store: images are pushed to the open one and read through the one
    // that demands tokens.
    LocalRegistry open(dir, "open", "");
    LocalRegistry guarded(
        dir, "guarded",
        fmt::format("{{token: {{realm: \"{}\", service: agentd-test, issuer: agentd-test-issuer, "
                    "rootcertbundle: {}}}}}",
                    tokens.realm, tokens.certificate));
    const std::string tag = unique_tag();
    PushedImage pushed(runner, fmt::format("{}/{}:{}", open.host, repository, tag));
    const auto name = fmt::format("{}/{}:{}", guarded.host, repository, tag);

    sys::CurlHttpClient http;
    {
        RegistryClient anonymous(http, {});
        const auto digest = anonymous.resolve_digest(image(name));
        REQUIRE_FALSE(digest.ok());
        CHECK(digest.error().kind == Error::Kind::Unauthorized);
    }
    config::Registry entry = entry_with_password(dir, guarded.host, "s3cret");
    entry.insecure_http = true;
    RegistryClient client(http, {entry});
    const auto digest = client.resolve_digest(image(name));
    REQUIRE(digest.ok());
    CHECK(*digest == pushed.digest);
    const auto tags = client.list_tags(image(name));
    REQUIRE(tags.ok());
    CHECK(*tags == std::vector<std::string>{tag});

    // One token request with the repository's pull scope, then the cached token.
    const auto queries = tokens.queries();
    REQUIRE(queries.size() == 2);  // the anonymous attempt and the authenticated one
    CHECK(queries[1] == "service=agentd-test scope=repository:agentd-it/bearer:pull");

    // Asked together, five requests of one scope all meet the challenge at once; one token
    // answers all of them.
    RegistryClient fresh(http, {entry});
    const auto digests = fresh.resolve_digests(std::vector<ImageRef>(5, image(name)));
    REQUIRE(digests.size() == 5);
    for (const auto& d : digests) {
        REQUIRE(d.ok());
        CHECK(*d == pushed.digest);
    }
    CHECK(tokens.queries().size() == 3);
}

TEST_CASE("registry: get_manifest and get_blob read what was pushed, bounded and checked",
          "[integration][registry]") {
    const std::string host = test_registry();
    agentd::testing::RegistryPusher pusher(host);
    const std::string repository = "agentd-it/registry-blobs";
    const std::string tag = unique_tag();
    const std::string layer = "layer of " + tag;
    const std::string digest = pusher.push_image(repository, tag, layer);

    sys::CurlHttpClient http;
    RegistryClient client(http, {});
    const auto by_tag = client.get_manifest(image(fmt::format("{}/{}:{}", host, repository, tag)));
    REQUIRE(by_tag.ok());
    CHECK(by_tag->digest == digest);
    CHECK(by_tag->media_type == "application/vnd.oci.image.manifest.v1+json");
    const auto by_digest =
        client.get_manifest(image(fmt::format("{}/{}@{}", host, repository, digest)));
    REQUIRE(by_digest.ok());
    CHECK(by_digest->body == by_tag->body);

    const auto ref = image(fmt::format("{}/{}:{}", host, repository, tag));
    const std::string layer_digest = "sha256:" + sys::sha256_hex(layer);
    const auto blob = client.get_blob(ref, layer_digest, 1024);
    REQUIRE(blob.ok());
    CHECK(*blob == layer);
    // The bound holds on the wire: curl stops the transfer.
    const auto bounded = client.get_blob(ref, layer_digest, 4);
    REQUIRE_FALSE(bounded.ok());
    CHECK_THAT(bounded.error().message, Catch::Contains("larger than 4 bytes"));
    const auto absent = client.get_blob(ref, "sha256:" + sys::sha256_hex("absent " + tag), 1024);
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().is_not_found());
    const auto no_tag =
        client.get_manifest(image(fmt::format("{}/{}:{}-missing", host, repository, tag)));
    REQUIRE_FALSE(no_tag.ok());
    CHECK(no_tag.error().is_not_found());
}

}  // namespace unit_sources_registry_client_test
