#pragma once
// The agentd driver: worker threads running cycles from the WorkQueue, the API server,
// signals (SIGTERM/SIGINT stop, SIGHUP reloads) and the service manager's notifications.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/daemon/agentd_metrics.h"
#include "agent/daemon/api_backend.h"
#include "agent/daemon/liveness.h"
#include "agent/daemon/notifications.h"
#include "agent/daemon/notifier.h"
#include "agent/daemon/progress_hub.h"
#include "agent/daemon/runner.h"
#include "agent/daemon/shared_config.h"
#include "agent/daemon/unrecorded_errors.h"
#include "agent/daemon/work_queue.h"

namespace agentd::daemon {

class ApiServer;
class MonitoringBackend;
class WebhookBackend;
class WebhookRoutes;

/// What the api.listen server's routes use; kept alive while it serves.
struct TcpRoutes {
    std::unique_ptr<MonitoringBackend> monitoring;
    std::unique_ptr<WebhookBackend> webhook_backend;  ///< with api.webhook_secret_file only
    std::unique_ptr<WebhookRoutes> webhooks;
    TcpRoutes();
    ~TcpRoutes();
};

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every thread it creates
/// afterwards, so that only the main thread receives them (sigtimedwait).
void block_signals();

/// Whether a cycle with this outcome makes `agentd --once` exit 1.
bool outcome_is_failure(deploy::Outcome outcome);

class Daemon {
public:
    /// `config_path` is re-read on reload. `metrics`: what polls add to and api.listen's
    /// /metrics shows (the wiring's workers feed the same); null: the daemon keeps its own.
    /// `progress`: where the wiring's workers publish live progress, followed through
    /// GET /v1/events (the daemon adds each cycle's end); null: the daemon keeps its own.
    Daemon(config::Config config, std::filesystem::path config_path, Wiring& wiring,
           Notifier& notifier, sys::Clock& clock, AgentdMetrics* metrics = nullptr,
           ProgressHub* progress = nullptr);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// `--once`: recovers and runs one cycle per stack, in order. 0 when no cycle ended
    /// Failed or PollError, else 1. Signals must be blocked (block_signals) by the caller.
    int run_once();
    /// Serves until SIGTERM or SIGINT, then lets every worker finish its step. Returns the
    /// exit code (1 when the store or the API cannot be opened). Signals must be blocked.
    int serve();
    /// Re-reads the configuration file. Thread-safe. A bad file is logged with every issue,
    /// returned as a 400 with them, and the old configuration stays. Returns the stack count.
    sys::Result<int> reload();
    /// Asks everything to stop (as SIGTERM does).
    void request_stop();

private:
    void worker_loop(int index);
    deploy::CycleResult run_job(CycleRunner& runner, const config::Config& config, const Job& job);
    /// Grows the pool to one worker per stack (at least one, at most a few); never shrinks it.
    /// Called from serve() and, under m_reload_mutex, from reload(). Returns the pool's size.
    std::size_t start_workers(std::size_t stacks);
    void schedule_stacks(const config::Config& config);
    int wait_for_signals();
    /// WATCHDOG=1 unless a busy worker is stuck (then the stuck step is logged once).
    void ping_watchdog(WatchdogMonitor& monitor);
    /// The api.listen server, when configured; nullptr otherwise. Throws nothing: a listener
    /// that cannot start is an error returned.
    sys::Result<std::unique_ptr<ApiServer>> start_monitoring(
        const config::Config& config, ApiBackend& api, TcpRoutes& routes);

    SharedConfig m_config;
    std::filesystem::path m_config_path;
    Wiring& m_wiring;
    Notifier& m_notifier;
    sys::Clock& m_clock;
    sys::TimePoint m_started;
    std::unique_ptr<AgentdMetrics> m_own_metrics;  // when none was given
    AgentdMetrics& m_metrics;
    std::unique_ptr<ProgressHub> m_own_progress;  // when none was given
    ProgressHub& m_progress;
    Liveness m_liveness;            // what the workers are doing, for the watchdog
    UnrecordedErrors m_unrecorded;  // cycle errors the store could not record
    // Set by serve() before any worker or API thread starts, for as long as it serves; null
    // when the wiring gives no outbox (and in --once).
    NotificationCenter* m_notifications = nullptr;
    std::atomic<bool> m_stop{false};
    WorkQueue m_queue;
    std::mutex m_reload_mutex;
    // Both guarded by m_reload_mutex: a reload through the API may add workers while serving.
    bool m_serving = false;
    std::vector<std::thread> m_workers;
};

}  // namespace agentd::daemon
