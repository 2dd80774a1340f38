#include "agent/deploy/services_cache.h"

#include <unistd.h>
#include <catch2/catch.hpp>

#include "agent/sys/files.h"

namespace unit_deploy_services_cache_test {

using namespace agentd;

namespace {

struct TempFile {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("agentd-cache-" + std::to_string(::getpid()));
    std::filesystem::path file = dir / "sub" / "services.json";
    ~TempFile() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("services cache: remembers services and compose's refusal per key", "[deploy]") {
    TempFile t;
    deploy::ServicesCache cache(t.file);
    CHECK_FALSE(cache.find("k1").has_value());
    cache.remember("k1", std::vector<runtime::ComposeService>{{"web", "reg/web:1", false, "always"},
                                                              {"app", "", true, ""}});
    cache.remember("k2", sys::Error::invalid("services.web: bad"));
    cache.remember("k3", sys::Error::failed("docker-compose not found"));

    deploy::ServicesCache reopened(t.file);
    const auto one = reopened.find("k1");
    REQUIRE(one.has_value());
    REQUIRE(one->ok());
    REQUIRE(one->value().size() == 2);
    CHECK(one->value()[0].image == "reg/web:1");
    CHECK(one->value()[1].build);
    const auto two = reopened.find("k2");
    REQUIRE(two.has_value());
    CHECK(two->error().kind == sys::Error::Kind::InvalidInput);
    CHECK(two->error().message == "services.web: bad");
    CHECK_FALSE(reopened.find("k3").has_value());
}

TEST_CASE("services cache: keeps only the newest entries", "[deploy]") {
    TempFile t;
    deploy::ServicesCache cache(t.file);
    for (std::size_t i = 0; i < deploy::ServicesCache::k_entries + 2; ++i) {
        cache.remember("k" + std::to_string(i), std::vector<runtime::ComposeService>{});
    }
    CHECK_FALSE(cache.find("k0").has_value());
    CHECK(cache.find("k9").has_value());
}

TEST_CASE("services cache: keeps each service's file inputs and the stack's inputs", "[deploy]") {
    TempFile t;
    deploy::ServicesCache cache(t.file);
    runtime::ComposeService web{"web", "reg/web:1", false, "always"};
    web.bind_sources = {"/p/shop/nginx.conf"};
    web.env_files = {"/p/shop/web.env"};
    web.files = {"/p/shop/token"};
    runtime::ComposeService app{"app", "", true, ""};
    app.build_context = "/p/shop/app";
    app.build_dockerfile = "../Dockerfile";
    app.build_contexts = {"/p/assets"};
    cache.remember("k1", std::vector<runtime::ComposeService>{web, app});
    CHECK_FALSE(cache.inputs("k1").has_value());

    deploy::StackInputs inputs;
    inputs.paths = {"shop", "shop/nginx.conf", "common/base.yaml"};
    inputs.definitions = {"shop/compose.yaml", "common/base.yaml"};
    inputs.build = {{"app", {"shop/app", "shop/Dockerfile"}}};
    inputs.mounted = {{"web", {"shop/nginx.conf"}}};
    inputs.notes = {"/etc/x is a host path (outside the repository): not versioned"};
    cache.remember_inputs("k1", inputs);
    cache.remember_inputs("absent", inputs);  // no entry: nothing written for it

    deploy::ServicesCache reopened(t.file);
    const auto services = reopened.find("k1");
    REQUIRE(services.has_value());
    REQUIRE(services->ok());
    CHECK(services->value() == std::vector<runtime::ComposeService>{web, app});
    CHECK(reopened.inputs("k1") == std::optional(inputs));
    CHECK_FALSE(reopened.inputs("absent").has_value());
    CHECK_FALSE(reopened.find("absent").has_value());
}

TEST_CASE("services cache: a cache written by an older agentd is ignored", "[deploy]") {
    TempFile t;
    std::filesystem::create_directories(t.file.parent_path());
    // format 1: a bare array, services without their inputs
    REQUIRE(sys::write_file_atomic(
                t.file, R"([{"key":"k1","services":[{"name":"web","image":"w","build":true}]}])")
                .ok());
    deploy::ServicesCache cache(t.file);
    CHECK_FALSE(cache.find("k1").has_value());
    cache.remember("k2", std::vector<runtime::ComposeService>{});
    CHECK(cache.find("k2").has_value());
    CHECK_FALSE(cache.find("k1").has_value());
}

}  // namespace unit_deploy_services_cache_test
