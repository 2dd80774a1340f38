#include "agent/fleet/rollout.h"

#include <catch2/catch.hpp>

namespace unit_fleet_rollout_test {

using namespace agentd::fleet;

const StackKeys keys{"prod", "shop"};

KeyValue slot(const std::string& host, const std::string& release, std::int64_t created) {
    return {keys.slot(host),
            slot_value(host, release, "2026-12-05T10:00:00Z"),
            created,
            created,
            1,
            99};
}

KeyValue done(const std::string& release, const std::string& host, std::int64_t revision) {
    return {keys.done(release, host),
            done_value(host, "2026-12-05T10:00:00Z"),
            revision,
            revision,
            1,
            0};
}

TEST_CASE("rollout: a stack's keys live under /agentd/<group>/<stack>/", "[fleet]") {
    CHECK(keys.root() == "/agentd/prod/shop/");
    CHECK(keys.slot("web-1") == "/agentd/prod/shop/slots/web-1");
    CHECK(keys.halt() == "/agentd/prod/shop/halt");
    CHECK(keys.done("r1") == "/agentd/prod/shop/done/r1/");
    CHECK(keys.done("r1", "web-1") == "/agentd/prod/shop/done/r1/web-1");
}

TEST_CASE("rollout: the view orders the queue by creation, not by name, and reads halt and done",
          "[fleet]") {
    Halt halt{"r2", "web-3", "health gate failed: web unhealthy", "2026-12-05T10:01:00Z"};
    const std::vector<KeyValue> kvs = {
        done("r1", "web-2", 3),
        done("r1", "web-1", 4),
        {keys.halt(), halt_value(halt), 12, 12, 1, 0},
        slot("a-late", "r2", 20),
        slot("z-early", "r2", 10),
        {keys.slot("broken"), "{not json", 11, 11, 1, 0},
        {keys.slot("other"), slot_value("someone-else", "r2", ""), 13, 13, 1, 0},
        {"/agentd/prod/shop/unknown", "x", 1, 1, 1, 0},
    };
    const auto view = read_stack_view(kvs, keys);
    REQUIRE(view.queue.size() == 2);
    CHECK(view.queue[0].host == "z-early");
    CHECK(view.queue[1].host == "a-late");
    CHECK(view.queue[0].release == "r2");
    CHECK(view.queue[0].lease == 99);
    REQUIRE(view.halt);
    CHECK(view.halt->release == "r2");
    CHECK(view.halt->host == "web-3");
    CHECK(view.halt->reason == "health gate failed: web unhealthy");
    CHECK(view.halt->mod_revision == 12);
    CHECK(view.done.at("r1") == std::vector<std::string>{"web-1", "web-2"});
    CHECK(view.malformed == std::vector<std::string>{keys.slot("broken"), keys.slot("other")});
}

TEST_CASE("rollout: a host keeps its done marks of the last two releases, whatever their names",
          "[fleet]") {
    // web-1 finished r9 (oldest), then a1, then m5; web-2's marks are its own business.
    const auto view = read_stack_view(
        {done("r9", "web-1", 5), done("a1", "web-1", 9), done("m5", "web-1", 14),
         done("r9", "web-2", 6), done("a1", "web-2", 10)},
        keys);
    CHECK(view.done_at.at("web-1").at("m5") == 14);
    // Marking z0 done: m5 (the one before) stays, a1 and r9 go.
    auto stale = stale_done_marks(view, "web-1", "z0");
    std::sort(stale.begin(), stale.end());
    CHECK(stale == std::vector<std::string>{"a1", "r9"});
    // Marking m5 done again (a retried end): a1 is the one before, r9 goes.
    CHECK(stale_done_marks(view, "web-1", "m5") == std::vector<std::string>{"r9"});
    CHECK(stale_done_marks(view, "web-2", "z0") == std::vector<std::string>{"r9"});
    CHECK(stale_done_marks(view, "web-3", "z0").empty());
}

TEST_CASE("rollout: the group view splits the group's keys by stack", "[fleet]") {
    const StackKeys tools{"prod", "tools"};
    const std::vector<KeyValue> kvs = {
        slot("web-1", "r1", 5),
        {tools.slot("web-2"), slot_value("web-2", "t1", ""), 6, 6, 1, 7},
        {"/agentd/prod/bad name/slots/x", "{}", 8, 8, 1, 0},
        {"/agentd/prod/", "{}", 9, 9, 1, 0},
        {"/agentd/staging/shop/halt", "{}", 10, 10, 1, 0},  // another group: not listed
    };
    CHECK(group_root("prod") == "/agentd/prod/");
    const auto views = read_group_view(kvs, "prod");
    REQUIRE(views.size() == 3);
    REQUIRE(views.at("shop").queue.size() == 1);
    CHECK(views.at("shop").queue[0].host == "web-1");
    REQUIRE(views.at("tools").queue.size() == 1);
    CHECK(views.at("tools").queue[0].release == "t1");
    CHECK(views.at("").malformed ==
          std::vector<std::string>{"/agentd/prod/bad name/slots/x", "/agentd/prod/"});
}

TEST_CASE("rollout: the max_updating oldest keys hold the slots; the others wait their turn",
          "[fleet]") {
    const auto view = read_stack_view(
        {slot("h1", "r1", 5), slot("h2", "r1", 6), slot("h3", "r1", 7), slot("h4", "r1", 8)}, keys);
    const RolloutRules rules{2, true, 0};
    const auto first = rollout_turn(view, "h1", "r1", rules);
    CHECK(first.kind == Turn::Kind::Go);
    CHECK(first.reason == "holds a fleet slot: 2 of 2 updating (h1, h2)");
    CHECK(rollout_turn(view, "h2", "r1", rules).kind == Turn::Kind::Go);
    const auto third = rollout_turn(view, "h3", "r1", rules);
    CHECK(third.kind == Turn::Kind::Wait);
    CHECK(third.reason ==
          "waiting for a fleet slot: 2 of 2 updating (h1, h2); 1 ahead in the queue");
    CHECK(rollout_turn(view, "h4", "r1", rules).reason.find("2 ahead") != std::string::npos);
    // Not queued yet: create the key first.
    CHECK(rollout_turn(view, "h5", "r1", rules).kind == Turn::Kind::Enqueue);
    // Queued for an older release: the key is written again for this one (keeping its place).
    CHECK(rollout_turn(view, "h1", "r2", rules).kind == Turn::Kind::Enqueue);
    CHECK(slot_holders(view, 3).size() == 3);
    CHECK(slot_holders(view, 9).size() == 4);
}

TEST_CASE("rollout: a halt stops its release only, and not a host already holding a slot",
          "[fleet]") {
    Halt halt{"bad", "h9", "health gate failed", "t"};
    const auto view =
        read_stack_view({{keys.halt(), halt_value(halt), 3, 3, 1, 0}, slot("h1", "bad", 4)}, keys);
    const RolloutRules rules{1, true, 0};
    const auto halted = rollout_turn(view, "h2", "bad", rules);
    CHECK(halted.kind == Turn::Kind::Wait);
    CHECK(halted.reason == "fleet halted: release bad failed on h9: health gate failed");
    CHECK(rollout_turn(view, "h1", "bad", rules).kind == Turn::Kind::Go);
    CHECK(rollout_turn(view, "h2", "fixed", rules).kind == Turn::Kind::Enqueue);
}

TEST_CASE("rollout: hosts outside the canary wave wait until enough hosts are done", "[fleet]") {
    const auto before = read_stack_view({done("r1", "canary-1", 3)}, keys);
    const RolloutRules rest{3, false, 2};
    const auto waiting = rollout_turn(before, "h1", "r1", rest);
    CHECK(waiting.kind == Turn::Kind::Wait);
    CHECK(waiting.reason == "waiting for the canary wave: 1 of 2 hosts done with this release");
    // Done marks of another release do not count.
    CHECK(rollout_turn(read_stack_view({done("r0", "a", 1), done("r0", "b", 2)}, keys), "h1", "r1",
                       rest)
              .kind == Turn::Kind::Wait);
    const auto after =
        read_stack_view({done("r1", "canary-1", 3), done("r1", "canary-2", 4)}, keys);
    CHECK(rollout_turn(after, "h1", "r1", rest).kind == Turn::Kind::Enqueue);
    // A canary waits for nobody.
    CHECK(rollout_turn(before, "canary-2", "r1", RolloutRules{3, true, 2}).kind ==
          Turn::Kind::Enqueue);
}

}  // namespace unit_fleet_rollout_test
