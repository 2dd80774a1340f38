#pragma once
// Opening state.db: one connection with the pragmas every connection needs (WAL, busy timeout,
// foreign keys), the file private to agentd. Shared by SqliteStore and SqliteOutbox.

#include <filesystem>

struct sqlite3;

namespace agentd::state {

/// Opens or creates the database at `path` (its parent directory created 0700 when missing, a
/// new file 0600). Throws StoreError naming the path. The caller closes it (sqlite3_close_v2).
sqlite3* open_connection(const std::filesystem::path& path);

}  // namespace agentd::state
