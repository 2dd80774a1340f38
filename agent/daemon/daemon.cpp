#include "agent/daemon/daemon.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/daemon/api_server.h"
#include "agent/daemon/daemon_backend.h"
#include "agent/daemon/monitoring.h"
#include "agent/daemon/monitoring_routes.h"
#include "agent/daemon/progress_publisher.h"
#include "agent/daemon/webhooks.h"
#include "agent/webhook/payload.h"
#include "agent/runtime/docker_engine.h"
#include "agent/sys/log_context.h"
#include "agent/sys/memory.h"
#include "agent/sys/version.h"

namespace agentd::daemon {
namespace {

// Webhooks per peer address: 20 at once, then one more every half second. A forge sends one
// per push (a few for a push of many refs); more is a loop or a flood.
constexpr webhook::RateLimiter::Limits k_webhook_rate_limit{
    20, std::chrono::milliseconds(500), 1024};

// One worker per stack, up to this many. Cycles of one stack never run in parallel, so a
// worker more than there are stacks would only hold its own HTTP clients, SQLite connection
// and malloc arena (about 1 MB) while idle. A poll spends most of its time waiting for git and
// registries (3 round trips or more), so many stacks poll at once; their deployments are bounded
// apart (k_max_deploying in wiring.cpp), as Argo CD bounds its status and operation processors
// apart.
constexpr std::size_t k_max_workers = 16;

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

/// The next SIGTERM/SIGINT/SIGHUP, or 0 after `timeout`.
int wait_signal(sys::Duration timeout) {
    const sigset_t set = handled_signals();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec ts{};
    ts.tv_sec = secs.count();
    ts.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - secs).count());
    siginfo_t info{};
    const int sig = sigtimedwait(&set, &info, &ts);
    return sig > 0 ? sig : 0;
}

void log_result(const std::string& stack, const deploy::CycleResult& r) {
    const sys::LogScope scope(stack, r.deployment);
    const std::string outcome = deploy::to_string(r.outcome);
    const std::string id = r.deployment ? fmt::format(" (deployment {})", *r.deployment) : "";
    switch (r.outcome) {
        case deploy::Outcome::Noop:
        case deploy::Outcome::Paused:
            spdlog::debug("stack {}: {}{}: {}", stack, outcome, id, r.message);
            break;
        case deploy::Outcome::Succeeded:
        case deploy::Outcome::Waiting:
        case deploy::Outcome::Interrupted:
            spdlog::info("stack {}: {}{}: {}", stack, outcome, id, r.message);
            break;
        case deploy::Outcome::PollError:  // often transient (a registry restarting): retried
            spdlog::warn("stack {}: {}{}: {}", stack, outcome, id, r.message);
            break;
        default:
            spdlog::error("stack {}: {}{}: {}", stack, outcome, id, r.message);
    }
}

std::vector<ScheduledStack> intervals(const config::Config& config) {
    std::vector<ScheduledStack> out;
    for (const auto& s : config.stacks) {
        out.push_back({s.name, s.poll_interval, s.git ? s.git->url : ""});
    }
    return out;
}

}  // namespace

void block_signals() {
    const sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool outcome_is_failure(deploy::Outcome outcome) {
    return outcome == deploy::Outcome::Failed || outcome == deploy::Outcome::PollError;
}

Daemon::Daemon(config::Config config, std::filesystem::path config_path, Wiring& wiring,
               Notifier& notifier, sys::Clock& clock, AgentdMetrics* metrics,
               ProgressHub* progress)
    : m_config(std::move(config)),
      m_config_path(std::move(config_path)),
      m_wiring(wiring),
      m_notifier(notifier),
      m_clock(clock),
      m_started(clock.now()),
      m_own_metrics(metrics == nullptr ? std::make_unique<AgentdMetrics>(m_started) : nullptr),
      m_metrics(metrics != nullptr ? *metrics : *m_own_metrics),
      m_own_progress(progress == nullptr ? std::make_unique<ProgressHub>() : nullptr),
      m_progress(progress != nullptr ? *progress : *m_own_progress),
      m_liveness(clock),
      m_queue(clock, make_random_source()) {}

Daemon::~Daemon() {
    request_stop();
    for (auto& t : m_workers) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void Daemon::request_stop() {
    m_stop = true;
    m_queue.stop();
}

int Daemon::run_once() {
    const auto config = m_config.get();
    bool done = false;
    std::mutex done_mutex;
    // SIGTERM during --once: stop between steps like the daemon does.
    std::thread signals([&] {
        for (;;) {
            {
                std::lock_guard lock(done_mutex);
                if (done) {
                    return;
                }
            }
            const int sig = wait_signal(std::chrono::milliseconds(200));
            if (sig == SIGTERM || sig == SIGINT) {
                spdlog::info("signal {}: stopping after the current step", sig);
                m_stop = true;
            }
        }
    });
    int exit_code = 0;
    try {
        auto runner = m_wiring.make_runner(*config, m_stop, Pulse());
        for (const auto& stack : config->stacks) {
            if (m_stop) {
                exit_code = 1;
                break;
            }
            Job recover{Job::Kind::Recover, stack.name, model::Trigger::Poll, std::nullopt, {}};
            run_job(*runner, *config, recover);
            Job cycle{Job::Kind::Cycle, stack.name, model::Trigger::Poll, std::nullopt, {}};
            const auto result = run_job(*runner, *config, cycle);
            if (outcome_is_failure(result.outcome) ||
                result.outcome == deploy::Outcome::Interrupted) {
                exit_code = 1;
            }
        }
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        exit_code = 1;
    }
    {
        std::lock_guard lock(done_mutex);
        done = true;
    }
    signals.join();
    return exit_code;
}

deploy::CycleResult Daemon::run_job(CycleRunner& runner, const config::Config& config,
                                    const Job& job) {
    // Every record of the job, down to git's and the registry's, is about this stack.
    const sys::LogScope scope(job.stack);
    const config::Stack* stack = config.find_stack(job.stack);
    if (stack == nullptr) {
        // Removed by a reload while queued.
        return {deploy::Outcome::Noop, std::nullopt,
                fmt::format("stack {} is no longer configured", job.stack)};
    }
    deploy::CycleResult result;
    try {
        switch (job.kind) {
            case Job::Kind::Recover:
                runner.recover(*stack, "agentd restarted");
                return {deploy::Outcome::Noop, std::nullopt, "recovered"};
            case Job::Kind::Rollback:
                m_notifier.notify(fmt::format("STATUS=stack {}: rolling back", stack->name));
                result = runner.rollback(*stack, job.rollback_to);
                if (result.outcome == deploy::Outcome::Succeeded) {
                    // SPEC: a rollback pins the stack; automatic deployments stop until resume.
                    runner.store().set_control(
                        stack->name, true, result.deployment ? result.deployment : job.rollback_to);
                    result.message += result.message.empty() ? "" : "; ";
                    result.message += "stack pinned and paused until `agentctl resume`";
                }
                break;
            case Job::Kind::Pin:
                m_notifier.notify(fmt::format("STATUS=stack {}: pinning", stack->name));
                result = runner.pin(*stack, job.rollback_to.value_or(0));
                break;
            case Job::Kind::Approve:
                m_notifier.notify(fmt::format("STATUS=stack {}: deploying an approved release",
                                              stack->name));
                result = runner.approve(*stack, job.rollback_to);
                break;
            case Job::Kind::Cycle:
                if (m_unrecorded.has(stack->name)) {
                    // The stack's last job ended by an exception, maybe half way through a
                    // deployment it could not record: finish that first.
                    runner.recover(*stack, "the previous cycle failed");
                }
                m_notifier.notify(fmt::format("STATUS=stack {}: polling", stack->name));
                result = runner.reconcile(*stack, job.trigger, job.urgency, job.asked);
                break;
        }
        m_unrecorded.clear(stack->name);
    } catch (const state::StoreError& e) {
        // The store could not read or write (a full disk): this cycle ends as a poll error, like
        // any other failure that is agentd's surroundings' and not the release's; a deployment
        // it left in_progress is recovered. The daemon keeps serving the other stacks, and status
        // shows the error from memory since the store may not have recorded it.
        result = {deploy::Outcome::PollError, std::nullopt, "state store: " + e.error().message};
        m_unrecorded.note(stack->name, m_clock.now(), result.message);
    } catch (const std::exception& e) {
        result = {deploy::Outcome::Failed, std::nullopt, e.what()};
        m_unrecorded.note(stack->name, m_clock.now(), e.what());
    }
    log_result(stack->name, result);
    // Before the job's reply is set: a client that subscribed before asking for this cycle
    // (`agentctl sync --wait`) has its end in its queue when the answer comes.
    m_progress.publish(stack->name, end_line(stack->name, result, job.request, m_clock.now()));
    if (job.kind == Job::Kind::Cycle) {
        m_metrics.polled(stack->name, result.outcome);
    }
    if (m_notifications != nullptr) {
        m_notifications->cycle_ended(stack->name, result, runner.store());
    }
    m_notifier.notify(fmt::format("STATUS=watching {} stacks; last: {} {}", config.stacks.size(),
                                  stack->name, deploy::to_string(result.outcome)));
    return result;
}

void Daemon::worker_loop(int index) {
    std::unique_ptr<CycleRunner> runner;
    std::uint64_t generation = 0;
    while (auto job = m_queue.next()) {
        // One read: the runner is always built from the configuration this job runs with.
        const auto [config, config_generation] = m_config.snapshot();
        deploy::CycleResult result;
        try {
            if (!runner || generation != config_generation) {
                generation = config_generation;
                runner = m_wiring.make_runner(*config, m_stop, Pulse(m_liveness, index));
            }
            m_liveness.begin_job(index, job->stack);
            result = run_job(*runner, *config, *job);
            m_liveness.end_job(index);
        } catch (const std::exception& e) {
            const sys::LogScope scope(job->stack);
            spdlog::error("stack {}: worker {}: {}", job->stack, index, e.what());
            m_liveness.end_job(index);
            runner.reset();
            result = {deploy::Outcome::Failed, std::nullopt, e.what()};
        }
        if (job->reply) {
            job->reply->set_value(result);
        }
        m_queue.finish(*job);
        // The cycle's transient memory (JSON, compose output, libgit2's pack buffers) is free
        // now; give its pages back while the worker waits for the next job.
        sys::release_free_memory();
    }
}

std::size_t Daemon::start_workers(std::size_t stacks) {
    const std::size_t wanted = std::clamp<std::size_t>(stacks, 1, k_max_workers);
    while (!m_stop && m_workers.size() < wanted) {
        const int index = static_cast<int>(m_workers.size());
        m_workers.emplace_back([this, index] { worker_loop(index); });
    }
    return m_workers.size();
}

void Daemon::schedule_stacks(const config::Config& config) {
    m_queue.set_stacks(intervals(config));
}

sys::Result<int> Daemon::reload() {
    std::lock_guard lock(m_reload_mutex);
    m_notifier.notify("RELOADING=1");
    config::Config next;
    try {
        next = config::load_config(m_config_path);
    } catch (const config::ConfigError& e) {
        std::string all;
        for (const auto& issue : e.issues()) {
            spdlog::error("reload: {}", issue.to_string());
            all += (all.empty() ? "" : "\n") + issue.to_string();
        }
        spdlog::error("reload: {} keeps its previous configuration", m_config_path.string());
        m_notifier.notify("READY=1");
        return sys::Error::invalid(fmt::format("invalid configuration, not reloaded:\n{}", all));
    }
    const auto current = m_config.get();
    // The state directory and the listeners are in use; changing them needs a restart.
    // project_prefix too: the stacks' containers run in projects of the current prefix.
    if (next.state_dir != current->state_dir || next.api != current->api ||
        next.fleet != current->fleet || next.project_prefix != current->project_prefix) {
        spdlog::warn(
            "reload: state_dir, api, fleet and project_prefix changes take effect at "
            "the next start");
        next.state_dir = current->state_dir;
        next.api = current->api;
        next.fleet = current->fleet;
        next.project_prefix = current->project_prefix;
        for (auto& stack : next.stacks) {
            stack.project_prefix = next.project_prefix;
        }
    }
    if (m_notifications != nullptr) {
        auto targets = resolve_targets(next.notifications);
        if (!targets) {
            spdlog::error("reload: {}; notifications keep their previous receivers",
                          targets.error().message);
        } else {
            m_notifications->set_targets(std::move(*targets));
        }
    }
    const int count = static_cast<int>(next.stacks.size());
    schedule_stacks(next);
    m_config.set(std::move(next));
    if (m_serving) {
        start_workers(static_cast<std::size_t>(count));
    }
    spdlog::info("reload: {} loaded, {} stacks", m_config_path.string(), count);
    m_notifier.notify(fmt::format("READY=1\nSTATUS=watching {} stacks", count));
    return count;
}

void Daemon::ping_watchdog(WatchdogMonitor& monitor) {
    const auto check = monitor.check(m_liveness.busy(), m_clock.now());
    if (check.decision.ping) {
        m_notifier.notify("WATCHDOG=1");
        return;
    }
    if (check.report) {
        const auto& stuck = *check.decision.stuck;
        const sys::LogScope scope(stuck.stack);
        spdlog::error(
            "stack {}: worker {} stuck in \"{}\" since {} (past its timeout and a margin of {}); "
            "watchdog pings stop, so the service manager restarts agentd",
            stuck.stack, stuck.worker, stuck.step, sys::format_rfc3339(stuck.since),
            sys::format_duration(k_liveness_margin));
        m_notifier.notify(fmt::format("STATUS=stack {}: stuck in {}", stuck.stack, stuck.step));
    }
}

int Daemon::wait_for_signals() {
    const auto watchdog = m_notifier.watchdog_interval();
    const auto tick =
        watchdog > sys::Duration::zero() ? watchdog / 2 : sys::Duration(std::chrono::hours(1));
    WatchdogMonitor monitor;
    for (;;) {
        const int sig = wait_signal(tick);
        if (watchdog > sys::Duration::zero()) {
            ping_watchdog(monitor);
        }
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", m_config_path.string());
            (void)reload();
        } else if (sig == SIGTERM || sig == SIGINT) {
            spdlog::info("signal {}: stopping after the current steps", sig);
            return sig;
        }
    }
}

TcpRoutes::TcpRoutes() = default;
TcpRoutes::~TcpRoutes() = default;

sys::Result<std::unique_ptr<ApiServer>> Daemon::start_monitoring(const config::Config& config,
                                                                 ApiBackend& api,
                                                                 TcpRoutes& routes) {
    if (!config.api.listen) {
        return std::unique_ptr<ApiServer>();
    }
    // The engine's readiness is asked through a client of the listener's own (not shared with
    // the workers), one check at a time.
    auto ping = [http = std::make_shared<sys::CurlHttpClient>()]() {
        runtime::DockerEngine engine(*http);
        return engine.ping(std::chrono::seconds(2));
    };
    routes.monitoring =
        std::make_unique<DaemonMonitoring>(m_config, api, m_metrics, ping, m_clock, m_started);
    if (!config.api.webhook_secret_file.empty()) {
        routes.webhook_backend = std::make_unique<DaemonWebhooks>(m_config, api, m_queue, m_clock);
        routes.webhooks =
            std::make_unique<WebhookRoutes>(*routes.webhook_backend, k_webhook_rate_limit);
    }
    ApiLimits limits;
    limits.max_body = webhook::k_max_body;
    auto server = std::make_unique<ApiServer>(
        [monitoring = routes.monitoring.get(),
         webhooks = routes.webhooks.get()](const ApiRequest& request) {
            if (webhooks != nullptr && WebhookRoutes::handles(request.path)) {
                return webhooks->handle(request);
            }
            return handle_monitoring_request(*monitoring, request);
        },
        limits);
    std::optional<ApiServer::TlsFiles> tls;
    if (!config.api.cert_file.empty()) {
        tls = ApiServer::TlsFiles{config.api.cert_file, config.api.key_file};
    }
    if (auto started = server->start_tcp(*config.api.listen, tls); !started) {
        return started.error();
    }
    spdlog::info("api: monitoring (/healthz, /readyz, /metrics{}) on {}",
                 routes.webhooks ? ", /webhooks/github|gitea|gitlab" : "", server->where());
    return server;
}

int Daemon::serve() {
    const auto config = m_config.get();
    std::unique_ptr<state::Store> store;
    try {
        store = m_wiring.open_store(*config);
    } catch (const std::exception& e) {
        spdlog::error("state store in {}: {}", config->state_dir.string(), e.what());
        return 1;
    }
    // Notifications: rows put in the outbox by the workers, delivered by a thread of their own.
    std::unique_ptr<NotificationCenter> notifications;
    std::unique_ptr<NotificationThread> notification_thread;
    try {
        if (auto outbox = m_wiring.open_outbox(*config)) {
            auto targets = resolve_targets(config->notifications);
            if (!targets) {
                spdlog::error("{}", targets.error().message);
                return 1;
            }
            notifications = std::make_unique<NotificationCenter>(std::move(outbox), m_clock);
            notifications->set_targets(std::move(*targets));
            notification_thread =
                std::make_unique<NotificationThread>(*notifications, m_wiring.open_outbox(*config),
                                                     m_wiring.make_notification_client(), m_clock);
            notifications->on_enqueued([t = notification_thread.get()] { t->wake(); });
            m_notifications = notifications.get();
        }
    } catch (const std::exception& e) {
        spdlog::error("notification outbox in {}: {}", config->state_dir.string(), e.what());
        return 1;
    }
    // With `fleet:`, the workers take their turns through etcd; a stack whose turn may have come
    // (its keys changed) is polled now.
    if (auto joined = m_wiring.start_fleet(
            *config,
            [this](const std::string& stack) {
                m_queue.push(Job{Job::Kind::Cycle, stack, model::Trigger::Poll, std::nullopt, {}});
            });
        !joined) {
        spdlog::error("{}", joined.error().message);
        return 1;
    }
    DaemonBackend backend(
        m_config, std::move(store), m_queue, [this] { return reload(); },
        [this](const config::Config& c) { return m_wiring.make_registry(c); },
        [this](sources::Registry& r) { return m_wiring.make_image_verifier(r); }, &m_unrecorded,
        &m_progress, m_wiring.fleet_admin());
    ApiServer api(backend);
    if (auto started = api.start(config->api.socket); !started) {
        spdlog::error("{}", started.error().message);
        return 1;
    }
    spdlog::info("api: listening on {}", api.where());
    TcpRoutes tcp_routes;
    auto monitoring = start_monitoring(*config, backend, tcp_routes);
    if (!monitoring) {
        spdlog::error("{}", monitoring.error().message);
        return 1;
    }
    // Recovery first: a stack's queued job runs before its first poll.
    for (const auto& stack : config->stacks) {
        m_queue.push(Job{Job::Kind::Recover, stack.name, model::Trigger::Poll, std::nullopt, {}});
    }
    schedule_stacks(*config);
    std::size_t workers = 0;
    {
        std::lock_guard lock(m_reload_mutex);
        m_serving = true;
        workers = start_workers(config->stacks.size());
    }
    m_notifier.notify(fmt::format("READY=1\nSTATUS=watching {} stacks", config->stacks.size()));
    spdlog::info("agentd: ready, {} stacks, {} workers", config->stacks.size(), workers);
    if (m_notifications != nullptr) {
        m_notifications->started(
            fmt::format("version {}, {} stacks", sys::k_version, config->stacks.size()));
    }

    wait_for_signals();
    m_notifier.notify("STOPPING=1\nSTATUS=stopping: finishing the current steps");
    request_stop();
    std::vector<std::thread> workers_to_join;
    {
        // A reload through the API may still be starting workers: take the list under its lock.
        std::lock_guard lock(m_reload_mutex);
        m_serving = false;
        workers_to_join.swap(m_workers);
    }
    for (auto& t : workers_to_join) {
        t.join();
    }
    m_wiring.stop_fleet();
    if (*monitoring) {
        (*monitoring)->stop();
    }
    m_progress.close();  // ends every `agentctl watch`
    api.stop();
    {
        std::lock_guard lock(m_reload_mutex);
        m_notifications = nullptr;
    }
    spdlog::info("agentd: stopped");
    return 0;
}

}  // namespace agentd::daemon
