#include "agent/state/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agent/state/sqlite_migrations.h"
#include "agent/state/sqlite_queries.h"
#include "tests/unit/temp_dir.h"

namespace agentd::state::unit_state_sqlite_store_test {
namespace {

using model::Deployment;
using model::Status;
using model::Trigger;

// Millisecond precision is what the store keeps.
sys::TimePoint at_ms(std::int64_t ms) {
    return sys::TimePoint(std::chrono::milliseconds(ms));
}

Deployment make_deployment(const std::string& stack, Status status, std::int64_t started_ms) {
    Deployment d;
    d.stack = stack;
    d.status = status;
    d.release.revision = "0123456789abcdef0123456789abcdef01234567";
    d.release.images = {{"web", "registry.local/web:1@sha256:aaaa"}};
    d.trigger = Trigger::Poll;
    d.started_at = at_ms(started_ms);
    d.phase = "apply";
    return d;
}

/// A raw second connection, for what the Store interface does not show.
class RawDb {
public:
    explicit RawDb(const std::filesystem::path& path) {
        REQUIRE(sqlite3_open(path.c_str(), &m_db) == SQLITE_OK);
    }
    ~RawDb() { sqlite3_close(m_db); }
    void exec(const std::string& sql) {
        INFO(sql);
        REQUIRE(sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    /// Every row's columns joined by '|', rows by '\n'.
    std::string query(const std::string& sql, std::int64_t bind1 = 0, bool bind = false,
                      const std::string& text1 = {}) {
        sqlite3_stmt* stmt = nullptr;
        INFO(sql);
        REQUIRE(sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
        if (bind) {
            // Binds every parameter: text1 for the first, bind1 for the rest (the plans tested
            // here have a stack then a limit, or just a limit).
            const int n = sqlite3_bind_parameter_count(stmt);
            for (int i = 1; i <= n; ++i) {
                if (i == 1 && n > 1) {
                    sqlite3_bind_text(stmt, i, text1.c_str(), -1, SQLITE_TRANSIENT);
                } else {
                    sqlite3_bind_int64(stmt, i, bind1);
                }
            }
        }
        std::string out;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
                const auto* t = sqlite3_column_text(stmt, c);
                out += (c ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "");
            }
            out += "\n";
        }
        sqlite3_finalize(stmt);
        return out;
    }

private:
    sqlite3* m_db = nullptr;
};

std::vector<std::int64_t> ids(const std::vector<Deployment>& ds) {
    std::vector<std::int64_t> out;
    for (const auto& d : ds) {
        out.push_back(d.id);
    }
    return out;
}

}  // namespace

TEST_CASE("sqlite store: opening creates the database with WAL and records the migrations",
          "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "sub" / "state.db";
    { SqliteStore store(db); }
    struct stat st {};
    REQUIRE(::stat(db.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(db.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    RawDb raw(db);
    CHECK(raw.query("PRAGMA journal_mode") == "wal\n");
    std::string versions;
    for (int v = 1; v <= latest_schema_version(); ++v) {
        versions += std::to_string(v) + "\n";
    }
    CHECK(raw.query("SELECT version FROM schema_migrations ORDER BY version") == versions);
}

TEST_CASE("sqlite store: a database of schema 1 gains last_poll_revision, data kept", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    {
        RawDb raw(db);
        raw.exec(
            R"(CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER);
INSERT INTO schema_migrations VALUES (1, 0);
CREATE TABLE deployments (id INTEGER PRIMARY KEY AUTOINCREMENT, stack TEXT NOT NULL,
  status TEXT NOT NULL, revision TEXT NOT NULL DEFAULT '', tag TEXT NOT NULL DEFAULT '',
  images TEXT NOT NULL DEFAULT '{}', trigger TEXT NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER, reason TEXT NOT NULL DEFAULT '', phase TEXT NOT NULL DEFAULT '',
  previous INTEGER);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, deployment_id INTEGER NOT NULL,
  at INTEGER NOT NULL, phase TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE stacks (name TEXT PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0, pinned INTEGER,
  last_poll_at INTEGER, last_poll_result TEXT NOT NULL DEFAULT '',
  last_poll_error TEXT NOT NULL DEFAULT '', candidate TEXT NOT NULL DEFAULT '');
CREATE TABLE bad_releases (stack TEXT NOT NULL, release_key TEXT NOT NULL, reason TEXT NOT NULL,
  at INTEGER NOT NULL, PRIMARY KEY (stack, release_key));
INSERT INTO stacks (name, paused, last_poll_result) VALUES ('web', 1, 'ok');
)");
    }
    SqliteStore store(db);
    auto s = store.stack_state("web");
    CHECK(s.paused);
    CHECK(s.last_poll.result == "ok");
    CHECK(s.last_poll.revision.empty());
    store.record_poll("web", {at_ms(1'763'800'000'000), "ok", "", std::string(40, 'd')}, "");
    CHECK(store.stack_state("web").last_poll.revision == std::string(40, 'd'));
    CHECK(store.stack_state("web").paused);
}

TEST_CASE("sqlite store: reopening keeps the data and applies no migration twice", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    std::int64_t id = 0;
    {
        SqliteStore store(db);
        id = store.create_deployment(make_deployment("web", Status::Succeeded, 1000));
    }
    RawDb raw(db);
    const std::string applied = raw.query("SELECT version, applied_at FROM schema_migrations");
    {
        SqliteStore store(db);
        auto d = store.deployment(id, false);
        REQUIRE(d);
        CHECK(d->stack == "web");
    }
    CHECK(raw.query("SELECT version, applied_at FROM schema_migrations") == applied);
}

TEST_CASE("sqlite store: a database from a newer agentd is refused", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    { SqliteStore store(db); }
    {
        RawDb raw(db);
        raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                 std::to_string(latest_schema_version() + 1) + ", 0)");
    }
    REQUIRE_THROWS_AS(SqliteStore(db), StoreError);
    REQUIRE_THROWS_WITH(SqliteStore(db),
                        Catch::Contains(db.string()) && Catch::Contains("newer than this agentd"));
}

TEST_CASE("sqlite store: an unopenable path throws naming it", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "is-a-dir";
    std::filesystem::create_directories(db);
    REQUIRE_THROWS_WITH(SqliteStore(db), Catch::Contains(db.string()));
}

TEST_CASE("sqlite store: create, update and get round-trip every field", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");

    Deployment d = make_deployment("web", Status::InProgress, 1'763'800'000'123);
    d.release.tag = "v1.2.3";
    d.release.images = {{"web", "r.local/web:1@sha256:aa"}, {"db", "r.local/db:2@sha256:bb"}};
    d.trigger = Trigger::Webhook;
    d.reason = "because";
    d.previous = 41;
    const std::int64_t id = store.create_deployment(d);
    CHECK(id > 0);

    auto got = store.deployment(id, false);
    REQUIRE(got);
    CHECK(got->id == id);
    CHECK(got->stack == "web");
    CHECK(got->status == Status::InProgress);
    CHECK(got->release == d.release);
    CHECK(got->trigger == Trigger::Webhook);
    CHECK(got->started_at == d.started_at);
    CHECK_FALSE(got->finished_at);
    CHECK(got->reason == "because");
    CHECK(got->phase == "apply");
    CHECK(got->previous == std::optional<std::int64_t>(41));
    CHECK(got->events.empty());

    got->status = Status::RolledBack;
    got->phase = "rollback";
    got->release.revision = "fedcba";
    got->release.tag = "";
    got->release.images = {{"api", "r.local/api:3@sha256:cc"}};
    got->reason = "web: unhealthy";
    got->finished_at = at_ms(1'763'800'060'456);
    got->previous = std::nullopt;
    store.update_deployment(*got);

    auto updated = store.deployment(id, false);
    REQUIRE(updated);
    CHECK(updated->status == Status::RolledBack);
    CHECK(updated->phase == "rollback");
    CHECK(updated->release == got->release);
    CHECK(updated->reason == "web: unhealthy");
    CHECK(updated->finished_at == std::optional<sys::TimePoint>(at_ms(1'763'800'060'456)));
    CHECK_FALSE(updated->previous);
    CHECK(updated->started_at == d.started_at);  // not written by update
    CHECK(updated->trigger == Trigger::Webhook);

    CHECK_FALSE(store.deployment(id + 100, false));
    Deployment missing = *got;
    missing.id = id + 100;
    CHECK_THROWS_AS(store.update_deployment(missing), StoreError);
}

TEST_CASE("sqlite store: events come back in the order they were added", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    const auto id = store.create_deployment(make_deployment("web", Status::InProgress, 1000));
    const auto other = store.create_deployment(make_deployment("web", Status::InProgress, 2000));
    // Same timestamp for two events: order is insertion order, not time.
    store.add_event(id, {at_ms(5000), "plan", "2 services change"});
    store.add_event(other, {at_ms(5000), "plan", "other deployment"});
    store.add_event(id, {at_ms(5000), "pull", "pulled web"});
    store.add_event(id, {at_ms(4000), "apply", "up -d"});

    auto d = store.deployment(id, true);
    REQUIRE(d);
    REQUIRE(d->events.size() == 3);
    CHECK(d->events[0].phase == "plan");
    CHECK(d->events[0].message == "2 services change");
    CHECK(d->events[0].at == at_ms(5000));
    CHECK(d->events[1].phase == "pull");
    CHECK(d->events[2].phase == "apply");
    CHECK(d->events[2].at == at_ms(4000));
    CHECK(store.deployment(id, false)->events.empty());

    CHECK_THROWS_AS(store.add_event(9999, {at_ms(1), "plan", "x"}), StoreError);  // foreign key
}

TEST_CASE("sqlite store: record and promote write a deployment with its events at once",
          "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    const auto old = store.create_deployment(make_deployment("web", Status::Succeeded, 1000));
    const auto other_stack =
        store.create_deployment(make_deployment("api", Status::Succeeded, 1500));
    const auto id = store.create_deployment(make_deployment("web", Status::InProgress, 2000));

    auto d = *store.deployment(id, false);
    d.phase = "gate";
    store.record(d, {at_ms(2100), "gate", "waiting for web"});
    CHECK(store.deployment(id, true)->phase == "gate");
    CHECK(store.deployment(id, true)->events.back().message == "waiting for web");

    // A promotion that fails half way (here: no such deployment) leaves nothing of itself:
    // the running release is still current, nothing superseded, no event added.
    Deployment missing = d;
    missing.id = id + 100;
    missing.status = Status::Succeeded;
    CHECK_THROWS_AS(store.promote(missing, {at_ms(2200), "record", "succeeded"},
                                  {at_ms(2200), "promote", "superseded"}),
                    StoreError);
    CHECK(store.current("web")->id == old);
    CHECK(store.deployment(old, true)->events.empty());

    d.status = Status::Succeeded;
    d.phase = "promote";
    store.promote(d, {at_ms(2300), "record", "succeeded"},
                  {at_ms(2300), "promote", "superseded by deployment 3"});
    CHECK(store.current("web")->id == id);
    const auto superseded = *store.deployment(old, true);
    CHECK(superseded.status == Status::Superseded);
    REQUIRE(superseded.events.size() == 1);
    CHECK(superseded.events[0].message == "superseded by deployment 3");
    CHECK(store.deployment(id, true)->events.back().message == "succeeded");
    // Another stack's current release is its own.
    CHECK(store.current("api")->id == other_stack);
}

TEST_CASE("sqlite store: history is newest first, limited, per stack or all", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    std::vector<std::int64_t> web, api;
    for (int i = 0; i < 4; ++i) {
        web.push_back(store.create_deployment(make_deployment("web", Status::Succeeded, i)));
        api.push_back(store.create_deployment(make_deployment("api", Status::Failed, i)));
    }
    CHECK(ids(store.history("web", 10)) ==
          std::vector<std::int64_t>{web[3], web[2], web[1], web[0]});
    CHECK(ids(store.history("web", 2)) == std::vector<std::int64_t>{web[3], web[2]});
    CHECK(ids(store.history("api", 0)).size() == 4);  // no limit
    CHECK(ids(store.history("", 3)) == std::vector<std::int64_t>{api[3], web[3], api[2]});
    CHECK(store.history("", -1).size() == 8);
    CHECK(store.history("nope", 10).empty());
}

TEST_CASE("sqlite store: current, latest and unfinished", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    CHECK_FALSE(store.current("web"));
    CHECK_FALSE(store.latest("web"));
    CHECK(store.unfinished("web").empty());

    store.create_deployment(make_deployment("web", Status::Succeeded, 1));
    const auto ok2 = store.create_deployment(make_deployment("web", Status::Succeeded, 2));
    const auto crashed1 = store.create_deployment(make_deployment("web", Status::InProgress, 3));
    store.create_deployment(make_deployment("web", Status::Failed, 4));
    const auto crashed2 = store.create_deployment(make_deployment("web", Status::InProgress, 5));
    const auto other = store.create_deployment(make_deployment("api", Status::Succeeded, 6));
    store.create_deployment(make_deployment("api", Status::InProgress, 7));

    REQUIRE(store.current("web"));
    CHECK(store.current("web")->id == ok2);
    CHECK(store.current("api")->id == other);
    REQUIRE(store.latest("web"));
    CHECK(store.latest("web")->id == crashed2);
    CHECK(ids(store.unfinished("web")) == std::vector<std::int64_t>{crashed1, crashed2});

    auto d = *store.deployment(crashed2, false);
    d.status = Status::Succeeded;
    store.update_deployment(d);
    CHECK(store.current("web")->id == crashed2);
    CHECK(ids(store.unfinished("web")) == std::vector<std::int64_t>{crashed1});
}

TEST_CASE("sqlite store: stack state defaults and round-trips", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    auto s = store.stack_state("web");
    CHECK(s.stack == "web");
    CHECK_FALSE(s.paused);
    CHECK_FALSE(s.pinned);
    CHECK_FALSE(s.last_poll.at);
    CHECK(s.last_poll.result.empty());
    CHECK(s.candidate.empty());

    s.paused = true;
    s.pinned = 7;
    s.last_poll = {at_ms(1'763'800'000'999), "error", "registry: 503", std::string(40, 'c')};
    s.candidate = "v1.3.0";
    store.save_stack_state(s);
    CHECK(store.stack_state("web").last_poll.revision == std::string(40, 'c'));
    auto loaded = store.stack_state("web");
    CHECK(loaded.paused);
    CHECK(loaded.pinned == std::optional<std::int64_t>(7));
    CHECK(loaded.last_poll.at == std::optional<sys::TimePoint>(at_ms(1'763'800'000'999)));
    CHECK(loaded.last_poll.result == "error");
    CHECK(loaded.last_poll.error == "registry: 503");
    CHECK(loaded.candidate == "v1.3.0");

    loaded.paused = false;
    loaded.pinned = std::nullopt;
    loaded.candidate = "";
    store.save_stack_state(loaded);  // update, not a second row
    auto again = store.stack_state("web");
    CHECK_FALSE(again.paused);
    CHECK_FALSE(again.pinned);
    CHECK(again.candidate.empty());
    CHECK(again.last_poll.result == "error");
    CHECK_FALSE(store.stack_state("api").paused);
}

TEST_CASE("sqlite store: a blue-green stack's slots", "[state][blue_green]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    CHECK_FALSE(store.stack_state("web").slots);
    const model::Slots slots{"green", 12, 11, at_ms(1'763'800'600'000)};
    store.record_slots("web", slots);
    store.record_retention("web", 3, 2);
    store.record_poll("web", {at_ms(1'763'800'000'000), "ok", "", "", ""}, "");
    store.set_control("web", true, std::nullopt);
    CHECK(store.stack_state("web").slots == slots);
    // the idle slot stopped
    store.record_slots("web", {"green", 12, 11, std::nullopt});
    CHECK_FALSE(store.stack_state("web").slots->idle_stops_at);
    CHECK(store.stack_state("web").slots->idle_deployment == 11);
    CHECK_FALSE(store.stack_state("api").slots);
}

TEST_CASE("sqlite store: drift and retention columns are written by their own writers",
          "[state][drift][retention]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    CHECK_FALSE(store.stack_state("web").kept_releases);
    CHECK_FALSE(store.stack_state("web").offline_releases);
    store.record_poll("web", {at_ms(1'763'800'000'000), "ok", "", "", "web: no container"}, "");
    store.record_retention("web", 3, 2);
    store.set_control("web", true, std::nullopt);
    auto s = store.stack_state("web");
    CHECK(s.last_poll.drift == "web: no container");
    CHECK(s.kept_releases == 3);
    CHECK(s.offline_releases == 2);
    CHECK(s.paused);
    // the next poll's record keeps retention's columns, and clears the drift it did not find
    store.record_poll("web", {at_ms(1'763'800'060'000), "ok", "", "", ""}, "");
    s = store.stack_state("web");
    CHECK(s.last_poll.drift.empty());
    CHECK(s.offline_releases == 2);
    // save_stack_state writes them all
    s.kept_releases = 1;
    s.offline_releases = 0;
    store.save_stack_state(s);
    CHECK(store.stack_state("web").offline_releases == 0);
}

TEST_CASE("sqlite store: the images agentd pulled are remembered per stack, forgotten at once",
          "[state][retention]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    const std::string a = "127.0.0.1:5000/web@sha256:" + std::string(64, 'a');
    const std::string b = "127.0.0.1:5000/web@sha256:" + std::string(64, 'b');
    store.remember_pull("web", a);
    store.remember_pull("web", a);  // pulled again: one row
    store.remember_pull("api", a);
    store.remember_pull("web", b);
    auto pulled = store.pulled_images();
    REQUIRE(pulled.size() == 3);
    CHECK(pulled[0].stack == "web");
    CHECK(pulled[0].reference == a);
    CHECK(pulled[2].reference == b);
    store.forget_pull(a);  // gone from the host: for every stack
    pulled = store.pulled_images();
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].reference == b);
}

TEST_CASE("sqlite store: bad releases are marked per stack and cleared", "[state]") {
    testing::TempDir tmp;
    SqliteStore store(tmp.path() / "state.db");
    CHECK_FALSE(store.is_bad("web", "k1"));
    store.mark_bad("web", "k1", "gate failed");
    store.mark_bad("web", "k1", "gate failed again");  // idempotent
    store.mark_bad("web", "k2", "rejected");
    store.mark_bad("api", "k1", "gate failed");
    CHECK(store.is_bad("web", "k1"));
    CHECK(store.is_bad("web", "k2"));
    CHECK_FALSE(store.is_bad("web", "k3"));
    store.clear_bad("web");
    CHECK_FALSE(store.is_bad("web", "k1"));
    CHECK_FALSE(store.is_bad("web", "k2"));
    CHECK(store.is_bad("api", "k1"));
}

TEST_CASE("sqlite store: a second connection sees committed writes", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    SqliteStore writer(db);
    SqliteStore reader(db);
    CHECK_FALSE(reader.latest("web"));
    const auto id = writer.create_deployment(make_deployment("web", Status::InProgress, 1));
    writer.add_event(id, {at_ms(2), "plan", "x"});
    REQUIRE(reader.latest("web"));
    CHECK(reader.latest("web")->id == id);
    CHECK(reader.deployment(id, true)->events.size() == 1);
    writer.mark_bad("web", "k", "r");
    CHECK(reader.is_bad("web", "k"));
}

TEST_CASE("sqlite store: connections in two threads write concurrently without losing any",
          "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    { SqliteStore init(db); }  // migrate once, as the daemon does before starting threads
    constexpr int k_each = 200;
    auto writer = [&](const std::string& stack) {
        SqliteStore store(db);  // one connection per thread
        for (int i = 0; i < k_each; ++i) {
            const auto id = store.create_deployment(make_deployment(stack, Status::InProgress, i));
            store.add_event(id, {at_ms(i), "plan", stack});
            store.mark_bad(stack, std::to_string(i), "r");
        }
    };
    std::thread a(writer, "web");
    std::thread b(writer, "api");
    a.join();
    b.join();
    SqliteStore store(db);
    CHECK(store.history("web", 0).size() == k_each);
    CHECK(store.history("api", 0).size() == k_each);
    CHECK(store.history("", 0).size() == 2 * k_each);
    CHECK(store.is_bad("api", std::to_string(k_each - 1)));
}

TEST_CASE("sqlite store: history of 2,000 deployments uses the indexes", "[state]") {
    testing::TempDir tmp;
    const auto db = tmp.path() / "state.db";
    SqliteStore store(db);
    for (int i = 0; i < 2000; ++i) {
        store.create_deployment(make_deployment(i % 2 ? "web" : "api", Status::Succeeded, i));
    }
    const auto last = store.history("web", 5);
    REQUIRE(last.size() == 5);
    CHECK(last[0].id == 2000);
    CHECK(last[4].id == 1992);
    CHECK(store.history("", 50).size() == 50);
    CHECK(store.history("", 1)[0].id == 2000);

    RawDb raw(db);
    raw.exec("ANALYZE");
    const std::string per_stack =
        raw.query(std::string("EXPLAIN QUERY PLAN ") + sql::k_history_of_stack, 5, true, "web");
    INFO(per_stack);
    CHECK(per_stack.find("USING INDEX") != std::string::npos);
    CHECK(per_stack.find("TEMP B-TREE") == std::string::npos);
    const std::string all =
        raw.query(std::string("EXPLAIN QUERY PLAN ") + sql::k_history_all, 5, true);
    INFO(all);
    // Walks the rowid backwards: no sort of the whole table.
    CHECK(all.find("TEMP B-TREE") == std::string::npos);
    for (const char* query : {sql::k_newest_with_status, sql::k_oldest_first_with_status}) {
        const std::string plan =
            raw.query(std::string("EXPLAIN QUERY PLAN ") + query, 0, true, "web");
        INFO(plan);
        CHECK(plan.find("USING INDEX") != std::string::npos);
        CHECK(plan.find("TEMP B-TREE") == std::string::npos);
    }
}

TEST_CASE("sqlite store: a recorded poll and an admin's pause do not overwrite each other",
          "[state]") {
    testing::TempDir dir;
    SqliteStore store(dir.path() / "state.db");
    store.set_control("web", true, 4);
    store.record_poll("web", {at_ms(1'763'800'000'000), "ok", ""}, "waiting for images");
    auto s = store.stack_state("web");
    CHECK(s.paused);
    CHECK(s.pinned == std::optional<std::int64_t>(4));
    CHECK(s.candidate == "waiting for images");

    store.record_poll("api", {at_ms(1'763'800'000'000), "error", "git: unreachable"}, "");
    store.set_control("api", true, std::nullopt);
    s = store.stack_state("api");
    CHECK(s.paused);
    CHECK(s.last_poll.result == "error");
    CHECK(s.last_poll.error == "git: unreachable");
    store.set_control("api", false, std::nullopt);
    CHECK_FALSE(store.stack_state("api").paused);
}

}  // namespace agentd::state::unit_state_sqlite_store_test
