#pragma once
// Opening state.db: one connection with the pragmas every connection needs (WAL, busy timeout,
// foreign keys), the file private to agentd, migrated to the current schema, with its cache of
// prepared statements. SqliteStore and SqliteOutbox each hold one.

#include <filesystem>
#include <memory>

#include "agent/state/sqlite_statement.h"

struct sqlite3;

namespace agentd::state {

class Connection {
public:
    /// Opens or creates the database at `path` (its parent directory created 0700 when missing,
    /// a new file 0600) and migrates it. Throws StoreError naming the path.
    explicit Connection(const std::filesystem::path& path);
    /// Finalizes the statements, then closes the connection.
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* handle() const { return m_db; }
    StatementCache& statements() { return *m_statements; }

private:
    sqlite3* m_db = nullptr;
    std::unique_ptr<StatementCache> m_statements;  // finalized before m_db closes
};

}  // namespace agentd::state
