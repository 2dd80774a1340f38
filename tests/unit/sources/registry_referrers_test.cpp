// RegistryClient::referrers: the OCI referrers API, and the referrers tag schema when the
// registry has no such API (registry 2.8), through scripted answers, a loopback HTTP server and
// the real test registry (with an artifact @sigstore/oci attached, tests/sigstore).

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/sources/registry_answers.h"
#include "agent/sources/registry_client.h"
#include "agent/sys/files.h"
#include "agent/sys/http.h"
#include "tests/unit/sigstore/sigstore_cases.h"
#include "tests/unit/sources/registry_push.h"

namespace unit_sources_registry_referrers_test {

using namespace agentd;
using sources::ImageRef;
using sources::RegistryClient;
using sys::Error;
using sys::HttpRequest;
using sys::HttpResponse;

namespace {

const std::string k_subject =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string k_bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
const std::string k_sbom_type = "application/spdx+json";

std::string digest_of(const std::string& text) {
    return "sha256:" + sys::sha256_hex(text);
}

/// An OCI image index of referrer descriptors, as the API answers and the tag schema stores.
std::string index_of(const std::vector<std::pair<std::string, std::string>>& artifacts) {
    nlohmann::json manifests = nlohmann::json::array();
    for (const auto& [digest, type] : artifacts) {
        manifests.push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"digest", digest},
                             {"size", 819},
                             {"artifactType", type},
                             {"annotations", {{"dev.sigstore.bundle.content", "dsse-envelope"}}}});
    }
    return nlohmann::json{{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests", manifests}}
        .dump();
}

class FakeHttp final : public sys::HttpClient {
public:
    std::function<HttpResponse(const HttpRequest&)> handler;
    std::vector<HttpRequest> requests;
    sys::Result<HttpResponse> send(const HttpRequest& request) override {
        requests.push_back(request);
        return handler(request);
    }
};

HttpResponse respond(long status, std::string body = "",
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

std::string header(const HttpRequest& request, const std::string& name) {
    for (const auto& [key, value] : request.headers) {
        if (key == name) {
            return value;
        }
    }
    return "";
}

ImageRef image(const std::string& text) {
    return *ImageRef::parse(text);
}

std::vector<std::string> digests(const std::vector<sources::Referrer>& referrers) {
    std::vector<std::string> out;
    for (const auto& r : referrers) {
        out.push_back(r.digest);
    }
    return out;
}

}  // namespace

TEST_CASE("referrers: the API is asked with the artifactType filter; each type is checked here",
          "[sources][registry][referrers]") {
    const std::string bundle = digest_of("bundle");
    const std::string sbom = digest_of("sbom");
    FakeHttp http;
    // This registry ignores the filter (OCI-Filters-Applied absent): the SBOM must not pass.
    http.handler = [&](const HttpRequest&) {
        return respond(200, index_of({{sbom, k_sbom_type}, {bundle, k_bundle_type}}),
                       {{"content-type", "application/vnd.oci.image.index.v1+json"}});
    };
    RegistryClient client(http, {});
    const auto found = client.referrers(image("ghcr.io/acme/web:1.0"), k_subject, k_bundle_type);
    REQUIRE(found.ok());
    CHECK(digests(*found) == std::vector<std::string>{bundle});
    CHECK((*found)[0].artifact_type == k_bundle_type);
    CHECK((*found)[0].size == 819);
    CHECK((*found)[0].annotations.at("dev.sigstore.bundle.content") == "dsse-envelope");
    REQUIRE(http.requests.size() == 1);
    CHECK(http.requests[0].url ==
          "https://ghcr.io/v2/acme/web/referrers/" + k_subject +
              "?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson");
    CHECK(header(http.requests[0], "Accept") == "application/vnd.oci.image.index.v1+json");
    CHECK(http.requests[0].max_body == 4 * 1024 * 1024);

    // Without a filter, every referrer in the registry's order.
    const auto all = client.referrers(image("ghcr.io/acme/web:1.0"), k_subject, "");
    REQUIRE(all.ok());
    CHECK(digests(*all) == std::vector<std::string>{sbom, bundle});
    CHECK(http.requests.back().url == "https://ghcr.io/v2/acme/web/referrers/" + k_subject);
}

TEST_CASE("referrers: Link pages are followed on the same registry only, and bounded",
          "[sources][registry][referrers]") {
    const std::string first = digest_of("first");
    const std::string second = digest_of("second");
    FakeHttp http;
    std::string next_link = "</v2/acme/web/referrers/" + k_subject + "?n=1&last=x>; rel=\"next\"";
    http.handler = [&](const HttpRequest& request) {
        if (request.url.find("last=x") != std::string::npos) {
            return respond(200, index_of({{second, k_bundle_type}}));
        }
        return respond(200, index_of({{first, k_bundle_type}}), {{"link", next_link}});
    };
    RegistryClient client(http, {});
    const auto ref = image("ghcr.io/acme/web:1.0");
    const auto paged = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE(paged.ok());
    CHECK(digests(*paged) == std::vector<std::string>{first, second});
    CHECK(http.requests.back().url ==
          "https://ghcr.io/v2/acme/web/referrers/" + k_subject + "?n=1&last=x");

    next_link = "<https://evil.example.com/v2/acme/web/referrers/x>; rel=\"next\"";
    const auto elsewhere = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE_FALSE(elsewhere.ok());
    CHECK(elsewhere.error().kind == Error::Kind::Failed);
    CHECK_THAT(elsewhere.error().message, Catch::Contains("another host"));

    // A registry that links every page to a new one is cut off.
    int page = 0;
    http.handler = [&](const HttpRequest&) {
        return respond(200, index_of({}),
                       {{"link", fmt::format("</v2/acme/web/referrers/{}?p={}>; rel=\"next\"",
                                             k_subject, ++page)}});
    };
    const auto endless = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE_FALSE(endless.ok());
    CHECK_THAT(endless.error().message, Catch::Contains("more than 16 pages"));
}

TEST_CASE("referrers: a 404 from the API falls back to the sha256-<hex> tag index",
          "[sources][registry][referrers]") {
    const std::string bundle = digest_of("bundle");
    const std::string sbom = digest_of("sbom");
    const std::string tag_index = index_of({{bundle, k_bundle_type}, {sbom, k_sbom_type}});
    long tag_status = 200;
    FakeHttp http;
    http.handler = [&](const HttpRequest& request) {
        if (request.url.find("/referrers/") != std::string::npos) {
            return respond(404, R"({"errors":[{"code":"NOT_FOUND"}]})");
        }
        return respond(tag_status, tag_index,
                       {{"content-type", "application/vnd.oci.image.index.v1+json"}});
    };
    RegistryClient client(http, {});
    const auto ref = image("registry.example.com/acme/web:1.0");
    const auto found = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE(found.ok());
    CHECK(digests(*found) == std::vector<std::string>{bundle});
    REQUIRE(http.requests.size() == 2);
    CHECK(http.requests[1].url ==
          "https://registry.example.com/v2/acme/web/manifests/"
          "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    CHECK_THAT(header(http.requests[1], "Accept"),
               Catch::Contains("application/vnd.oci.image.index.v1+json"));

    // No tag index either: nothing refers to the image, which is an answer, not an error.
    tag_status = 404;
    const auto none = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE(none.ok());
    CHECK(none->empty());
}

TEST_CASE("referrers: malformed answers are Failed, bad arguments InvalidInput, 401 Unauthorized",
          "[sources][registry][referrers]") {
    std::string body;
    long status = 200;
    FakeHttp http;
    http.handler = [&](const HttpRequest&) { return respond(status, body); };
    RegistryClient client(http, {});
    client.set_retry_policy({0});
    const auto ref = image("ghcr.io/acme/web:1.0");

    for (const auto& [answer, expected] : std::vector<std::pair<std::string, std::string>>{
             {"<html>", "not JSON"},
             {"[]", "expected an image index"},
             {R"({"schemaVersion":2})", "no \"manifests\" list"},
             {R"({"schemaVersion":1,"manifests":[]})", "schemaVersion is not 2"},
         }) {
        INFO(answer);
        body = answer;
        const auto bad = client.referrers(ref, k_subject, k_bundle_type);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().kind == Error::Kind::Failed);
        CHECK_THAT(bad.error().message, Catch::Contains("ghcr.io") && Catch::Contains(k_subject) &&
                                            Catch::Contains(expected));
    }

    const auto size = http.requests.size();
    const auto bad_digest = client.referrers(ref, "sha256:../../etc", k_bundle_type);
    REQUIRE_FALSE(bad_digest.ok());
    CHECK(bad_digest.error().kind == Error::Kind::InvalidInput);
    const auto bad_type = client.referrers(ref, k_subject, "a b\r\nX-Injected: 1");
    REQUIRE_FALSE(bad_type.ok());
    CHECK(bad_type.error().kind == Error::Kind::InvalidInput);
    CHECK(http.requests.size() == size);  // neither reached the registry

    status = 401;
    body = "";
    const auto refused = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == Error::Kind::Unauthorized);

    status = 500;
    const auto down = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().kind == Error::Kind::Failed);
    CHECK_THAT(down.error().message, Catch::Contains("HTTP 500"));
}

TEST_CASE("referrers index: descriptors without a valid digest are skipped, bounds hold",
          "[sources][registry][referrers]") {
    const std::string good = digest_of("good");
    const auto parsed = sources::parse_referrers_index(
        R"({"schemaVersion":2,"manifests":[1,{"digest":"sha256:nothex"},)"
        R"({"digest":")" +
        good + R"(","artifactType":7,"size":-1,"annotations":{"a":"b","n":1}}]})");
    REQUIRE(parsed.ok());
    REQUIRE(parsed->size() == 1);
    CHECK((*parsed)[0].digest == good);
    CHECK((*parsed)[0].artifact_type.empty());
    CHECK((*parsed)[0].size == 0);
    CHECK((*parsed)[0].annotations == std::map<std::string, std::string>{{"a", "b"}});

    std::string many = R"({"schemaVersion":2,"manifests":[)";
    for (int i = 0; i < 1025; ++i) {
        many += std::string(i == 0 ? "" : ",") + "{}";
    }
    many += "]}";
    const auto too_many = sources::parse_referrers_index(many);
    REQUIRE_FALSE(too_many.ok());
    CHECK_THAT(too_many.error().message, Catch::Contains("1025 descriptors"));
}

// ---------------------------------------------------------------------------------------------
// Over real HTTP: a loopback server answering the referrers API as an OCI 1.1 registry does.

namespace {

/// Serves `GET /v2/<name>/referrers/<digest>` from `indexes` (by digest; an empty index for
/// others), applying the artifactType filter and saying so with OCI-Filters-Applied, as the
/// distribution spec describes. Records each request's path and filter.
class ReferrersServer {
public:
    explicit ReferrersServer(std::map<std::string, std::string> indexes)
        : m_indexes(std::move(indexes)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        m_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr,
                                    &ReferrersServer::handle, this, MHD_OPTION_SOCK_ADDR, &addr,
                                    MHD_OPTION_END);
        REQUIRE(m_daemon != nullptr);
        host = fmt::format("127.0.0.1:{}",
                           MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_BIND_PORT)->port);
    }
    ~ReferrersServer() { MHD_stop_daemon(m_daemon); }
    ReferrersServer(const ReferrersServer&) = delete;
    ReferrersServer& operator=(const ReferrersServer&) = delete;

    std::vector<std::string> seen() {
        std::lock_guard lock(m_mutex);
        return m_seen;
    }

    std::string host;

private:
    static MHD_Result handle(void* self_ptr, MHD_Connection* connection, const char* url,
                             const char*, const char*, const char*, size_t*, void**) {
        auto* self = static_cast<ReferrersServer*>(self_ptr);
        const char* filter =
            MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "artifactType");
        const std::string path = url;
        {
            std::lock_guard lock(self->m_mutex);
            self->m_seen.push_back(path + " " + (filter == nullptr ? "-" : filter));
        }
        unsigned status = MHD_HTTP_NOT_FOUND;
        std::string body = R"({"errors":[{"code":"NOT_FOUND"}]})";
        const std::string prefix = "/v2/acme/web/referrers/";
        if (path.rfind(prefix, 0) == 0) {
            status = MHD_HTTP_OK;
            const auto it = self->m_indexes.find(path.substr(prefix.size()));
            auto index =
                nlohmann::json::parse(it == self->m_indexes.end() ? index_of({}) : it->second);
            if (filter != nullptr) {
                auto& manifests = index["manifests"];
                for (auto m = manifests.begin(); m != manifests.end();) {
                    m = m->value("artifactType", "") == filter ? m + 1 : manifests.erase(m);
                }
            }
            body = index.dump();
        }
        MHD_Response* response = MHD_create_response_from_buffer(
            body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(response, "Content-Type",
                                "application/vnd.oci.image.index.v1+json");
        if (filter != nullptr) {
            MHD_add_response_header(response, "OCI-Filters-Applied", "artifactType");
        }
        const MHD_Result result = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return result;
    }

    std::map<std::string, std::string> m_indexes;
    MHD_Daemon* m_daemon = nullptr;
    std::mutex m_mutex;
    std::vector<std::string> m_seen;
};

}  // namespace

TEST_CASE("referrers: over HTTP, a registry with the referrers API is asked once per lookup",
          "[sources][registry][referrers]") {
    const std::string bundle = digest_of("bundle");
    const std::string sbom = digest_of("sbom");
    std::map<std::string, std::string> indexes;
    indexes[k_subject] = index_of({{sbom, k_sbom_type}, {bundle, k_bundle_type}});
    ReferrersServer server(std::move(indexes));
    sys::CurlHttpClient http;
    RegistryClient client(http, {});  // a loopback registry without an entry: plain HTTP
    const auto ref = image(server.host + "/acme/web:1.0");

    const auto found = client.referrers(ref, k_subject, k_bundle_type);
    REQUIRE(found.ok());
    CHECK(digests(*found) == std::vector<std::string>{bundle});
    const auto none = client.referrers(ref, digest_of("unsigned image"), k_bundle_type);
    REQUIRE(none.ok());
    CHECK(none->empty());

    // The filter arrived decoded as sent, and no tag index was asked for.
    CHECK(server.seen() ==
          std::vector<std::string>{
              "/v2/acme/web/referrers/" + k_subject + " " + k_bundle_type,
              "/v2/acme/web/referrers/" + digest_of("unsigned image") + " " + k_bundle_type});
}

// ---------------------------------------------------------------------------------------------
// Integration: the test registry (docker-registry 2.8), which has no referrers API, with a
// referrers tag index laid out here as the distribution spec describes it.

TEST_CASE("referrers: registry 2.8 answers 404 to the API; the tag index is read instead",
          "[integration][registry][referrers]") {
    const char* host_env = std::getenv("AGENTD_TEST_REGISTRY");
    INFO("AGENTD_TEST_REGISTRY (host:port of a plain-HTTP test registry) must be set");
    REQUIRE(host_env != nullptr);
    const std::string host = host_env;
    const std::string repository = "agentd-it/referrers";
    testing::RegistryPusher pusher(host);
    // A new image on each run (its layer names the time), so it has no tag index yet.
    const std::string subject = pusher.push_image(
        repository, "1.0",
        fmt::format("layer {}", std::chrono::system_clock::now().time_since_epoch().count()));

    // Two artifacts referring to the image: a bundle and an SBOM, each an OCI manifest with an
    // empty config, its content as the one layer and the image as its subject.
    const auto artifact = [&](const std::string& type, const std::string& content) {
        const std::string empty = "{}";
        const std::string config = pusher.push_blob(repository, empty);
        const std::string layer = pusher.push_blob(repository, content);
        const std::string manifest = fmt::format(
            R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("artifactType":"{0}","config":{{"mediaType":"application/vnd.oci.empty.v1+json",)"
            R"("digest":"{1}","size":2}},"layers":[{{"mediaType":"{0}","digest":"{2}","size":{3}}}],)"
            R"("subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{4}",)"
            R"("size":1}}}})",
            type, config, layer, content.size(), subject);
        const std::string digest = digest_of(manifest);
        pusher.push_manifest(repository, digest, "application/vnd.oci.image.manifest.v1+json",
                             manifest);
        return digest;
    };
    const std::string bundle = artifact(k_bundle_type, R"({"mediaType":"bundle"})");
    const std::string sbom = artifact(k_sbom_type, R"({"spdxVersion":"SPDX-2.3"})");

    sys::CurlHttpClient http;
    RegistryClient client(http, {});
    const auto ref = image(host + "/" + repository + ":1.0");
    // Before any tag index exists nothing refers to the image.
    const auto before = client.referrers(ref, subject, k_bundle_type);
    REQUIRE(before.ok());
    CHECK(before->empty());

    std::string tag = subject;
    tag[tag.find(':')] = '-';
    pusher.push_manifest(repository, tag, "application/vnd.oci.image.index.v1+json",
                         index_of({{sbom, k_sbom_type}, {bundle, k_bundle_type}}));
    const auto found = client.referrers(ref, subject, k_bundle_type);
    REQUIRE(found.ok());
    CHECK(digests(*found) == std::vector<std::string>{bundle});
    const auto all = client.referrers(ref, subject, "");
    REQUIRE(all.ok());
    CHECK(digests(*all) == std::vector<std::string>{sbom, bundle});
    // The artifact it names is there, with the image as its subject.
    ImageRef artifact_ref = ref;
    artifact_ref.tag.clear();
    artifact_ref.digest = bundle;
    const auto manifest = client.get_manifest(artifact_ref);
    REQUIRE(manifest.ok());
    CHECK(nlohmann::json::parse(manifest->body)["subject"]["digest"] == subject);
}

// ---------------------------------------------------------------------------------------------
// Integration: the test registry (docker-registry 2.8, no referrers API) holding a Sigstore
// bundle that @sigstore/oci attached to an image (tests/sigstore/make-cases.js --push, run by
// scripts/test, which sets AGENTD_TEST_SIGSTORE_CASES to its case directory).

TEST_CASE("referrers: registry 2.8 lists the bundle @sigstore/oci attached, by the tag index",
          "[integration][registry][referrers][sigstore]") {
    const auto cases_dir = testing::sigstore_cases_dir();
    if (!cases_dir) {
        return;
    }
    const auto cases = nlohmann::json::parse(testing::read_fixture(*cases_dir / "cases.json"));
    REQUIRE(cases.contains("pushed"));
    const auto& pushed = cases["pushed"];
    INFO("cases.json: pushed " << pushed.dump());
    REQUIRE(pushed.is_object());

    sys::CurlHttpClient http;
    RegistryClient client(http, {});
    const auto ref = image(pushed["repository"].get<std::string>() + ":signed");
    const std::string subject = pushed["subject"];

    const auto found = client.referrers(ref, subject, k_bundle_type);
    REQUIRE(found.ok());
    REQUIRE(found->size() == 1);
    CHECK((*found)[0].digest == pushed["artifact"].get<std::string>());
    CHECK((*found)[0].artifact_type == k_bundle_type);
    CHECK((*found)[0].media_type == "application/vnd.oci.image.manifest.v1+json");

    // The artifact's manifest names the image as its subject and holds the bundle as its layer.
    ImageRef artifact_ref = ref;
    artifact_ref.tag.clear();
    artifact_ref.digest = (*found)[0].digest;
    const auto manifest = client.get_manifest(artifact_ref);
    REQUIRE(manifest.ok());
    const auto body = nlohmann::json::parse(manifest->body);
    CHECK(body["subject"]["digest"] == subject);
    CHECK(body["artifactType"] == k_bundle_type);
    const std::string layer = body["layers"][0]["digest"];
    const auto bundle = client.get_blob(ref, layer, 1024 * 1024);
    REQUIRE(bundle.ok());
    const std::string expected =
        testing::read_fixture(*cases_dir / pushed["bundle"].get<std::string>());
    CHECK(nlohmann::json::parse(*bundle) == nlohmann::json::parse(expected));

    // Other artifact types are not listed; an image nothing refers to has an empty list.
    const auto sboms = client.referrers(ref, subject, k_sbom_type);
    REQUIRE(sboms.ok());
    CHECK(sboms->empty());
    const auto unsigned_image = client.referrers(ref, digest_of("never pushed"), k_bundle_type);
    REQUIRE(unsigned_image.ok());
    CHECK(unsigned_image->empty());
}

}  // namespace unit_sources_registry_referrers_test
