#include "agent/fleet/session.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "agent/fleet/etcd_gateway.h"
#include "tests/unit/fleet/etcd_cluster.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_fleet_session_test {

using namespace agentd::fleet;
using agentd::runtime::testing::eventually;
using agentd::sys::CurlHttpClient;
using agentd::sys::SystemClock;
using agentd::testing::EtcdCluster;
using namespace std::chrono_literals;

/// One host of the fleet: a session on the cluster, and the stacks it was woken for.
struct Host {
    SystemClock clock;
    std::mutex mutex;
    std::vector<std::string> woken;
    FleetSession session;

    Host(const EtcdCluster& cluster, const std::string& name, int max_updating,
         std::map<std::string, RolloutRules> rules = {}, agentd::sys::Duration ttl = 15s)
        : session(
              FleetSettings{"prod", name, max_updating, 0s, ttl, std::move(rules)},
              [urls = cluster.client_urls()] {
                  EtcdEndpoints endpoints;
                  endpoints.urls = urls;
                  endpoints.timeout = 2s;
                  return std::make_unique<EtcdGateway>(endpoints,
                                                       std::make_unique<CurlHttpClient>());
              },
              clock,
              [this](const std::string& stack) {
                  const std::lock_guard lock(mutex);
                  woken.push_back(stack);
              }) {}
    bool was_woken(const std::string& stack) {
        const std::lock_guard lock(mutex);
        return std::find(woken.begin(), woken.end(), stack) != woken.end();
    }
};

EtcdGateway reader(const EtcdCluster& cluster) {
    EtcdEndpoints endpoints;
    endpoints.urls = cluster.client_urls();
    return EtcdGateway(endpoints, std::make_unique<CurlHttpClient>());
}

TEST_CASE("fleet session: max_updating hosts go, the next one is woken when a slot frees",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(3);
    Host a(cluster, "a", 2), b(cluster, "b", 2), c(cluster, "c", 2);
    for (auto* host : {&a, &b, &c}) host->session.start();

    CHECK(a.session.turn("shop", "r1").kind == Turn::Kind::Go);
    CHECK(b.session.turn("shop", "r1").kind == Turn::Kind::Go);
    const auto waits = c.session.turn("shop", "r1");
    CHECK(waits.kind == Turn::Kind::Wait);
    CHECK(waits.reason == "waiting for a fleet slot: 2 of 2 updating (a, b); 1 ahead in the queue");
    // Asking again keeps its place (the same key, the same answer).
    CHECK(c.session.turn("shop", "r1").reason == waits.reason);
    // Another stack has slots of its own.
    CHECK(c.session.turn("tools", "t1").kind == Turn::Kind::Go);

    REQUIRE(a.session.done("shop", "r1"));
    CHECK(eventually([&] { return c.was_woken("shop"); }));
    CHECK(c.session.turn("shop", "r1").kind == Turn::Kind::Go);
    // a's done mark, and the slots of b and c, are what etcd holds.
    auto etcd = reader(cluster);
    const auto view = read_stack_view(etcd.list("/agentd/prod/shop/")->kvs, {"prod", "shop"});
    CHECK(view.done.at("r1") == std::vector<std::string>{"a"});
    REQUIRE(view.queue.size() == 2);
    CHECK(view.queue[0].host == "b");
    CHECK(view.queue[1].host == "c");
    CHECK(view.queue[1].release == "r1");
}

TEST_CASE("fleet session: a failed release halts it for every host until a newer one passes",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host a(cluster, "a", 3), b(cluster, "b", 3);
    REQUIRE(a.session.turn("shop", "bad").kind == Turn::Kind::Go);
    REQUIRE(a.session.halt("shop", "bad", "health gate failed: web unhealthy"));
    const auto halted = b.session.turn("shop", "bad");
    CHECK(halted.kind == Turn::Kind::Wait);
    CHECK(halted.reason ==
          "fleet halted: release bad failed on a: health gate failed: web unhealthy");
    // A second failure of the same release leaves the first halt as it was.
    REQUIRE(b.session.halt("shop", "bad", "another reason"));
    auto etcd = reader(cluster);
    CHECK(read_stack_view(etcd.list("/agentd/prod/shop/")->kvs, {"prod", "shop"}).halt->host ==
          "a");
    // A newer release is not halted; once it passes somewhere, the halt is cleared.
    REQUIRE(b.session.turn("shop", "fixed").kind == Turn::Kind::Go);
    REQUIRE(b.session.done("shop", "fixed"));
    const auto view = read_stack_view(etcd.list("/agentd/prod/shop/")->kvs, {"prod", "shop"});
    CHECK_FALSE(view.halt);
    CHECK(view.queue.empty());
}

TEST_CASE("fleet session: hosts outside the canary wave wait for the canaries' done marks",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host canary(cluster, "canary", 5, {{"shop", RolloutRules{0, true, 1}}});
    Host rest(cluster, "rest", 5, {{"shop", RolloutRules{0, false, 1}}});
    rest.session.start();
    const auto waits = rest.session.turn("shop", "r1");
    CHECK(waits.kind == Turn::Kind::Wait);
    CHECK(waits.reason == "waiting for the canary wave: 0 of 1 hosts done with this release");
    REQUIRE(canary.session.turn("shop", "r1").kind == Turn::Kind::Go);
    REQUIRE(canary.session.done("shop", "r1"));
    CHECK(eventually([&] { return rest.was_woken("shop"); }));
    CHECK(rest.session.turn("shop", "r1").kind == Turn::Kind::Go);
}

TEST_CASE("fleet session: a host that dies loses its slot when its lease runs out",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(3);
    Host survivor(cluster, "survivor", 1);
    survivor.session.start();
    {
        // Never started: nobody keeps its lease alive, as for a killed agentd.
        Host dead(cluster, "dead", 1, {}, 2s);
        REQUIRE(dead.session.turn("shop", "r1").kind == Turn::Kind::Go);
        CHECK(survivor.session.turn("shop", "r1").kind == Turn::Kind::Wait);
        CHECK(
            eventually([&] { return survivor.session.turn("shop", "r1").kind == Turn::Kind::Go; }));
    }
}

TEST_CASE("fleet session: one member down changes nothing; etcd down means wait, and ends are kept",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(3);
    Host a(cluster, "a", 1);
    a.session.start();
    cluster.stop(0);
    REQUIRE(a.session.turn("shop", "r1").kind == Turn::Kind::Go);
    cluster.stop(1);
    cluster.stop(2);
    // The deployment ended while etcd was away: its end is kept and written when etcd is back.
    CHECK_FALSE(a.session.done("shop", "r1"));
    const auto waits = a.session.turn("shop", "r2");
    CHECK(waits.kind == Turn::Kind::Wait);
    CHECK(waits.reason.find("etcd") != std::string::npos);
    for (std::size_t i = 0; i < cluster.size(); ++i) cluster.start(i);
    cluster.wait_until_serving();
    auto etcd = reader(cluster);
    CHECK(eventually([&] {
        const auto listing = etcd.list("/agentd/prod/shop/");
        if (!listing)
            return false;
        const auto view = read_stack_view(listing->kvs, {"prod", "shop"});
        return view.done.count("r1") == 1 && view.queue.empty();
    }));
    CHECK(a.session.turn("shop", "r2").kind == Turn::Kind::Go);
}

TEST_CASE("fleet session: stopping frees this host's slots at once", "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host a(cluster, "a", 1), b(cluster, "b", 1);
    a.session.start();
    REQUIRE(a.session.turn("shop", "r1").kind == Turn::Kind::Go);
    CHECK(b.session.turn("shop", "r1").kind == Turn::Kind::Wait);
    a.session.stop();
    CHECK(b.session.turn("shop", "r1").kind == Turn::Kind::Go);
}

}  // namespace unit_fleet_session_test
