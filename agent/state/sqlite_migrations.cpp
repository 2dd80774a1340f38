#include "agent/state/sqlite_migrations.h"

#include <array>
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/state/sqlite_statement.h"
#include "agent/state/store.h"

namespace agentd::state {
namespace {

// Times are unix milliseconds (INTEGER): sortable, exact to the millisecond, no parsing.
// Status and trigger are their SPEC names ("in_progress", "poll"); images is a JSON object
// service -> "ref@sha256:...". `previous` is not a foreign key: it names history, and a
// deployment must be recordable even if the one it refers to is missing.
constexpr std::array k_migrations{
    Migration{1, R"sql(
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stack       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    revision    TEXT    NOT NULL DEFAULT '',
    tag         TEXT    NOT NULL DEFAULT '',
    images      TEXT    NOT NULL DEFAULT '{}',
    trigger     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    reason      TEXT    NOT NULL DEFAULT '',
    phase       TEXT    NOT NULL DEFAULT '',
    previous    INTEGER
);
CREATE INDEX deployments_stack ON deployments (stack, id);
-- current() and unfinished() look for one status of one stack.
CREATE INDEX deployments_stack_status ON deployments (stack, status, id);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    phase         TEXT    NOT NULL,
    message       TEXT    NOT NULL
);
CREATE INDEX events_deployment ON events (deployment_id, id);

CREATE TABLE stacks (
    name             TEXT    PRIMARY KEY,
    paused           INTEGER NOT NULL DEFAULT 0,
    pinned           INTEGER,
    last_poll_at     INTEGER,
    last_poll_result TEXT    NOT NULL DEFAULT '',
    last_poll_error  TEXT    NOT NULL DEFAULT '',
    candidate        TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE bad_releases (
    stack       TEXT    NOT NULL,
    release_key TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (stack, release_key)
);
)sql"},
    // The revision each poll saw: a commit that changes nothing a stack reads is seen, not
    // deployed (status shows it).
    Migration{2, R"sql(
ALTER TABLE stacks ADD COLUMN last_poll_revision TEXT NOT NULL DEFAULT '';
)sql"},
    // Notifications waiting to be delivered (and the last ones delivered or given up), so that
    // one survives a restart. `target` is a key of the receiver (a hash of its URL, which
    // carries a token and is never stored); next_attempt_at is NULL once the row is done.
    Migration{3, R"sql(
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    target          TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '[]',
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;
)sql"},
    // What each receiver's alerts remember (notify::Alerts::save: the problems sent and not yet
    // resolved), so that a restart neither sends an ongoing problem again nor forgets to say
    // it is resolved. Keyed like outbox.target.
    Migration{4, R"sql(
CREATE TABLE alert_memory (
    target     TEXT    PRIMARY KEY,
    memory     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
)sql"},
    // Drift (how the containers differ from the current release, as the last poll found) and
    // image retention: the images agentd pulled (the only ones it may remove), and how many
    // kept releases can be restored without a registry.
    Migration{5, R"sql(
ALTER TABLE stacks ADD COLUMN last_poll_drift TEXT NOT NULL DEFAULT '';
ALTER TABLE stacks ADD COLUMN kept_releases INTEGER;
ALTER TABLE stacks ADD COLUMN offline_releases INTEGER;
CREATE TABLE pulled_images (
    stack     TEXT    NOT NULL,
    reference TEXT    NOT NULL,
    pulled_at INTEGER NOT NULL,
    PRIMARY KEY (stack, reference)
);
)sql"},
    // Blue-green: the slot serving (the proxy's upstream file is the truth after a crash), and
    // what the other slot holds and when it stops.
    Migration{6, R"sql(
ALTER TABLE stacks ADD COLUMN active_slot TEXT;
ALTER TABLE stacks ADD COLUMN active_deployment INTEGER;
ALTER TABLE stacks ADD COLUMN idle_deployment INTEGER;
ALTER TABLE stacks ADD COLUMN idle_stops_at INTEGER;
)sql"},
};

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void exec(sqlite3* db, const char* sql, const std::string& context) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message != nullptr ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw StoreError(fmt::format("{}: {}", context, text));
    }
}

int recorded_version(sqlite3* db, const std::filesystem::path& path) {
    StatementCache cache(db);
    auto stmt = cache.get("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!stmt.step()) {
        throw StoreError(fmt::format("{}: cannot read schema version", path.string()));
    }
    return static_cast<int>(stmt.int64(0));
}

void refuse_newer(int version, const std::string& where) {
    if (version > latest_schema_version()) {
        throw StoreError(fmt::format(
            "{} has schema version {}, newer than this agentd knows ({}): it was written by a "
            "newer agentd; upgrade agentd or use another state_dir",
            where, version, latest_schema_version()));
    }
}

}  // namespace

std::span<const Migration> schema_migrations() {
    return k_migrations;
}

int latest_schema_version() {
    return k_migrations.back().version;
}

void migrate(sqlite3* db, const std::filesystem::path& path) {
    const std::string where = path.string();
    exec(db,
         "CREATE TABLE IF NOT EXISTS schema_migrations ("
         " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
         where + ": create schema_migrations");
    // The usual case, an up-to-date database, takes no write lock.
    const int found = recorded_version(db, path);
    refuse_newer(found, where);
    if (found == latest_schema_version()) {
        return;
    }
    for (const Migration& m : k_migrations) {
        exec(db, "BEGIN IMMEDIATE", where + ": begin migration");
        try {
            // Read inside the write transaction: another process may have migrated meanwhile.
            const int version = recorded_version(db, path);
            refuse_newer(version, where);
            if (version >= m.version) {
                exec(db, "ROLLBACK", where + ": end migration");
                continue;
            }
            exec(db, m.sql, fmt::format("{}: schema migration {}", where, m.version));
            StatementCache cache(db);
            cache.get("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                .bind(1, std::int64_t{m.version})
                .bind(2, now_ms())
                .run();
            exec(db, "COMMIT", fmt::format("{}: commit migration {}", where, m.version));
            spdlog::info("state store {}: applied schema migration {}", where, m.version);
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
}

}  // namespace agentd::state
