#pragma once
// The state database's schema, as numbered migrations (SPEC section 5).

#include <filesystem>
#include <span>

#include <sqlite3.h>

namespace agentd::state {

struct Migration {
    int version;
    const char* sql;  ///< one or more statements, run in one transaction
};

/// Every migration this agentd knows, in version order. Append only: never edit one that has
/// shipped, add the next version instead.
std::span<const Migration> schema_migrations();

/// The highest version schema_migrations() knows.
int latest_schema_version();

/// Applies the migrations `db` has not recorded in its schema_migrations table, each in its own
/// transaction, recording version and time. Throws StoreError when a migration fails or when
/// the database was written by a newer agentd (a version higher than this one knows);
/// `path` names the database in messages.
void migrate(sqlite3* db, const std::filesystem::path& path);

}  // namespace agentd::state
