#pragma once
// The state store on SQLite (SPEC section 5): state_dir/state.db in WAL mode.

#include <filesystem>

#include "agent/state/sqlite_connection.h"
#include "agent/state/store.h"

namespace agentd::state {

/// Store over one SQLite connection.
///
/// Not thread-safe: use one SqliteStore per thread (one connection per thread, DESIGN.md
/// "Threads"). WAL mode lets readers on other connections work while one thread writes, and
/// each method is one committed transaction, so other connections see its result as a whole.
class SqliteStore final : public Store {
public:
    /// Opens or creates the database at `db_path` (its parent directory is created 0700 when
    /// missing) and applies the schema migrations it has not recorded yet. Throws StoreError
    /// naming the path when it cannot be opened or migrated, or when a newer agentd wrote it.
    explicit SqliteStore(std::filesystem::path db_path);
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    const std::filesystem::path& path() const { return m_path; }

    std::int64_t create_deployment(const model::Deployment& d) override;
    /// Throws StoreError when no deployment `d.id` exists.
    void update_deployment(const model::Deployment& d) override;
    /// Events keep the order they were added in. Throws StoreError for an unknown deployment.
    void add_event(std::int64_t deployment, const model::Event& e) override;
    void record(const model::Deployment& d, const model::Event& e) override;
    void promote(const model::Deployment& d, const model::Event& e,
                 const model::Event& superseded) override;

    std::optional<model::Deployment> deployment(std::int64_t id, bool with_events) override;
    /// Without events. `limit` <= 0 means no limit.
    std::vector<model::Deployment> history(const std::string& stack, int limit) override;
    std::optional<model::Deployment> current(const std::string& stack) override;
    std::vector<model::Deployment> unfinished(const std::string& stack) override;
    std::optional<model::Deployment> latest(const std::string& stack) override;

    model::StackState stack_state(const std::string& stack) override;
    void save_stack_state(const model::StackState& s) override;
    void record_poll(const std::string& stack, const model::LastPoll& poll,
                     const std::string& candidate) override;
    void set_control(const std::string& stack, bool paused,
                     std::optional<std::int64_t> pinned) override;

    /// Marking a release bad again replaces its reason and time.
    void mark_bad(const std::string& stack, const std::string& release_key,
                  const std::string& reason) override;
    bool is_bad(const std::string& stack, const std::string& release_key) override;
    void clear_bad(const std::string& stack) override;
    void remember_pull(const std::string& stack, const std::string& reference) override;
    std::vector<PulledImage> pulled_images() override;
    void forget_pull(const std::string& reference) override;
    void record_retention(const std::string& stack, int kept, int offline) override;
    void record_slots(const std::string& stack, const model::Slots& slots) override;

private:
    // The statements of the methods above, inside the caller's transaction.
    void write_deployment(const model::Deployment& d);
    void insert_event(std::int64_t deployment, const model::Event& e);

    std::filesystem::path m_path;
    Connection m_connection;
};

}  // namespace agentd::state
