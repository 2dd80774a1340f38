#pragma once
// The outbox on state.db, over a connection of its own (one per thread, as SqliteStore).

#include <filesystem>
#include <memory>

#include "agent/state/outbox.h"

struct sqlite3;

namespace agentd::state {

class StatementCache;

class SqliteOutbox final : public Outbox {
public:
    /// Rows kept at most (delivered ones included) unless told otherwise.
    static constexpr int k_default_capacity = 1000;

    /// Opens state.db at `db_path` and applies the schema migrations, as SqliteStore does.
    /// Throws StoreError naming the path.
    explicit SqliteOutbox(std::filesystem::path db_path, int capacity = k_default_capacity);
    ~SqliteOutbox() override;
    SqliteOutbox(const SqliteOutbox&) = delete;
    SqliteOutbox& operator=(const SqliteOutbox&) = delete;

    Enqueued enqueue(const OutboxMessage& message, sys::TimePoint now) override;
    std::vector<OutboxItem> due(sys::TimePoint now, int limit) override;
    std::optional<sys::TimePoint> next_due() override;
    /// Throws StoreError for an unknown id.
    void delivered(std::int64_t id, sys::TimePoint at) override;
    /// Throws StoreError for an unknown id.
    void failed(std::int64_t id, const std::string& error,
                std::optional<sys::TimePoint> retry_at) override;
    int retry_now(sys::TimePoint now) override;
    std::optional<OutboxItem> item(std::int64_t id) override;

private:
    std::filesystem::path m_path;
    int m_capacity;
    sqlite3* m_db = nullptr;
    std::unique_ptr<StatementCache> m_statements;  // finalized before m_db closes
};

}  // namespace agentd::state
