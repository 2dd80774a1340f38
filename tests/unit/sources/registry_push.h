#pragma once
// Test helper: pushes blobs and manifests to a plain-HTTP test registry through the
// distribution API (monolithic uploads), so tests can lay out any artifact exactly, e.g. a
// cosign signature. Uses the HTTP client only; digests are computed by OpenSSL through
// sys::sha256_hex.

#include <string>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "agent/sys/files.h"
#include "agent/sys/http.h"

namespace agentd::testing {

class RegistryPusher {
public:
    /// `host` is host:port of a plain-HTTP registry without authentication.
    explicit RegistryPusher(std::string host) : m_host(std::move(host)) {}

    /// Uploads `content` as a blob of `repository`; returns its digest.
    std::string push_blob(const std::string& repository, const std::string& content) {
        const std::string digest = "sha256:" + sys::sha256_hex(content);
        sys::HttpRequest start;
        start.method = "POST";
        start.url = fmt::format("http://{}/v2/{}/blobs/uploads/", m_host, repository);
        const auto started = m_http.send(start);
        REQUIRE(started.ok());
        REQUIRE(started->status == 202);
        auto location = started->header("location");
        REQUIRE(location.has_value());
        if (location->rfind("/", 0) == 0) {
            *location = fmt::format("http://{}{}", m_host, *location);
        }
        sys::HttpRequest put;
        put.method = "PUT";
        put.url =
            *location + (location->find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
        put.body = content;
        put.headers.emplace_back("Content-Type", "application/octet-stream");
        const auto done = m_http.send(put);
        REQUIRE(done.ok());
        REQUIRE(done->status == 201);
        return digest;
    }

    /// Puts `body` as a manifest of `repository` under `reference` (a tag or digest);
    /// returns its digest.
    std::string push_manifest(const std::string& repository, const std::string& reference,
                              const std::string& media_type, const std::string& body) {
        sys::HttpRequest put;
        put.method = "PUT";
        put.url = fmt::format("http://{}/v2/{}/manifests/{}", m_host, repository, reference);
        put.body = body;
        put.headers.emplace_back("Content-Type", media_type);
        const auto done = m_http.send(put);
        REQUIRE(done.ok());
        INFO(done->body);
        REQUIRE(done->status == 201);
        return "sha256:" + sys::sha256_hex(body);
    }

    /// A minimal OCI image (an empty JSON config, one layer) under `tag`; returns its digest.
    std::string push_image(const std::string& repository, const std::string& tag,
                           const std::string& layer_content) {
        const std::string config = "{}";
        const std::string config_digest = push_blob(repository, config);
        const std::string layer_digest = push_blob(repository, layer_content);
        const std::string manifest = fmt::format(
            R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("config":{{"mediaType":"application/vnd.oci.image.config.v1+json",)"
            R"("digest":"{}","size":{}}},"layers":[{{"mediaType":)"
            R"("application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}})",
            config_digest, config.size(), layer_digest, layer_content.size());
        return push_manifest(repository, tag, "application/vnd.oci.image.manifest.v1+json",
                             manifest);
    }

private:
    std::string m_host;
    sys::CurlHttpClient m_http;
};

}  // namespace agentd::testing
