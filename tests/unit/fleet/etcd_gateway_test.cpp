#include "agent/fleet/etcd_gateway.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "agent/sys/process.h"
#include "tests/unit/fleet/etcd_cluster.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_fleet_etcd_gateway_test {

using namespace agentd::fleet;
using agentd::runtime::testing::eventually;
using agentd::sys::CurlHttpClient;
using agentd::sys::Error;
using agentd::testing::EtcdCluster;
using namespace std::chrono_literals;

EtcdGateway gateway(std::vector<std::string> urls) {
    EtcdEndpoints endpoints;
    endpoints.urls = std::move(urls);
    endpoints.timeout = 3s;
    return EtcdGateway(std::move(endpoints), std::make_unique<CurlHttpClient>());
}

TEST_CASE("etcd gateway: keys, transactions, leases and watches on a real 3-member cluster",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(3);
    auto etcd = gateway(cluster.client_urls());

    // A transaction that creates a key only when it does not exist: the first wins.
    Txn create;
    create.when.push_back({"/t/slots/a", Compare::Op::Equal, 0});
    create.then.push_back(Write::put("/t/slots/a", "first"));
    create.otherwise.push_back(Write::put("/t/lost", "a existed"));
    const auto first = etcd.txn(create);
    REQUIRE(first);
    CHECK(first->succeeded);
    const auto second = etcd.txn(create);
    REQUIRE(second);
    CHECK_FALSE(second->succeeded);
    CHECK(second->revision > first->revision);

    // A listing is every key under the prefix, and only those ("/t/slotsX" is outside "/t/slots/").
    REQUIRE(etcd.txn(
        {{}, {Write::put("/t/slots/b", "second"), Write::put("/t/slotsX", "outside")}, {}}));
    const auto listing = etcd.list("/t/slots/");
    REQUIRE(listing);
    REQUIRE(listing->kvs.size() == 2);
    CHECK(listing->kvs[0].key == "/t/slots/a");
    CHECK(listing->kvs[0].value == "first");
    CHECK(listing->kvs[1].key == "/t/slots/b");
    CHECK(listing->kvs[0].create_revision < listing->kvs[1].create_revision);
    CHECK(listing->revision >= listing->kvs[1].mod_revision);
    // Writing a key again keeps its create_revision: its place in a queue.
    REQUIRE(etcd.txn({{}, {Write::put("/t/slots/a", "again")}, {}}));
    const auto rewritten = etcd.list("/t/slots/a");
    REQUIRE(rewritten);
    CHECK(rewritten->kvs.at(0).create_revision == listing->kvs[0].create_revision);
    CHECK(rewritten->kvs.at(0).value == "again");

    // A key bound to a lease lives while it is kept alive, and goes when the lease is revoked.
    const auto lease = etcd.grant_lease(10s);
    REQUIRE(lease);
    REQUIRE(etcd.txn({{}, {Write::put("/t/leased", "x", *lease)}, {}}));
    const auto left = etcd.keep_alive(*lease);
    REQUIRE(left);
    CHECK(*left > 5s);
    CHECK(etcd.list("/t/leased")->kvs.at(0).lease == *lease);
    REQUIRE(etcd.revoke_lease(*lease));
    CHECK(etcd.list("/t/leased")->kvs.empty());
    const auto gone = etcd.keep_alive(*lease);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == Error::Kind::NotFound);
    CHECK(etcd.revoke_lease(*lease));  // revoking twice is not an error
    // A put bound to a lease that is gone is refused.
    const auto refused = etcd.txn({{}, {Write::put("/t/leased", "x", *lease)}, {}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == Error::Kind::NotFound);

    // DeletePrefix removes every key under the prefix.
    REQUIRE(etcd.txn({{}, {Write::erase_prefix("/t/slots/")}, {}}));
    CHECK(etcd.list("/t/slots/")->kvs.empty());
    CHECK(etcd.list("/t/slotsX")->kvs.size() == 1);
}

TEST_CASE("etcd gateway: a lease that is not kept alive ends, and its keys with it",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    auto etcd = gateway(cluster.client_urls());
    const auto lease = etcd.grant_lease(1s);
    REQUIRE(lease);
    REQUIRE(etcd.txn({{}, {Write::put("/t/slots/dead-host", "x", *lease)}, {}}));
    CHECK(eventually([&] { return etcd.list("/t/slots/")->kvs.empty(); }));
    CHECK(etcd.keep_alive(*lease).error().kind == Error::Kind::NotFound);
}

TEST_CASE("etcd gateway: a watch sees puts and deletions from a revision on, and stops when told",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    auto etcd = gateway(cluster.client_urls());
    auto writer = gateway(cluster.client_urls());
    REQUIRE(etcd.txn({{}, {Write::put("/w/before", "1")}, {}}));
    const auto listing = etcd.list("/w/");
    REQUIRE(listing);

    // Catch's assertions are made on this thread only: the watcher keeps its outcome.
    std::vector<WatchEvent> seen;
    bool watch_ok = false;
    std::thread watcher([&] {
        watch_ok = etcd.watch("/w/", listing->revision + 1,
                              [&](const WatchBatch& batch) {
                                  seen.insert(seen.end(), batch.events.begin(), batch.events.end());
                                  return seen.size() < 3;
                              },
                              {})
                       .ok();
    });
    REQUIRE(writer.txn({{}, {Write::put("/w/a", "1")}, {}}));
    REQUIRE(writer.txn({{}, {Write::put("/elsewhere", "1")}, {}}));
    REQUIRE(writer.txn({{}, {Write::put("/w/b", "2")}, {}}));
    REQUIRE(writer.txn({{}, {Write::erase("/w/a")}, {}}));
    watcher.join();
    CHECK(watch_ok);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].kv.key == "/w/a");
    CHECK(seen[0].kind == WatchEvent::Kind::Put);
    CHECK(seen[1].kv.key == "/w/b");
    CHECK(seen[1].kv.value == "2");
    CHECK(seen[2].kv.key == "/w/a");
    CHECK(seen[2].kind == WatchEvent::Kind::Delete);

    // From an old revision, the history is replayed; `cancelled` ends a quiet watch.
    std::vector<std::string> replayed;
    std::atomic<bool> cancel = false;
    bool quiet_ok = false;
    std::thread quiet([&] {
        quiet_ok = etcd.watch(
                           "/w/", 1,
                           [&](const WatchBatch& batch) {
                               for (const auto& event : batch.events)
                                   replayed.push_back(event.kv.key);
                               cancel = replayed.size() >= 4;
                               return true;
                           },
                           [&] { return cancel.load(); })
                       .ok();
    });
    quiet.join();
    CHECK(quiet_ok);
    CHECK(replayed == std::vector<std::string>{"/w/before", "/w/a", "/w/b", "/w/a"});
}

TEST_CASE("etcd gateway: a watch from a compacted revision is a Conflict",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    auto etcd = gateway(cluster.client_urls());
    REQUIRE(etcd.txn({{}, {Write::put("/c/a", "1")}, {}}));
    REQUIRE(etcd.txn({{}, {Write::put("/c/a", "2")}, {}}));
    const auto now = etcd.list("/c/");
    REQUIRE(now);
    CurlHttpClient http;
    agentd::sys::HttpRequest compact;
    compact.method = "POST";
    compact.url = cluster.client_urls()[0] + "/v3/kv/compaction";
    compact.body = R"({"revision":")" + std::to_string(now->revision) + R"("})";
    REQUIRE(http.send(compact)->status == 200);
    const auto ended = etcd.watch("/c/", 1, [](const WatchBatch&) { return true; }, {});
    REQUIRE_FALSE(ended);
    CHECK(ended.error().kind == Error::Kind::Conflict);
}

TEST_CASE("etcd gateway: members that are down are skipped; none up is Unavailable, naming them",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(3);
    const auto urls = cluster.client_urls();
    auto etcd = gateway(urls);
    REQUIRE(etcd.txn({{}, {Write::put("/f/a", "1")}, {}}));
    // The member this client used goes away: the next one answers, with the same data.
    cluster.stop(0);
    const auto listing = etcd.list("/f/");
    REQUIRE(listing);
    CHECK(listing->kvs.size() == 1);
    REQUIRE(etcd.txn({{}, {Write::put("/f/b", "2")}, {}}));

    // Without a quorum, a write fails as Unavailable (reads may still be served).
    cluster.stop(1);
    const auto no_quorum = etcd.txn({{}, {Write::put("/f/c", "3")}, {}});
    REQUIRE_FALSE(no_quorum);

    cluster.stop(2);
    const auto none = etcd.list("/f/");
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == Error::Kind::Unavailable);
    for (const auto& url : urls) CHECK(none.error().message.find(url) != std::string::npos);

    // Members back: the same client goes on. (The write refused without a quorum may still be
    // in the old leader's log and be committed now: etcd's refusal means "not known to be
    // written", not "never written".)
    for (std::size_t i = 0; i < cluster.size(); ++i) cluster.start(i);
    cluster.wait_until_serving();
    CHECK(eventually([&] {
        const auto again = etcd.list("/f/");
        return again && again->kvs.size() >= 2 && again->kvs[0].key == "/f/a" &&
               again->kvs[1].key == "/f/b";
    }));
}

/// A CA, a certificate for the members (127.0.0.1; it also serves as their gateway's client
/// certificate, so it allows both uses) and one for agentd, made by the openssl tool.
struct TestPki {
    agentd::testing::TempDir dir;
    std::string path(const std::string& name) const { return (dir.path() / name).string(); }

    TestPki() {
        agentd::testing::run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                                      path("ca.key"), "-out", path("ca.pem"), "-subj",
                                      "/CN=agentd test CA", "-days", "2"});
        issue("member", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
        issue("agentd", "extendedKeyUsage=clientAuth\n");
    }
    void issue(const std::string& name, const std::string& extensions) const {
        agentd::testing::run_openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                      "-nodes", "-keyout", path(name + ".key"), "-out",
                                      path(name + ".csr"), "-subj", "/CN=" + name});
        std::ofstream(path(name + ".ext")) << extensions;
        agentd::testing::run_openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA",
                                      path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                                      "-out", path(name + ".pem"), "-days", "2", "-extfile",
                                      path(name + ".ext")});
    }
    agentd::testing::EtcdTls members() const {
        return {path("ca.pem"), path("member.pem"), path("member.key"),
                true,           path("agentd.pem"), path("agentd.key")};
    }
};

TEST_CASE("etcd gateway: TLS with client certificates, as fleet.etcd.ca_file/cert_file/key_file",
          "[integration][etcd][fleet]") {
    const TestPki pki;
    EtcdCluster cluster(1, pki.members());
    REQUIRE(cluster.client_urls().front().starts_with("https://"));
    EtcdEndpoints endpoints;
    endpoints.urls = cluster.client_urls();
    endpoints.timeout = 3s;
    endpoints.ca_file = pki.path("ca.pem");
    endpoints.cert_file = pki.path("agentd.pem");
    endpoints.key_file = pki.path("agentd.key");
    EtcdGateway etcd(endpoints, std::make_unique<CurlHttpClient>());
    REQUIRE(etcd.txn({{}, {Write::put("/tls/a", "1")}, {}}));
    const auto listing = etcd.list("/tls/");
    REQUIRE(listing);
    CHECK(listing->kvs.size() == 1);
    std::atomic<int> seen = 0;
    std::thread writer([&] {
        EtcdGateway second(endpoints, std::make_unique<CurlHttpClient>());
        (void)eventually([&] {
            (void)second.txn({{}, {Write::put("/tls/b", "2")}, {}});
            return seen.load() > 0;
        });
    });
    const auto watched = etcd.watch("/tls/", listing->revision + 1,
                                    [&](const WatchBatch& batch) {
                                        seen += static_cast<int>(batch.events.size());
                                        return seen.load() == 0;
                                    },
                                    {});
    writer.join();
    CHECK(watched);
    CHECK(seen.load() > 0);

    // Without the client certificate the members refuse the connection; without the CA the
    // members' certificate is not trusted. Both are errors naming the endpoint.
    auto no_cert = endpoints;
    no_cert.cert_file.clear();
    no_cert.key_file.clear();
    const auto refused = EtcdGateway(no_cert, std::make_unique<CurlHttpClient>()).list("/tls/");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find(endpoints.urls.front()) != std::string::npos);
    auto no_ca = endpoints;
    no_ca.ca_file.clear();
    CHECK_FALSE(EtcdGateway(no_ca, std::make_unique<CurlHttpClient>()).list("/tls/"));
}

TEST_CASE("etcd gateway: etcd's users, as fleet.etcd.username/password_file",
          "[integration][etcd][fleet]") {
    EtcdCluster cluster(1);
    const auto url = cluster.client_urls().front();
    // As docs/fleet.md sets it up: a root user, and agentd's user with read-write on /agentd/.
    const auto etcdctl = [&](std::vector<std::string> args) {
        agentd::sys::PosixProcessRunner runner;
        agentd::sys::ProcessSpec spec;
        spec.argv = {"etcdctl", "--endpoints=" + url};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        spec.env["ETCDCTL_API"] = "3";
        auto result = runner.run(spec);
        REQUIRE(result.ok());
        INFO(result->out + result->err);
        REQUIRE(result->success());
    };
    etcdctl({"user", "add", "root", "--new-user-password=root-secret"});
    etcdctl({"role", "add", "agentd"});
    etcdctl({"role", "grant-permission", "agentd", "--prefix=true", "readwrite", "/agentd/"});
    etcdctl({"user", "add", "agentd", "--new-user-password=agentd-secret"});
    etcdctl({"user", "grant-role", "agentd", "agentd"});
    etcdctl({"auth", "enable"});

    EtcdEndpoints endpoints;
    endpoints.urls = {url};
    endpoints.timeout = 3s;
    endpoints.username = "agentd";
    endpoints.password = "agentd-secret";
    EtcdGateway etcd(endpoints, std::make_unique<CurlHttpClient>());
    REQUIRE(etcd.txn({{}, {Write::put("/agentd/g/a", "1")}, {}}));
    const auto listing = etcd.list("/agentd/g/");
    REQUIRE(listing);
    CHECK(listing->kvs.size() == 1);
    const auto lease = etcd.grant_lease(10s);
    REQUIRE(lease);
    CHECK(etcd.keep_alive(*lease));
    // A watch with a token of its own.
    EtcdGateway watcher(endpoints, std::make_unique<CurlHttpClient>());
    int seen = 0;
    REQUIRE(watcher.watch("/agentd/g/", 1,
                          [&](const WatchBatch& batch) {
                              seen += static_cast<int>(batch.events.size());
                              return seen == 0;
                          },
                          {}));
    CHECK(seen == 1);

    // Outside its prefix, agentd's user may do nothing; a wrong password is refused with etcd's
    // reason; so is no user at all.
    const auto outside = etcd.list("/other/");
    REQUIRE_FALSE(outside);
    CHECK(outside.error().message == "etcd: etcdserver: permission denied");
    auto wrong = endpoints;
    wrong.password = "guess";
    const auto refused = EtcdGateway(wrong, std::make_unique<CurlHttpClient>()).list("/agentd/");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message ==
          "etcd: etcdserver: authentication failed, invalid user ID or password");
    CHECK(refused.error().message.find("guess") == std::string::npos);
    auto anonymous = endpoints;
    anonymous.username.clear();
    CHECK_FALSE(EtcdGateway(anonymous, std::make_unique<CurlHttpClient>()).list("/agentd/"));
}

TEST_CASE("etcd gateway: no endpoint configured is an error, not a crash", "[fleet][etcd]") {
    auto etcd = gateway({});
    CHECK(etcd.list("/x/").error().kind == Error::Kind::InvalidInput);
    CHECK(etcd.watch("/x/", 0, [](const WatchBatch&) { return true; }, {}).error().kind ==
          Error::Kind::InvalidInput);
}

}  // namespace unit_fleet_etcd_gateway_test
