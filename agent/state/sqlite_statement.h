#pragma once
// Thin helpers over the SQLite C API for SqliteStore: cached prepared statements, binding and
// reading columns, transactions. Every failure throws StoreError with sqlite3_errmsg.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

namespace agentd::state {

/// Throws StoreError "`context`: <sqlite3_errmsg(db)>".
[[noreturn]] void throw_sqlite_error(sqlite3* db, std::string_view context);

/// One cached prepared statement in use. Resets it (and clears its bindings) when it goes out
/// of scope, so the cache can hand it out again; never outlives the StatementCache.
class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// Parameters are numbered from 1, as in SQLite.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, const std::string& value);
    Statement& bind_optional(int index, const std::optional<std::int64_t>& value);

    /// True when a row is available, false when the statement is done.
    bool step();
    /// Runs a statement that returns no rows.
    void run();

    /// Columns are numbered from 0, as in SQLite.
    std::int64_t int64(int column) const;
    std::optional<std::int64_t> optional_int64(int column) const;
    /// NULL reads as "".
    std::string text(int column) const;

private:
    sqlite3* m_db;
    sqlite3_stmt* m_stmt;
};

/// A connection's prepared statements: each SQL text is prepared once and reused.
class StatementCache {
public:
    explicit StatementCache(sqlite3* db) : m_db(db) {}
    ~StatementCache();
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    /// The statement for `sql`, prepared on first use. Only one Statement per SQL text may be
    /// in use at a time.
    Statement get(const std::string& sql);

private:
    sqlite3* m_db;
    std::unordered_map<std::string, sqlite3_stmt*> m_statements;
};

/// A transaction that rolls back unless commit() is called. Writers take the write lock at
/// BEGIN (IMMEDIATE) so that busy_timeout applies there instead of failing at the first write
/// with SQLITE_BUSY; readers get one consistent snapshot across their statements.
class Transaction {
public:
    enum class Mode { Read, Write };
    Transaction(StatementCache& cache, Mode mode);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    StatementCache& m_cache;
    bool m_open = true;
};

}  // namespace agentd::state
