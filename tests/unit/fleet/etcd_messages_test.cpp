#include "agent/fleet/etcd_messages.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace unit_fleet_etcd_messages_test {

using namespace agentd::fleet;
using agentd::sys::Error;
using nlohmann::json;

TEST_CASE("etcd messages: a prefix's range end is the prefix with its last byte incremented",
          "[fleet][etcd]") {
    CHECK(prefix_end("/agentd/g/") == "/agentd/g0");
    CHECK(prefix_end("a") == "b");
    CHECK(prefix_end("a\xff") == "b");
    CHECK(prefix_end("a\xff\xff") == "b");
    CHECK(prefix_end("\xff") == std::string(1, '\0'));
    CHECK(prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("etcd messages: requests carry keys and values in base64, integers as strings",
          "[fleet][etcd]") {
    const auto list = json::parse(list_request("/a/"));
    CHECK(list["key"] == "L2Ev");
    CHECK(list["range_end"] == "L2Ew");  // "/a0"

    Txn txn;
    txn.when.push_back({"/a/k", Compare::Op::Equal, 0});
    txn.then.push_back(Write::put("/a/k", "v", 42));
    txn.then.push_back(Write::erase("/a/x"));
    txn.otherwise.push_back(Write::erase_prefix("/a/"));
    const auto body = json::parse(txn_request(txn));
    CHECK(body["compare"][0] == json{{"key", "L2Evaw=="},
                                     {"target", "CREATE"},
                                     {"result", "EQUAL"},
                                     {"create_revision", "0"}});
    CHECK(body["success"][0]["request_put"] ==
          json{{"key", "L2Evaw=="}, {"value", "dg=="}, {"lease", "42"}});
    CHECK(body["success"][1]["request_delete_range"]["key"] == "L2EveA==");
    CHECK_FALSE(body["success"][1]["request_delete_range"].contains("range_end"));
    CHECK(body["failure"][0]["request_delete_range"] ==
          json{{"key", "L2Ev"}, {"range_end", "L2Ew"}});
    // A put without a lease leaves the field out (0 means none).
    Txn plain;
    plain.then.push_back(Write::put("k", "v"));
    CHECK_FALSE(json::parse(txn_request(plain))["success"][0]["request_put"].contains("lease"));

    CHECK(json::parse(lease_grant_request(std::chrono::milliseconds(1500)))["TTL"] == "2");
    CHECK(json::parse(lease_request(7587862178541196033))["ID"] == "7587862178541196033");
    const auto watch = json::parse(watch_request("/a/", 12))["create_request"];
    CHECK(watch["start_revision"] == "12");
    CHECK(watch["progress_notify"] == true);
    CHECK_FALSE(json::parse(watch_request("/a/", 0))["create_request"].contains("start_revision"));
}

TEST_CASE("etcd messages: a range answer as etcd 3.4's gateway writes it", "[fleet][etcd]") {
    // Captured from etcd 3.4.23: a key with a lease, one without, the empty value left out.
    const auto listing = parse_listing(
        R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"9",)"
        R"("raft_term":"2"},"kvs":[{"key":"L2EveA==","create_revision":"2","mod_revision":"2","version":"1",)"
        R"("value":"aGk="},{"key":"L2Eveg==","create_revision":"4","mod_revision":"6","version":"2",)"
        R"("lease":"4111120459008721931"}],"count":"2"})");
    REQUIRE(listing);
    CHECK(listing->revision == 9);
    REQUIRE(listing->kvs.size() == 2);
    CHECK(listing->kvs[0] == KeyValue{"/a/x", "hi", 2, 2, 1, 0});
    CHECK(listing->kvs[1] == KeyValue{"/a/z", "", 4, 6, 2, 4111120459008721931});
    // No key at all: no kvs field.
    const auto empty = parse_listing(R"({"header":{"revision":"3"}})");
    REQUIRE(empty);
    CHECK(empty->kvs.empty());
}

TEST_CASE("etcd messages: malformed answers are errors that say what was wrong", "[fleet][etcd]") {
    CHECK_FALSE(parse_listing("not json"));
    CHECK_FALSE(parse_listing("[]"));
    CHECK(parse_listing(R"({"kvs":[]})").error().message.find("no header") != std::string::npos);
    CHECK_FALSE(parse_listing(R"({"header":{"revision":"x9"}})"));
    CHECK_FALSE(parse_listing(R"({"header":{"revision":"-1"}})"));
    CHECK_FALSE(parse_listing(R"({"header":{"revision":"1"},"kvs":{}})"));
    CHECK_FALSE(parse_listing(R"({"header":{"revision":"1"},"kvs":[{"key":"!!!"}]})"));
    CHECK_FALSE(parse_listing(R"({"header":{"revision":"1"},"kvs":[{"value":"aGk="}]})"));
    CHECK_FALSE(
        parse_listing(R"({"header":{"revision":"1"},"kvs":[{"key":"YQ==","lease":true}]})"));
    CHECK_FALSE(parse_txn(R"({"header":{"revision":"1"},"succeeded":"yes"})"));
    CHECK_FALSE(parse_lease_grant(R"({"header":{"revision":"1"},"TTL":"5"})"));
    CHECK_FALSE(parse_auth_token(R"({"header":{}})"));
    CHECK(*parse_auth_token(R"({"header":{},"token":"abc.12"})") == "abc.12");
}

TEST_CASE("etcd messages: transactions, leases and keep-alives", "[fleet][etcd]") {
    const auto ok = parse_txn(
        R"({"header":{"revision":"4"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]})");
    REQUIRE(ok);
    CHECK(ok->succeeded);
    CHECK(ok->revision == 4);
    // A failed comparison leaves "succeeded" out (false in proto3).
    const auto failed = parse_txn(R"({"header":{"revision":"5"},"responses":[]})");
    REQUIRE(failed);
    CHECK_FALSE(failed->succeeded);

    CHECK(
        *parse_lease_grant(R"({"header":{"revision":"1"},"ID":"4111120459008721925","TTL":"5"})") ==
        4111120459008721925);
    CHECK(*parse_keep_alive(R"({"result":{"header":{"revision":"3"},"ID":"41","TTL":"10"}})") ==
          std::chrono::seconds(10));
    // etcd 3.4 answers a keep-alive of an unknown lease with 200 and no TTL.
    const auto gone = parse_keep_alive(R"({"result":{"header":{"revision":"5"},"ID":"12345"}})");
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == Error::Kind::NotFound);
}

TEST_CASE("etcd messages: the gateway's errors keep etcd's message and map its gRPC code",
          "[fleet][etcd]") {
    const auto lease = gateway_error(
        404,
        R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
    CHECK(lease.kind == Error::Kind::NotFound);
    CHECK(lease.message == "etcd: etcdserver: requested lease not found");
    CHECK(
        gateway_error(400, R"({"message":"illegal base64 data at input byte 0","code":3})").kind ==
        Error::Kind::InvalidInput);
    CHECK(gateway_error(503, R"({"message":"etcdserver: no leader","code":14})").kind ==
          Error::Kind::Unavailable);
    CHECK(gateway_error(401, R"({"message":"etcdserver: invalid auth token","code":16})").kind ==
          Error::Kind::Unauthorized);
    CHECK(gateway_error(403, R"({"message":"etcdserver: permission denied","code":7})").kind ==
          Error::Kind::Unauthorized);
    const auto plain = gateway_error(502, "<html>bad gateway</html>");
    CHECK(plain.kind == Error::Kind::Failed);
    CHECK(plain.message == "etcd: HTTP 502");
}

TEST_CASE("etcd messages: watch messages: created, events, compaction, cancellation",
          "[fleet][etcd]") {
    const auto created =
        parse_watch_message(R"({"result":{"header":{"revision":"2"},"created":true}})");
    REQUIRE(created);
    CHECK_FALSE(*created);

    // Captured from etcd 3.4.23: a put with a lease, then its deletion when the lease ran out.
    const auto events = parse_watch_message(
        R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"},"events":[)"
        R"({"kv":{"key":"L2Eveg==","create_revision":"4","mod_revision":"4","version":"1","value":"dg==",)"
        R"("lease":"4111120459008721931"}},{"type":"DELETE","kv":{"key":"L2Eveg==","mod_revision":"5"}}]}})");
    REQUIRE(events);
    REQUIRE(*events);
    const auto& batch = **events;
    CHECK(batch.revision == 5);
    REQUIRE(batch.events.size() == 2);
    CHECK(batch.events[0].kind == WatchEvent::Kind::Put);
    CHECK(batch.events[0].kv == KeyValue{"/a/z", "v", 4, 4, 1, 4111120459008721931});
    CHECK(batch.events[1].kind == WatchEvent::Kind::Delete);
    CHECK(batch.events[1].kv.key == "/a/z");
    CHECK(batch.events[1].kv.mod_revision == 5);

    // A progress notice: no events.
    const auto progress = parse_watch_message(R"({"result":{"header":{"revision":"8"}}})");
    REQUIRE(progress);
    REQUIRE(*progress);
    CHECK((*progress)->events.empty());
    CHECK((*progress)->revision == 8);

    const auto compacted = parse_watch_message(
        R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"5"}})");
    REQUIRE_FALSE(compacted);
    CHECK(compacted.error().kind == Error::Kind::Conflict);
    const auto cancelled =
        parse_watch_message(R"({"result":{"header":{},"canceled":true,"cancel_reason":"x"}})");
    REQUIRE_FALSE(cancelled);
    CHECK(cancelled.error().message.find("cancelled the watch: x") != std::string::npos);
    CHECK_FALSE(parse_watch_message(
        R"({"result":{"header":{"revision":"5"},"events":[{"type":"EXPIRE","kv":{"key":"YQ=="}}]}})"));
    CHECK_FALSE(
        parse_watch_message(R"({"result":{"header":{"revision":"5"},"events":[{"type":"PUT"}]}})"));
    CHECK(
        parse_watch_message(R"({"error":{"grpc_code":14,"message":"unavailable"}})").error().kind ==
        Error::Kind::Failed);
}

}  // namespace unit_fleet_etcd_messages_test
