#include "agent/deploy/services_cache.h"

#include <unistd.h>
#include <catch2/catch.hpp>

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
