#include "agent/sources/image_ref.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace unit_sources_image_ref_test {

using agentd::sources::ImageRef;
using agentd::sys::Error;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Valid {
    std::string text;
    std::string registry;
    std::string repository;
    std::string tag;
    std::string digest;
    std::string familiar;
};

}  // namespace

TEST_CASE("image_ref: valid references parse as Docker normalises them", "[sources][image_ref]") {
    const std::vector<Valid> table = {
        {"nginx", "registry-1.docker.io", "library/nginx", "latest", "", "nginx"},
        {"nginx:1.25", "registry-1.docker.io", "library/nginx", "1.25", "", "nginx"},
        {"nginx:1.25-alpine", "registry-1.docker.io", "library/nginx", "1.25-alpine", "", "nginx"},
        {"acme/web", "registry-1.docker.io", "acme/web", "latest", "", "acme/web"},
        {"acme/web:2.4.0", "registry-1.docker.io", "acme/web", "2.4.0", "", "acme/web"},
        {"docker.io/nginx", "registry-1.docker.io", "library/nginx", "latest", "", "nginx"},
        {"docker.io/library/nginx:1", "registry-1.docker.io", "library/nginx", "1", "", "nginx"},
        {"index.docker.io/acme/web", "registry-1.docker.io", "acme/web", "latest", "", "acme/web"},
        {"library/nginx", "registry-1.docker.io", "library/nginx", "latest", "", "nginx"},
        {"library/a/b", "registry-1.docker.io", "library/a/b", "latest", "", "library/a/b"},
        {"ghcr.io/acme/web:2.4.0", "ghcr.io", "acme/web", "2.4.0", "", "ghcr.io/acme/web"},
        {"ghcr.io/acme/team/web", "ghcr.io", "acme/team/web", "latest", "",
         "ghcr.io/acme/team/web"},
        {"127.0.0.1:5000/web", "127.0.0.1:5000", "web", "latest", "", "127.0.0.1:5000/web"},
        {"127.0.0.1:5000/a/b:v1", "127.0.0.1:5000", "a/b", "v1", "", "127.0.0.1:5000/a/b"},
        {"localhost/web", "localhost", "web", "latest", "", "localhost/web"},
        {"localhost:5000/web:x", "localhost:5000", "web", "x", "", "localhost:5000/web"},
        {"registry:5000/web", "registry:5000", "web", "latest", "", "registry:5000/web"},
        {"Registry.Example.COM/web", "Registry.Example.COM", "web", "latest", "",
         "Registry.Example.COM/web"},
        {"MyHost/web", "MyHost", "web", "latest", "", "MyHost/web"},
        {"[::1]:5000/web:1", "[::1]:5000", "web", "1", "", "[::1]:5000/web"},
        {"[fe80::1]/web", "[fe80::1]", "web", "latest", "", "[fe80::1]/web"},
        {"my-registry.example.com/a.b/c_d/e__f/g-h/i---j", "my-registry.example.com",
         "a.b/c_d/e__f/g-h/i---j", "latest", "", "my-registry.example.com/a.b/c_d/e__f/g-h/i---j"},
        {"nginx@" + k_digest, "registry-1.docker.io", "library/nginx", "", k_digest, "nginx"},
        {"nginx:1.25@" + k_digest, "registry-1.docker.io", "library/nginx", "1.25", k_digest,
         "nginx"},
        {"host:5000/a/b@" + k_digest, "host:5000", "a/b", "", k_digest, "host:5000/a/b"},
        {"web:_under", "registry-1.docker.io", "library/web", "_under", "", "web"},
        {"web:UPPER.case-Tag_1", "registry-1.docker.io", "library/web", "UPPER.case-Tag_1", "",
         "web"},
        {"web:" + std::string(128, 'a'), "registry-1.docker.io", "library/web",
         std::string(128, 'a'), "", "web"},
        {"0/1", "registry-1.docker.io", "0/1", "latest", "", "0/1"},
    };
    for (const auto& row : table) {
        INFO(row.text);
        const auto ref = ImageRef::parse(row.text);
        REQUIRE(ref.ok());
        CHECK(ref->registry == row.registry);
        CHECK(ref->repository == row.repository);
        CHECK(ref->tag == row.tag);
        CHECK(ref->digest == row.digest);
        CHECK(ref->familiar_name() == row.familiar);
    }
}

TEST_CASE("image_ref: invalid references are refused with a message naming them",
          "[sources][image_ref]") {
    const std::vector<std::pair<std::string, std::string>> table = {
        {"", "empty"},
        {"Nginx", "lower-case"},
        {"acme/Web", "lower-case"},
        {"ghcr.io/Acme/web", "lower-case"},
        {"nginx:", "tag"},
        {"nginx:-dash", "tag"},
        {"nginx:.dot", "tag"},
        {"nginx:a+b", "tag"},
        {"nginx:a:b", "components"},
        {"nginx:" + std::string(129, 'a'), "tag"},
        {"nginx@sha256:abc", "digest"},
        {"nginx@sha256:" + std::string(64, 'A'), "digest"},
        {"nginx@sha512:" + std::string(64, 'a'), "digest"},
        {"nginx@", "digest"},
        {"@" + k_digest, "missing repository"},
        {":tag", "missing repository"},
        {"/nginx", "components"},
        {"nginx/", "components"},
        {"a//b", "components"},
        {"-a/b", "components"},
        {"a-/b", "components"},
        {"a..b", "components"},
        {"a___b", "components"},
        {"a._b", "components"},
        {"a b", "components"},
        {"ghcr.io/", "components"},
        {"host:port/web", "registry host"},
        {"host:123456/web", "registry host"},
        {"-host.io/web", "registry host"},
        {"host..io/web", "registry host"},
        {"ho_st.io/web", "registry host"},
        {"[::1/web", "registry host"},
        {"[zz::1]/web", "registry host"},
        {"[::1]x/web", "registry host"},
        {std::string(64, 'a'), "64-character hex"},
        {"docker.io/" + std::string(64, 'b'), "64-character hex"},
        {"ghcr.io/" + std::string(250, 'a'), "longer than 255"},
    };
    for (const auto& [text, why] : table) {
        INFO(text);
        const auto ref = ImageRef::parse(text);
        REQUIRE_FALSE(ref.ok());
        CHECK(ref.error().kind == Error::Kind::InvalidInput);
        CHECK_THAT(ref.error().message, Catch::Contains("\"" + text + "\""));
        CHECK_THAT(ref.error().message, Catch::Contains(why));
    }
}

TEST_CASE("image_ref: a 64-hex repository is allowed outside Docker Hub", "[sources][image_ref]") {
    const auto ref = ImageRef::parse("ghcr.io/" + std::string(64, 'a'));
    REQUIRE(ref.ok());
    CHECK(ref->repository == std::string(64, 'a'));
}

TEST_CASE("image_ref: auth_host is docker.io for Hub and the registry otherwise",
          "[sources][image_ref]") {
    CHECK(ImageRef::parse("nginx")->auth_host() == "docker.io");
    CHECK(ImageRef::parse("docker.io/acme/web")->auth_host() == "docker.io");
    CHECK(ImageRef::parse("ghcr.io/acme/web")->auth_host() == "ghcr.io");
    CHECK(ImageRef::parse("127.0.0.1:5000/web")->auth_host() == "127.0.0.1:5000");
    CHECK(ImageRef::parse("nginx")->is_docker_hub());
    CHECK_FALSE(ImageRef::parse("ghcr.io/acme/web")->is_docker_hub());
}

TEST_CASE("image_ref: pinned names the image by digest", "[sources][image_ref]") {
    CHECK(ImageRef::parse("nginx:1.25")->pinned(k_digest) == "nginx@" + k_digest);
    CHECK(ImageRef::parse("ghcr.io/acme/web:2")->pinned(k_digest) ==
          "ghcr.io/acme/web@" + k_digest);
    CHECK(ImageRef::parse("acme/web")->pinned(k_digest) == "acme/web@" + k_digest);
}

TEST_CASE("image_ref: a Hub repository whose first component looks like a host keeps docker.io/",
          "[sources][image_ref]") {
    // Found by tests/fuzz/image_ref: "docker.io/evil.com/x" is Docker Hub's evil.com/x, but its
    // familiar name "evil.com/x" reads as the host evil.com; pinned() then sent the Engine (with
    // the Hub credentials) to another registry.
    for (const std::string text : {"docker.io/evil.com/x:1", "docker.io/localhost/x:1",
                                   "index.docker.io/a.b/c:1"}) {
        const auto ref = ImageRef::parse(text);
        REQUIRE(ref);
        CHECK(ref->registry == "registry-1.docker.io");
        CHECK(ref->familiar_name().rfind("docker.io/", 0) == 0);
        const auto again = ImageRef::parse(ref->pinned(k_digest));
        REQUIRE(again);
        CHECK(again->registry == "registry-1.docker.io");
        CHECK(again->repository == ref->repository);
    }
    CHECK(ImageRef::parse("docker.io/evil.com/x")->pinned(k_digest) ==
          "docker.io/evil.com/x@" + k_digest);
    // Found by tests/fuzz/image_ref: Hub's registry host written out was not normalised, so
    // "registry-1.docker.io/nginx" had the repository "nginx" instead of "library/nginx".
    const auto written = ImageRef::parse("registry-1.docker.io/nginx:1");
    REQUIRE(written);
    CHECK(written->registry == "registry-1.docker.io");
    CHECK(written->repository == "library/nginx");
    CHECK(written->familiar_name() == "nginx");
    // Found by tests/fuzz/image_ref: "library/<64 hex>" is allowed, but its short name would be
    // refused as an image ID; it keeps "library/".
    const std::string hex(64, 'a');
    const auto official = ImageRef::parse("library/" + hex + ":1");
    REQUIRE(official);
    CHECK(official->familiar_name() == "library/" + hex);
    REQUIRE(ImageRef::parse(official->familiar_name()));
    CHECK(ImageRef::parse(official->familiar_name())->repository == official->repository);
    // Names that cannot be read as a host keep their short form.
    CHECK(ImageRef::parse("docker.io/acme/web")->familiar_name() == "acme/web");
    CHECK(ImageRef::parse("docker.io/library/nginx")->familiar_name() == "nginx");
}

TEST_CASE("image_ref: digest, tag and repository validators", "[sources][image_ref]") {
    using namespace agentd::sources;
    CHECK(valid_digest(k_digest));
    CHECK_FALSE(valid_digest(k_digest.substr(0, k_digest.size() - 1)));
    CHECK_FALSE(valid_digest(k_digest + "0"));
    CHECK_FALSE(valid_digest("sha256:" + std::string(63, 'a') + "g"));
    CHECK_FALSE(valid_digest("SHA256:" + std::string(64, 'a')));
    CHECK_FALSE(valid_digest(""));

    CHECK(valid_tag("v1.2.3"));
    CHECK(valid_tag("main-1700000000"));
    CHECK(valid_tag(std::string(128, 'x')));
    CHECK_FALSE(valid_tag(std::string(129, 'x')));
    CHECK_FALSE(valid_tag(""));
    CHECK_FALSE(valid_tag("-x"));
    CHECK_FALSE(valid_tag("a/b"));
    CHECK_FALSE(valid_tag("a\nb"));

    CHECK(valid_repository("library/nginx"));
    CHECK(valid_repository("a"));
    CHECK_FALSE(valid_repository(""));
    CHECK_FALSE(valid_repository("a/"));
    CHECK_FALSE(valid_repository("A"));
    CHECK_FALSE(valid_repository("a/../b"));
}

}  // namespace unit_sources_image_ref_test
