#include "agent/state/sqlite_statement.h"

#include <fmt/format.h>

#include "agent/state/store.h"

namespace agentd::state {

void throw_sqlite_error(sqlite3* db, std::string_view context) {
    throw StoreError(fmt::format("{}: {}", context, sqlite3_errmsg(db)));
}

Statement::~Statement() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
    if (sqlite3_bind_int64(m_stmt, index, value) != SQLITE_OK) {
        throw_sqlite_error(m_db, "bind");
    }
    return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
    if (sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT) != SQLITE_OK) {
        throw_sqlite_error(m_db, "bind");
    }
    return *this;
}

Statement& Statement::bind_optional(int index, const std::optional<std::int64_t>& value) {
    if (value) {
        return bind(index, *value);
    }
    if (sqlite3_bind_null(m_stmt, index) != SQLITE_OK) {
        throw_sqlite_error(m_db, "bind");
    }
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    throw_sqlite_error(m_db, fmt::format("state store: {}", sqlite3_sql(m_stmt)));
}

void Statement::run() {
    while (step()) {
    }
}

std::int64_t Statement::int64(int column) const {
    return sqlite3_column_int64(m_stmt, column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
    if (sqlite3_column_type(m_stmt, column) == SQLITE_NULL) {
        return std::nullopt;
    }
    return sqlite3_column_int64(m_stmt, column);
}

std::string Statement::text(int column) const {
    const auto* data = sqlite3_column_text(m_stmt, column);
    if (data == nullptr) {
        return {};
    }
    return {reinterpret_cast<const char*>(data),
            static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column))};
}

StatementCache::~StatementCache() {
    for (auto& [sql, stmt] : m_statements) {
        sqlite3_finalize(stmt);
    }
}

Statement StatementCache::get(const std::string& sql) {
    auto it = m_statements.find(sql);
    if (it == m_statements.end()) {
        sqlite3_stmt* stmt = nullptr;
        // PERSISTENT: these live as long as the connection, so SQLite keeps them off its
        // lookaside allocator.
        if (sqlite3_prepare_v3(m_db, sql.c_str(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
            throw_sqlite_error(m_db, fmt::format("state store: prepare {}", sql));
        }
        it = m_statements.emplace(sql, stmt).first;
    }
    return Statement(m_db, it->second);
}

Transaction::Transaction(StatementCache& cache, Mode mode) : m_cache(cache) {
    m_cache.get(mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED").run();
}

Transaction::~Transaction() {
    if (m_open) {
        // Never throws from a destructor; a failed ROLLBACK leaves nothing committed anyway.
        try {
            m_cache.get("ROLLBACK").run();
        } catch (const StoreError&) {
        }
    }
}

void Transaction::commit() {
    m_cache.get("COMMIT").run();
    m_open = false;
}

}  // namespace agentd::state
