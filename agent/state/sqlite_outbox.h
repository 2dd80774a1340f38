#pragma once
// The outbox on state.db, over a connection of its own (one per thread, as SqliteStore).

#include <filesystem>

#include "agent/state/outbox.h"
#include "agent/state/sqlite_connection.h"

namespace agentd::state {

class SqliteOutbox final : public Outbox {
public:
    /// Rows kept at most (delivered ones included) unless told otherwise.
    static constexpr int k_default_capacity = 1000;

    /// Opens state.db at `db_path` and applies the schema migrations, as SqliteStore does.
    /// Throws StoreError naming the path.
    explicit SqliteOutbox(std::filesystem::path db_path, int capacity = k_default_capacity);
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
    std::optional<std::string> memory(const std::string& target) override;
    void remember(const std::string& target, const std::string& memory,
                  sys::TimePoint now) override;

private:
    std::filesystem::path m_path;
    int m_capacity;
    Connection m_connection;
};

}  // namespace agentd::state
