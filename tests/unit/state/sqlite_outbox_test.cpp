#include "agent/state/sqlite_outbox.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "agent/state/sqlite_store.h"
#include "tests/unit/temp_dir.h"

namespace agentd::state::unit_state_sqlite_outbox_test {
namespace {

using namespace std::chrono_literals;

const sys::TimePoint k_start = sys::TimePoint(std::chrono::milliseconds(1'764'842'400'000));

OutboxMessage message(const std::string& payload, const std::string& target = "a1b2c3") {
    OutboxMessage m;
    m.target = target;
    m.content_type = "text/plain; charset=utf-8";
    m.headers = {{"Title", "agentd: shop rolled back"}, {"Priority", "4"}};
    m.payload = payload;
    return m;
}

std::vector<std::string> payloads(const std::vector<OutboxItem>& items) {
    std::vector<std::string> out;
    for (const auto& i : items) {
        out.push_back(i.message.payload);
    }
    return out;
}

}  // namespace

TEST_CASE("sqlite outbox: an enqueued notification is due at once with every field",
          "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db");
    const auto queued = outbox.enqueue(message("shop: rolled back"), k_start);
    CHECK(queued.id > 0);
    CHECK(queued.dropped == 0);
    CHECK(outbox.next_due() == k_start);
    CHECK(outbox.due(k_start - 1ms, 10).empty());
    auto due = outbox.due(k_start, 10);
    REQUIRE(due.size() == 1);
    const OutboxItem& item = due[0];
    CHECK(item.id == queued.id);
    CHECK(item.message.target == "a1b2c3");
    CHECK(item.message.content_type == "text/plain; charset=utf-8");
    CHECK(item.message.headers == message("").headers);
    CHECK(item.message.payload == "shop: rolled back");
    CHECK(item.attempts == 0);
    CHECK(item.created_at == k_start);
    CHECK(item.next_attempt_at == k_start);
    CHECK_FALSE(item.delivered_at);
    CHECK(item.last_error.empty());
}

TEST_CASE("sqlite outbox: a failed attempt is due again at its retry time, then delivered",
          "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db");
    const auto id = outbox.enqueue(message("one"), k_start).id;
    outbox.failed(id, "HTTP 500", k_start + 5s);
    CHECK(outbox.due(k_start + 4s, 10).empty());
    CHECK(outbox.next_due() == k_start + 5s);
    auto due = outbox.due(k_start + 5s, 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].attempts == 1);
    CHECK(due[0].last_error == "HTTP 500");
    outbox.failed(id, "timed out", k_start + 15s);
    CHECK(outbox.item(id)->attempts == 2);
    outbox.delivered(id, k_start + 16s);
    CHECK(outbox.due(k_start + 1h, 10).empty());
    CHECK_FALSE(outbox.next_due());
    auto done = outbox.item(id);
    REQUIRE(done);
    CHECK(done->delivered_at == k_start + 16s);
    CHECK_FALSE(done->next_attempt_at);
    CHECK(done->attempts == 2);
}

TEST_CASE("sqlite outbox: a given-up notification is kept with its error and never due",
          "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db");
    const auto id = outbox.enqueue(message("one"), k_start).id;
    outbox.failed(id, "HTTP 404", std::nullopt);
    CHECK(outbox.due(k_start + 48h, 10).empty());
    auto item = outbox.item(id);
    REQUIRE(item);
    CHECK(item->last_error == "HTTP 404");
    CHECK_FALSE(item->delivered_at);
    CHECK_FALSE(item->next_attempt_at);
    CHECK_THROWS_AS(outbox.delivered(id + 100, k_start), StoreError);
    CHECK_THROWS_AS(outbox.failed(id + 100, "x", k_start), StoreError);
}

TEST_CASE("sqlite outbox: due rows come soonest first, then oldest, at most the limit",
          "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db");
    const auto a = outbox.enqueue(message("a"), k_start).id;
    outbox.enqueue(message("b"), k_start + 1s);
    outbox.enqueue(message("c"), k_start + 1s);
    outbox.failed(a, "HTTP 503", k_start + 10s);
    CHECK(payloads(outbox.due(k_start + 20s, 10)) == std::vector<std::string>{"b", "c", "a"});
    CHECK(payloads(outbox.due(k_start + 20s, 2)) == std::vector<std::string>{"b", "c"});
    CHECK(payloads(outbox.due(k_start + 5s, 10)) == std::vector<std::string>{"b", "c"});
}

TEST_CASE("sqlite outbox: undelivered notifications survive a restart", "[state][outbox]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    std::int64_t id = 0;
    {
        SqliteOutbox outbox(db);
        id = outbox.enqueue(message("survives"), k_start).id;
        outbox.failed(id, "connection refused", k_start + 5s);
    }
    // The store opened first (as agentd does) migrates; the outbox sees the same rows.
    { SqliteStore store(db); }
    SqliteOutbox outbox(db);
    auto due = outbox.due(k_start + 5s, 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].id == id);
    CHECK(due[0].message.payload == "survives");
    CHECK(due[0].attempts == 1);
}

TEST_CASE("sqlite outbox: beyond its capacity the oldest rows go, delivered ones first",
          "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db", 3);
    const auto d1 = outbox.enqueue(message("d1"), k_start).id;
    outbox.enqueue(message("p1"), k_start);
    const auto d2 = outbox.enqueue(message("d2"), k_start).id;
    outbox.delivered(d1, k_start);
    outbox.delivered(d2, k_start);
    // 4 rows for 3: the oldest delivered one goes, nothing undelivered is lost.
    auto r = outbox.enqueue(message("p2"), k_start);
    CHECK(r.dropped == 0);
    CHECK_FALSE(outbox.item(d1));
    CHECK(outbox.item(d2));
    r = outbox.enqueue(message("p3"), k_start);
    CHECK(r.dropped == 0);
    CHECK_FALSE(outbox.item(d2));
    // Only undelivered rows left: the oldest of them is dropped, and counted.
    r = outbox.enqueue(message("p4"), k_start);
    CHECK(r.dropped == 1);
    CHECK(payloads(outbox.due(k_start, 10)) == std::vector<std::string>{"p2", "p3", "p4"});
}

TEST_CASE("sqlite outbox: the due query uses its index", "[state][outbox]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    { SqliteOutbox outbox(db); }
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    const char* sql =
        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE next_attempt_at IS NOT NULL AND "
        "next_attempt_at <= 5 ORDER BY next_attempt_at, id LIMIT 10";
    REQUIRE(sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr) == SQLITE_OK);
    std::string plan;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
        plan += "\n";
    }
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    INFO(plan);
    CHECK(plan.find("outbox_due") != std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
}

}  // namespace agentd::state::unit_state_sqlite_outbox_test

namespace agentd::state::unit_state_sqlite_outbox_test {

TEST_CASE("sqlite outbox: at a start every undelivered row is due at once", "[state][outbox]") {
    testing::TempDir tmp;
    SqliteOutbox outbox(tmp.path() / "state.db");
    const auto a = outbox.enqueue(message("a"), k_start).id;
    const auto b = outbox.enqueue(message("b"), k_start).id;
    const auto c = outbox.enqueue(message("c"), k_start).id;
    outbox.failed(a, "refused", k_start + 20min);
    outbox.delivered(b, k_start);
    outbox.failed(c, "HTTP 404", std::nullopt);
    CHECK(outbox.due(k_start + 1min, 10).empty());
    CHECK(outbox.retry_now(k_start + 1min) == 1);
    CHECK(payloads(outbox.due(k_start + 1min, 10)) == std::vector<std::string>{"a"});
    CHECK(outbox.item(a)->attempts == 1);
    // Delivered and given-up rows stay done.
    CHECK_FALSE(outbox.item(b)->next_attempt_at);
    CHECK_FALSE(outbox.item(c)->next_attempt_at);
}

}  // namespace agentd::state::unit_state_sqlite_outbox_test
