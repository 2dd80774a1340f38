#include "agent/policy/tag_order.h"

#include <catch2/catch.hpp>

namespace unit_policy_tag_order_test {

using namespace agentd::policy;
using Tags = std::vector<std::string>;

TEST_CASE("tag order: digit runs compare as numbers", "[policy]") {
    CHECK(natural_compare("main-9", "main-10") < 0);
    CHECK(natural_compare("main-10", "main-9") > 0);
    CHECK(natural_compare("20240101", "20231231") > 0);
    CHECK(natural_compare("a", "a1") < 0);
    CHECK(natural_compare("abc", "abd") < 0);
    CHECK(natural_compare("x", "x") == 0);
    // Equal up to leading zeros: still a total order, by bytes.
    CHECK(natural_compare("v01", "v1") < 0);
    CHECK(natural_compare("v1", "v01") > 0);
}

TEST_CASE("tag order: versions by precedence, then the rest naturally", "[policy]") {
    CHECK(listing_order({"latest", "v1.10.0", "1.9.0", "main-10", "2.0.0-rc.1", "2.0.0", "main-9",
                         "1.2", "sha256-ab.sig", "v1.9.0"}) ==
          Tags{"1.9.0", "v1.9.0", "v1.10.0", "2.0.0-rc.1", "2.0.0", "1.2", "latest", "main-9",
               "main-10", "sha256-ab.sig"});
}

TEST_CASE("tag order: duplicates are listed once", "[policy]") {
    CHECK(listing_order({"b", "a", "b", "1.0.0", "1.0.0"}) == Tags{"1.0.0", "a", "b"});
    CHECK(listing_order({}).empty());
}

}  // namespace unit_policy_tag_order_test
