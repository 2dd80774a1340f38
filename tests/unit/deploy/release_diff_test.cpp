#include "agent/deploy/release_diff.h"

#include <catch2/catch.hpp>

namespace unit_deploy_release_diff_test {

using namespace agentd;
using deploy::ImageVersion;

namespace {

const std::string k_digest1 = "sha256:" + std::string(64, '1');
const std::string k_digest2 = "sha256:" + std::string(64, '2');

}  // namespace

TEST_CASE("release diff: a recorded image splits into name, tag and digest", "[deploy]") {
    CHECK(deploy::split_image("127.0.0.1:5000/acme/web:2.0@" + k_digest1) ==
          ImageVersion{"127.0.0.1:5000/acme/web", "2.0", k_digest1});
    // a registry's port is not a tag
    CHECK(deploy::split_image("127.0.0.1:5000/acme/web@" + k_digest1) ==
          ImageVersion{"127.0.0.1:5000/acme/web", "", k_digest1});
    CHECK(deploy::split_image("localhost:5000/web") == ImageVersion{"localhost:5000/web", "", ""});
    CHECK(deploy::split_image("nginx:1.25") == ImageVersion{"nginx", "1.25", ""});
    CHECK(deploy::split_image("nginx") == ImageVersion{"nginx", "", ""});
}

TEST_CASE("release diff: services changed, added, removed and kept", "[deploy]") {
    const std::map<std::string, std::string> from{
        {"web", "r/web:1.0@" + k_digest1},
        {"worker", "r/worker:1.0@" + k_digest1},
        {"cron", "r/cron:1@" + k_digest1},
        {"db", "r/db:15@" + k_digest1},
    };
    const std::map<std::string, std::string> to{
        {"web", "r/web:2.0@" + k_digest2},        // new tag and digest
        {"worker", "r/worker:1.0@" + k_digest2},  // same tag, re-pushed
        {"db", "r/db:15@" + k_digest1},           // unchanged
        {"api", "r/api:1@" + k_digest2},          // new service
    };
    const auto c = deploy::compare_images(from, to);
    REQUIRE(c.changed.size() == 2);
    CHECK(c.changed[0].service == "web");
    CHECK(c.changed[0].from == ImageVersion{"r/web", "1.0", k_digest1});
    CHECK(c.changed[0].to == ImageVersion{"r/web", "2.0", k_digest2});
    CHECK(c.changed[1].service == "worker");
    CHECK(c.changed[1].from.tag == c.changed[1].to.tag);
    CHECK(c.added == std::vector<std::string>{"api"});
    CHECK(c.removed == std::vector<std::string>{"cron"});
    CHECK(c.same == std::vector<std::string>{"db"});
    CHECK_FALSE(c.empty());

    const auto doc = deploy::to_json(c, from, to);
    CHECK(doc["changed"][0]["service"] == "web");
    CHECK(doc["changed"][0]["from"]["tag"] == "1.0");
    CHECK(doc["changed"][0]["to"]["digest"] == k_digest2);
    CHECK(doc["added"][0] ==
          nlohmann::json{
              {"service", "api"}, {"image", "r/api"}, {"tag", "1"}, {"digest", k_digest2}});
    CHECK(doc["removed"][0]["service"] == "cron");
    CHECK(doc["removed"][0]["digest"] == k_digest1);
}

TEST_CASE("release diff: the same images are no change; a digest-only image has no tag",
          "[deploy]") {
    const std::map<std::string, std::string> images{{"web", "r/web@" + k_digest1}};
    const auto c = deploy::compare_images(images, images);
    CHECK(c.empty());
    CHECK(c.same == std::vector<std::string>{"web"});
    const auto doc = deploy::to_json(c, images, images);
    CHECK(doc["changed"].empty());
    CHECK(doc["added"].empty());
    CHECK(doc["removed"].empty());
    const auto added = deploy::to_json(deploy::compare_images({}, images), {}, images);
    CHECK(added["added"][0]["tag"].is_null());
    CHECK(added["added"][0]["digest"] == k_digest1);
}

}  // namespace unit_deploy_release_diff_test
