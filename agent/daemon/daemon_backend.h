#pragma once
// The API backend of the running daemon: reads the store (one connection, serialised, since
// libmicrohttpd runs a thread per connection) and hands work to the WorkQueue.

#include <functional>
#include <memory>
#include <mutex>

#include "agent/daemon/api_backend.h"
#include "agent/daemon/progress_hub.h"
#include "agent/daemon/shared_config.h"
#include "agent/daemon/unrecorded_errors.h"
#include "agent/daemon/work_queue.h"
#include "agent/sources/registry.h"
#include "agent/state/store.h"
#include "agent/trust/image_verifier.h"

namespace agentd::daemon {

class DaemonBackend final : public ApiBackend {
public:
    using ReloadFunction = std::function<sys::Result<int>()>;
    /// A registry client for one request, with the credentials of the configuration in force
    /// (its `registries:`, then the Docker client config). One per request because clients
    /// are not shared between threads and a reload may change the credentials.
    using RegistryFactory =
        std::function<std::unique_ptr<sources::Registry>(const config::Config& config)>;
    /// A signature verifier reading through `registry`, for one `agentctl verify` request.
    using VerifierFactory =
        std::function<std::unique_ptr<trust::ImageVerifier>(sources::Registry& registry)>;

    /// `unrecorded`: cycle errors the store could not record, shown by status (may be null).
    /// `progress`: where live progress is followed (null: GET /v1/events answers 409).
    DaemonBackend(SharedConfig& config, std::unique_ptr<state::Store> store, WorkQueue& queue,
                  ReloadFunction reload, RegistryFactory make_registry,
                  VerifierFactory make_verifier, const UnrecordedErrors* unrecorded = nullptr,
                  ProgressHub* progress = nullptr, fleet::Admin* fleet = nullptr);

    sys::Result<std::vector<StackStatus>> status(const std::optional<std::string>& stack) override;
    sys::Result<std::vector<model::Deployment>> history(const std::optional<std::string>& stack,
                                                        int limit) override;
    sys::Result<model::Deployment> show(std::int64_t id) override;
    sys::Result<std::optional<deploy::CycleResult>> sync(const std::string& stack, bool wait,
                                                         const std::string& request) override;
    sys::Result<deploy::CycleResult> rollback(const std::string& stack,
                                              std::optional<std::int64_t> to) override;
    sys::Result<model::StackState> set_paused(const std::string& stack, bool paused) override;
    sys::Result<deploy::CycleResult> pin(const std::string& stack,
                                         std::int64_t deployment) override;
    sys::Result<model::StackState> unpin(const std::string& stack) override;
    sys::Result<deploy::CycleResult> approve(const std::string& stack,
                                             std::optional<std::int64_t> deployment) override;
    sys::Result<deploy::CycleResult> retry(const std::string& stack) override;
    sys::Result<StackDiff> diff(const std::string& stack) override;
    sys::Result<int> reload() override;
    sys::Result<std::vector<std::string>> tags(const sources::ImageRef& image) override;
    sys::Result<VerifyVerdict> verify(const sources::ImageRef& image,
                                      const config::ImageVerify& policy) override;
    sys::Result<std::unique_ptr<ApiStream>> events(
        const std::optional<std::string>& stack) override;
    fleet::Admin* fleet() override { return m_fleet; }
    std::map<std::string, std::string> release_names(const std::string& stack) override;

private:
    bool known(const std::string& stack) const;
    /// Queues `job` and waits for its result.
    sys::Result<deploy::CycleResult> run_and_wait(Job job);

    SharedConfig& m_config;
    std::mutex m_store_mutex;
    std::unique_ptr<state::Store> m_store;
    WorkQueue& m_queue;
    ReloadFunction m_reload;
    RegistryFactory m_make_registry;
    VerifierFactory m_make_verifier;
    const UnrecordedErrors* m_unrecorded;
    ProgressHub* m_progress;
    fleet::Admin* m_fleet;
};

}  // namespace agentd::daemon
