#include "agent/fleet/session.h"

#include <atomic>
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

/// An etcd whose transactions take `stall` (as on a cluster electing a leader), once armed;
/// the rest is the real cluster's.
class StallingEtcd final : public Etcd {
public:
    StallingEtcd(std::unique_ptr<Etcd> etcd, std::atomic<bool>& armed, agentd::sys::Duration stall)
        : m_etcd(std::move(etcd)), m_armed(armed), m_stall(stall) {}
    agentd::sys::Result<Listing> list(const std::string& prefix) override {
        return m_etcd->list(prefix);
    }
    agentd::sys::Result<TxnResult> txn(const Txn& txn) override {
        if (m_armed)
            std::this_thread::sleep_for(m_stall);
        return m_etcd->txn(txn);
    }
    agentd::sys::Result<std::int64_t> grant_lease(agentd::sys::Duration ttl) override {
        return m_etcd->grant_lease(ttl);
    }
    agentd::sys::Result<agentd::sys::Duration> keep_alive(std::int64_t lease) override {
        return m_etcd->keep_alive(lease);
    }
    agentd::sys::Result<void> revoke_lease(std::int64_t lease) override {
        return m_etcd->revoke_lease(lease);
    }
    agentd::sys::Result<void> watch(const std::string& prefix, std::int64_t from,
                                    const std::function<bool(const WatchBatch&)>& on_batch,
                                    const std::function<bool()>& cancelled) override {
        return m_etcd->watch(prefix, from, on_batch, cancelled);
    }

private:
    std::unique_ptr<Etcd> m_etcd;
    std::atomic<bool>& m_armed;
    agentd::sys::Duration m_stall;
};

/// One host of the fleet: a session on the cluster, and the stacks it was woken for. With
/// `stall`, the pipeline's etcd client (the first the session makes) stalls its transactions
/// while `stalling` is set.
struct Host {
    SystemClock clock;
    std::mutex mutex;
    std::vector<std::string> woken;
    std::atomic<bool> stalling = false;
    std::atomic<int> clients = 0;  // made by the session's factory, from several threads
    FleetSession session;

    Host(const EtcdCluster& cluster, const std::string& name, int max_updating,
         std::map<std::string, RolloutRules> rules = {}, agentd::sys::Duration ttl = 15s,
         agentd::sys::Duration stall = 0s)
        : session(
              FleetSettings{"prod", name, max_updating, 0s, ttl, std::move(rules)},
              [this, urls = cluster.client_urls(), stall] {
                  EtcdEndpoints endpoints;
                  endpoints.urls = urls;
                  endpoints.timeout = 2s;
                  std::unique_ptr<Etcd> etcd =
                      std::make_unique<EtcdGateway>(endpoints, std::make_unique<CurlHttpClient>());
                  if (clients++ == 0 && stall > 0s)
                      etcd = std::make_unique<StallingEtcd>(std::move(etcd), stalling, stall);
                  return etcd;
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

TEST_CASE("fleet session: an admin sees the group, clears a halt and frees a dead host's slot",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host a(cluster, "a", 1), b(cluster, "b", 1), c(cluster, "c", 1), admin(cluster, "admin", 1);
    c.session.start();
    REQUIRE(a.session.turn("shop", "bad").kind == Turn::Kind::Go);
    REQUIRE(a.session.halt("shop", "bad", "health gate failed"));
    REQUIRE(a.session.turn("tools", "t1").kind == Turn::Kind::Go);
    REQUIRE(a.session.done("tools", "t1"));
    REQUIRE(b.session.turn("tools", "t2").kind == Turn::Kind::Go);
    REQUIRE(c.session.turn("tools", "t2").kind == Turn::Kind::Wait);

    // What c's watch sees, without asking etcd: the same, and that c waits on tools.
    CHECK(eventually([&] {
        const auto seen = c.session.seen();
        const auto tools = seen.group.stacks.find("tools");
        return seen.watching && seen.lease && seen.waiting == std::set<std::string>{"tools"} &&
               tools != seen.group.stacks.end() && tools->second.queue.size() == 2 &&
               seen.group.stacks.contains("shop") && seen.group.stacks.at("shop").halt;
    }));
    CHECK_FALSE(admin.session.seen().watching);  // never started: nothing seen

    auto group = admin.session.look(std::nullopt);
    REQUIRE(group);
    CHECK(group->group == "prod");
    CHECK(group->host == "admin");
    CHECK(group->revision > 0);
    REQUIRE(group->stacks.size() == 2);
    CHECK(group->stacks.at("shop").halt->reason == "health gate failed");
    CHECK(group->stacks.at("shop").queue.empty());
    const auto& tools = group->stacks.at("tools");
    REQUIRE(tools.queue.size() == 2);
    CHECK(tools.queue[0].host == "b");
    CHECK(tools.queue[0].release == "t2");
    CHECK_FALSE(tools.queue[0].since.empty());
    CHECK(tools.queue[1].host == "c");
    CHECK(tools.done.at("t1") == std::vector<std::string>{"a"});
    // One stack only; a stack without keys is listed, empty.
    auto one = admin.session.look("tools");
    REQUIRE(one);
    CHECK(one->stacks.size() == 1);
    auto none = admin.session.look("blog");
    REQUIRE(none);
    CHECK(none->stacks.at("blog").queue.empty());

    // Unhalt: the halted release may start again; a second unhalt has nothing to clear.
    auto cleared = admin.session.unhalt("shop");
    REQUIRE(cleared);
    CHECK(cleared->release == "bad");
    CHECK(cleared->host == "a");
    CHECK(b.session.turn("shop", "bad").kind == Turn::Kind::Go);
    auto again = admin.session.unhalt("shop");
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == agentd::sys::Error::Kind::Conflict);
    CHECK(again.error().message == "fleet: stack shop is not halted in group prod");

    // b "died" holding tools' slot: freeing it lets c go, woken by the watch, long before any
    // lease could run out (15s). Only b's key goes, not b2's (a listing of ".../b" finds both).
    Host b2(cluster, "b2", 1);
    REQUIRE(b2.session.turn("tools", "t2").kind == Turn::Kind::Wait);
    auto freed = admin.session.release("tools", "b");
    REQUIRE(freed);
    CHECK(freed->host == "b");
    CHECK(freed->release == "t2");
    CHECK(eventually([&] { return c.was_woken("tools"); }));
    CHECK(c.session.turn("tools", "t2").kind == Turn::Kind::Go);
    CHECK(eventually([&] { return c.session.seen().waiting.empty(); }));
    const auto after = admin.session.look("tools");
    REQUIRE(after);
    REQUIRE(after->stacks.at("tools").queue.size() == 2);
    CHECK(after->stacks.at("tools").queue[1].host == "b2");
    auto unknown = admin.session.release("tools", "b");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().is_not_found());
    CHECK(unknown.error().message ==
          "fleet: host b holds no slot and is not queued for stack tools in group prod");
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

TEST_CASE("fleet session: a host's done marks stay bounded: its last two releases",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host a(cluster, "a", 1), b(cluster, "b", 1);
    for (const auto* release : {"r1", "r2"}) {
        REQUIRE(b.session.turn("shop", release).kind == Turn::Kind::Go);
        REQUIRE(b.session.done("shop", release));
    }
    for (const auto* release : {"r1", "r2", "r3", "r4"}) {
        REQUIRE(a.session.turn("shop", release).kind == Turn::Kind::Go);
        REQUIRE(a.session.done("shop", release));
    }
    auto etcd = reader(cluster);
    auto marks = etcd.list("/agentd/prod/shop/done/");
    REQUIRE(marks);
    std::vector<std::string> keys;
    for (const auto& kv : marks->kvs) keys.push_back(kv.key);
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"/agentd/prod/shop/done/r1/b",
                                           "/agentd/prod/shop/done/r2/b",
                                           "/agentd/prod/shop/done/r3/a",
                                           "/agentd/prod/shop/done/r4/a"});
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

TEST_CASE("fleet session: a pipeline's etcd call that hangs for 3 TTLs does not cost the lease",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    Host a(cluster, "a", 1, {}, 2s, 6s);
    a.session.start();
    REQUIRE(a.session.turn("shop", "r1").kind == Turn::Kind::Go);
    auto etcd = reader(cluster);
    const auto slot = StackKeys{"prod", "shop"}.slot("a");
    const auto before = etcd.list(slot);
    REQUIRE(before);
    REQUIRE(before->kvs.size() == 1);
    // The done mark's transaction hangs (holding the session's lock) for 6s, 3 times the TTL:
    // the keeper goes on renewing the lease, so the slot is still there when it goes through,
    // and it goes with the done mark in one revision.
    a.stalling = true;
    REQUIRE(a.session.done("shop", "r1"));
    const auto after = etcd.list("/agentd/prod/shop/");
    REQUIRE(after);
    const auto view = read_stack_view(after->kvs, {"prod", "shop"});
    CHECK(view.queue.empty());
    REQUIRE(view.done.count("r1") == 1);
    const auto mark = std::find_if(after->kvs.begin(), after->kvs.end(), [](const KeyValue& kv) {
        return kv.key == StackKeys{"prod", "shop"}.done("r1", "a");
    });
    REQUIRE(mark != after->kvs.end());
    // A slot that expired meanwhile would have been deleted by a revision of its own, and the
    // done mark's transaction would have been the first change after it.
    CHECK(mark->mod_revision == before->revision + 1);
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
