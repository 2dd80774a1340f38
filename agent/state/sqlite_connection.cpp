#include "agent/state/sqlite_connection.h"

#include <system_error>

#include <fmt/format.h>
#include <sqlite3.h>

#include "agent/state/private_dir.h"
#include "agent/state/sqlite_migrations.h"
#include "agent/state/store.h"

namespace agentd::state {
namespace {

constexpr int k_busy_timeout_ms = 5000;

sqlite3* open_connection(const std::filesystem::path& path) {
    if (auto dir = create_private_dirs(path.parent_path()); !dir) {
        throw StoreError(
            fmt::format("cannot open state store {}: {}", path.string(), dir.error().message));
    }
    std::error_code ec;
    const bool existed = std::filesystem::exists(path, ec);
    sqlite3* db = nullptr;
    // NOMUTEX: a SqliteStore is used by one thread only, so SQLite need not lock for us.
    const int rc = sqlite3_open_v2(
        path.c_str(), &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
        nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        throw StoreError(fmt::format("cannot open state store {}: {}", path.string(), message));
    }
    sqlite3_busy_timeout(db, k_busy_timeout_ms);
    const char* pragmas =
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
    char* message = nullptr;
    if (sqlite3_exec(db, pragmas, nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string text = message != nullptr ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        sqlite3_close_v2(db);
        throw StoreError(fmt::format("cannot open state store {}: {}", path.string(), text));
    }
    if (!existed) {
        // The history is the host's business only; the -wal and -shm files copy this mode.
        std::filesystem::permissions(
            path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    }
    return db;
}

}  // namespace

Connection::Connection(const std::filesystem::path& path) : m_db(open_connection(path)) {
    try {
        migrate(m_db, path);
        m_statements = std::make_unique<StatementCache>(m_db);
    } catch (...) {
        sqlite3_close_v2(m_db);
        throw;
    }
}

Connection::~Connection() {
    m_statements.reset();
    sqlite3_close_v2(m_db);
}

}  // namespace agentd::state
