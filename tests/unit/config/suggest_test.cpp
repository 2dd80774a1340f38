// "did you mean" for unknown keys.

#include <catch2/catch.hpp>

#include "agent/config/suggest.h"

namespace unit_config_suggest_test {

using namespace agentd::config;

TEST_CASE("suggest: edit distance counts swaps as one edit", "[config]") {
    CHECK(edit_distance("health", "health") == 0);
    CHECK(edit_distance("helth", "health") == 1);
    CHECK(edit_distance("heatlh", "health") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("suggest: closest key within two edits, else a prefix, else nothing", "[config]") {
    constexpr std::string_view keys[] = {"name",          "git",        "dir",   "compose_files",
                                         "poll_interval", "image_wait", "health"};
    CHECK(suggest("helth", keys) == "health");
    CHECK(suggest("HEALTH", keys) == "health");
    CHECK(suggest("compose_file", keys) == "compose_files");
    CHECK(suggest("poll", keys) == "poll_interval");          // a prefix
    CHECK(suggest("image_wait_time", keys) == "image_wait");  // starts with a key
    CHECK(suggest("gti", keys) == "git");
    CHECK_FALSE(suggest("colour", keys));
    CHECK_FALSE(suggest("po", keys));  // too short to be a meaningful prefix
}

}  // namespace unit_config_suggest_test
