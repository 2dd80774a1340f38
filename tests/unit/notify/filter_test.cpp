#include "agent/notify/filter.h"

#include <catch2/catch.hpp>

namespace unit_notify_filter_test {

using namespace agentd;
using notify::EventFilter;
using notify::Kind;
using notify::Notification;

namespace {

Notification of(Kind kind, std::optional<Kind> resolves = std::nullopt) {
    Notification n;
    n.stack = "shop";
    n.kind = kind;
    n.resolves = resolves;
    return n;
}

}  // namespace

TEST_CASE("notify filter: without events every kind is sent", "[notify][filter]") {
    EventFilter all;
    for (Kind k : notify::all_kinds()) {
        CHECK(all.wants(of(k)));
    }
}

TEST_CASE("notify filter: only the listed kinds are sent", "[notify][filter]") {
    EventFilter some({Kind::RolledBack, Kind::Failed});
    CHECK(some.wants(of(Kind::RolledBack)));
    CHECK(some.wants(of(Kind::Failed)));
    CHECK_FALSE(some.wants(of(Kind::Succeeded)));
    CHECK_FALSE(some.wants(of(Kind::Started)));
    CHECK_FALSE(some.wants(of(Kind::PollFailing)));
}

TEST_CASE("notify filter: who was told of a problem hears it is resolved", "[notify][filter]") {
    EventFilter failures({Kind::RolledBack});
    CHECK(failures.wants(of(Kind::Resolved, Kind::RolledBack)));
    CHECK_FALSE(failures.wants(of(Kind::Resolved, Kind::PollFailing)));
    CHECK_FALSE(failures.wants(of(Kind::Resolved)));
    EventFilter resolved({Kind::Resolved});
    CHECK(resolved.wants(of(Kind::Resolved, Kind::PollFailing)));
    EventFilter none(std::set<Kind>{});
    for (Kind k : notify::all_kinds()) {
        CHECK_FALSE(none.wants(of(k, Kind::Failed)));
    }
}

}  // namespace unit_notify_filter_test
