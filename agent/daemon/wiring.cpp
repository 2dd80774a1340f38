#include "agent/daemon/wiring.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/config/fleet.h"
#include "agent/daemon/progress_publisher.h"
#include "agent/daemon/progress_reporting.h"
#include "agent/deploy/reconciler.h"
#include "agent/fleet/etcd_gateway.h"
#include "agent/fleet/session.h"
#include "agent/runtime/compose_runner.h"
#include "agent/runtime/docker_engine.h"
#include "agent/runtime/proxy.h"
#include "agent/sources/credential_file.h"
#include "agent/sources/docker_config.h"
#include "agent/sources/git_source.h"
#include "agent/sources/registry_client.h"
#include "agent/sources/token_cache.h"
#include "agent/state/sqlite_outbox.h"
#include "agent/state/sqlite_store.h"
#include "agent/sys/files.h"
#include "agent/sys/http.h"
#include "agent/sys/process.h"
#include "agent/trust/git_verifier.h"
#include "agent/trust/image_verifier.h"

namespace agentd::daemon {
namespace {

// Deployments (pull, apply, gate) at once on this host, whatever the number of workers polling:
// like Flux's --concurrent, a release reaching many stacks at once does not start as many
// compose runs and pulls on the host's cores and disk together.
constexpr std::size_t k_max_deploying = 4;

std::filesystem::path db_path(const config::Config& config) {
    return config.state_dir / "state.db";
}

/// A registry client with the side effects it owns: its own curl handle, the Docker client
/// config (and its helpers) as the fallback for credentials, and the daemon's shared token
/// cache. A worker has one; so has each API request that lists tags.
class OwnedRegistry final : public sources::Registry {
public:
    OwnedRegistry(const config::Config& config, std::shared_ptr<sources::TokenCache> tokens,
                  std::shared_ptr<sys::ProcessGroups> groups, Pulse pulse, AgentdMetrics* metrics)
        : m_real_processes(std::move(groups)),
          m_processes(m_real_processes, pulse),
          m_metered_http(m_real_http, metrics),
          m_http(m_metered_http, pulse),
          m_docker_credentials(m_processes),
          m_registry(m_http, config.registries) {
        m_registry.set_docker_credentials(&m_docker_credentials);
        m_registry.set_token_cache(std::move(tokens));
    }

    sys::Result<std::string> resolve_digest(const sources::ImageRef& ref) override {
        return m_registry.resolve_digest(ref);
    }
    std::vector<sys::Result<std::string>> resolve_digests(
        const std::vector<sources::ImageRef>& refs) override {
        return m_registry.resolve_digests(refs);
    }
    sys::Result<std::vector<std::string>> list_tags(const sources::ImageRef& ref) override {
        return m_registry.list_tags(ref);
    }
    sys::Result<sources::Manifest> get_manifest(const sources::ImageRef& ref) override {
        return m_registry.get_manifest(ref);
    }
    sys::Result<std::string> get_blob(const sources::ImageRef& ref, const std::string& digest,
                                      std::size_t max_size) override {
        return m_registry.get_blob(ref, digest, max_size);
    }
    sys::Result<std::vector<sources::Referrer>> referrers(
        const sources::ImageRef& ref, const std::string& digest,
        const std::string& artifact_type) override {
        return m_registry.referrers(ref, digest, artifact_type);
    }
    /// What the client authenticates with at `ref`'s registry (see RegistryClient).
    sys::Result<std::optional<sources::RegistryCredentials>> credentials(
        const sources::ImageRef& ref) const {
        return m_registry.credentials(ref);
    }

private:
    sys::CurlHttpClient m_real_http;
    sys::PosixProcessRunner m_real_processes;
    ReportingProcessRunner m_processes;
    MeteredHttpClient m_metered_http;  // requests by registry host and status, for /metrics
    ReportingHttpClient m_http;
    sources::DockerCredentials m_docker_credentials;
    sources::RegistryClient m_registry;
};

/// One worker thread's side effects: its own curl handles, SQLite connection and clients.
class StackWorker final : public CycleRunner {
public:
    StackWorker(const config::Config& config, const std::atomic<bool>& stop,
                std::shared_ptr<sources::TokenCache> tokens,
                std::shared_ptr<sys::ProcessGroups> groups, Pulse pulse, AgentdMetrics* metrics,
                ProgressHub* progress, fleet::Coordinator* fleet, sys::Semaphore& deploy_places)
        : m_config(config),
          m_docker_http(m_real_docker_http, pulse),
          m_probe_http(m_real_probe_http, pulse),
          m_real_processes(groups),
          m_processes(m_real_processes, pulse),
          m_clock(m_real_clock, pulse),
          m_store(db_path(config)),
          m_real_git(config.state_dir),
          m_git(m_real_git, pulse),
          m_real_signatures(config.state_dir, m_processes),
          m_signatures(m_real_signatures, pulse),
          m_registry(config, std::move(tokens), groups, pulse, metrics),
          m_publisher(progress != nullptr
                          ? std::make_unique<ProgressPublisher>(*progress, m_clock, metrics)
                          : nullptr),
          m_engine(m_docker_http),
          m_compose(m_processes),
          m_proxy(m_processes, m_engine),
          m_deploy_limit(deploy_places, stop, pulse),
          m_reconciler(
              deploy::Services{
                  m_git, m_signatures, m_registry, m_engine, m_compose, m_store, m_clock,
                  m_probe_http, m_verifier,
                  [this](const std::string& host) { return pull_credentials(host); },
                  m_publisher ? static_cast<deploy::CycleObserver*>(m_publisher.get()) : metrics,
                  &m_proxy, fleet, &m_deploy_limit},
              config.state_dir, stop) {}

    deploy::CycleResult reconcile(const config::Stack& stack, model::Trigger trigger,
                                  deploy::Urgency urgency, sources::AskedAt asked) override {
        return m_reconciler.reconcile(stack, trigger, urgency, asked);
    }
    deploy::CycleResult rollback(const config::Stack& stack,
                                 std::optional<std::int64_t> to) override {
        return m_reconciler.rollback(stack, to);
    }
    deploy::CycleResult pin(const config::Stack& stack, std::int64_t to) override {
        return m_reconciler.pin(stack, to);
    }
    deploy::CycleResult approve(const config::Stack& stack,
                                std::optional<std::int64_t> which) override {
        return m_reconciler.approve(stack, which);
    }
    void recover(const config::Stack& stack, std::string_view cause) override {
        m_reconciler.recover(stack, cause);
    }
    state::Store& store() override { return m_store; }

private:
    /// What the registry client authenticated with, handed on to the Engine's pull.
    std::optional<runtime::RegistryCredentials> pull_credentials(const std::string& host) {
        sources::ImageRef ref;
        ref.registry = host;
        auto creds = m_registry.credentials(ref);
        if (!creds) {
            spdlog::error("{}", creds.error().message);  // names the file, never its content
            return std::nullopt;
        }
        if (!*creds) {
            return std::nullopt;
        }
        return runtime::RegistryCredentials{(*creds)->username, (*creds)->password, host};
    }

    config::Config m_config;  // a copy: a reload builds a new worker
    // Each side effect as the reconciler sees it: the real one behind a decorator that reports
    // the call to the worker's Pulse (daemon/progress_reporting.h) for the watchdog.
    sys::CurlHttpClient m_real_docker_http;
    sys::CurlHttpClient m_real_probe_http;
    ReportingHttpClient m_docker_http;
    ReportingHttpClient m_probe_http;
    sys::PosixProcessRunner m_real_processes;
    ReportingProcessRunner m_processes;
    sys::SystemClock m_real_clock;
    ReportingClock m_clock;
    state::SqliteStore m_store;
    sources::LibGit2Source m_real_git;
    ReportingGitSource m_git;
    trust::MirrorGitVerifier m_real_signatures;
    ReportingGitVerifier m_signatures;
    OwnedRegistry m_registry;
    // The pipeline's observer: live progress, handing everything on to the metrics.
    std::unique_ptr<ProgressPublisher> m_publisher;
    runtime::DockerEngine m_engine;
    runtime::ComposeRunner m_compose;
    runtime::NginxProxy m_proxy;
    ReportingDeployLimit m_deploy_limit;
    /// Verified digests are cached for the worker's life; a reload makes a new worker, so
    /// changed key files are read again.
    trust::RegistryImageVerifier m_verifier{m_registry};
    deploy::Reconciler m_reconciler;
};

/// `fleet:` as the session takes it: this host's name (the system's unless set), and per stack
/// whether this host is in its canary wave.
sys::Result<fleet::FleetSettings> fleet_settings(const config::Config& config) {
    const auto& f = *config.fleet;
    fleet::FleetSettings settings;
    settings.group = f.group;
    settings.host = f.host;
    if (settings.host.empty()) {
        char name[256] = {};
        if (::gethostname(name, sizeof name - 1) != 0 || !config::is_fleet_name(name)) {
            return sys::Error::invalid(
                "fleet: this machine's host name cannot name it in etcd (1-128 of letters, digits, "
                "._-): set fleet.host");
        }
        settings.host = name;
    }
    settings.max_updating = f.max_updating;
    settings.soak = f.soak;
    settings.lease_ttl = f.lease_ttl;
    for (const auto& stack : config.stacks) {
        fleet::RolloutRules rules;
        if (stack.rollout) {
            rules.canary = config::matches(stack.rollout->canary, f.labels);
            rules.after_done = stack.rollout->after;
        }
        settings.rules[stack.name] = rules;
    }
    return settings;
}

sys::Result<fleet::EtcdEndpoints> etcd_endpoints(const config::EtcdClient& etcd) {
    fleet::EtcdEndpoints endpoints;
    endpoints.urls = etcd.endpoints;
    endpoints.ca_file = etcd.ca_file.string();
    endpoints.cert_file = etcd.cert_file.string();
    endpoints.key_file = etcd.key_file.string();
    endpoints.username = etcd.username;
    if (!etcd.password_file.empty()) {
        auto password =
            sources::read_credential_file(etcd.password_file, "fleet.etcd.password_file");
        if (!password) {
            return password.error();
        }
        endpoints.password = std::move(*password);
    }
    return endpoints;
}

class RealWiring final : public Wiring {
public:
    RealWiring(std::shared_ptr<sys::ProcessGroups> groups, AgentdMetrics* metrics,
               ProgressHub* progress)
        : m_groups(std::move(groups)), m_metrics(metrics), m_progress(progress) {}

    std::unique_ptr<state::Store> open_store(const config::Config& config) override {
        return std::make_unique<state::SqliteStore>(db_path(config));
    }
    std::unique_ptr<state::Outbox> open_outbox(const config::Config& config) override {
        return std::make_unique<state::SqliteOutbox>(db_path(config));
    }
    std::unique_ptr<sys::HttpClient> make_notification_client() override {
        return std::make_unique<sys::CurlHttpClient>();
    }
    std::unique_ptr<CycleRunner> make_runner(const config::Config& config,
                                             const std::atomic<bool>& stop, Pulse pulse) override {
        return std::make_unique<StackWorker>(config, stop, token_cache(config), m_groups, pulse,
                                             m_metrics, m_progress, m_fleet.get(), m_deploy_places);
    }
    sys::Result<void> start_fleet(const config::Config& config,
                                  std::function<void(const std::string&)> wake) override {
        if (!config.fleet) {
            return {};
        }
        auto settings = fleet_settings(config);
        if (!settings) {
            return settings.error();
        }
        auto endpoints = etcd_endpoints(config.fleet->etcd);
        if (!endpoints) {
            return endpoints.error();
        }
        m_fleet = std::make_unique<fleet::FleetSession>(
            std::move(*settings),
            [endpoints = std::move(*endpoints), metrics = m_metrics] {
                return std::make_unique<fleet::EtcdGateway>(
                    endpoints, std::make_unique<MeteredEtcdHttp>(
                                   std::make_unique<sys::CurlHttpClient>(), metrics));
            },
            m_clock, std::move(wake));
        m_fleet->start();
        return {};
    }
    void stop_fleet() override {
        if (m_fleet) {
            m_fleet->stop();
        }
    }
    fleet::Admin* fleet_admin() override { return m_fleet.get(); }
    std::unique_ptr<sources::Registry> make_registry(const config::Config& config) override {
        return std::make_unique<OwnedRegistry>(config, token_cache(config), m_groups, Pulse(),
                                               m_metrics);
    }
    std::unique_ptr<trust::ImageVerifier> make_image_verifier(
        sources::Registry& registry) override {
        return std::make_unique<trust::RegistryImageVerifier>(registry);
    }

private:
    /// One token cache for all workers (and API requests), so a stack's next cycle reuses the
    /// token of the last one whichever worker runs it. A reload that changes `registries:` starts a
    /// new cache: tokens got with the old credentials are not used with the new ones.
    std::shared_ptr<sources::TokenCache> token_cache(const config::Config& config) {
        std::lock_guard lock(m_mutex);  // workers build their runners concurrently
        if (!m_tokens || m_token_registries != config.registries) {
            m_tokens = std::make_shared<sources::TokenCache>();
            m_token_registries = config.registries;
        }
        return m_tokens;
    }

    std::shared_ptr<sys::ProcessGroups> m_groups;
    AgentdMetrics* m_metrics;
    ProgressHub* m_progress;
    sys::SystemClock m_clock;
    std::unique_ptr<fleet::FleetSession> m_fleet;  // with `fleet:`, for the daemon's life
    sys::Semaphore m_deploy_places{k_max_deploying};  // shared by the workers' runners
    std::mutex m_mutex;
    std::shared_ptr<sources::TokenCache> m_tokens;
    std::vector<config::Registry> m_token_registries;
};

}  // namespace

std::unique_ptr<Wiring> make_real_wiring(std::shared_ptr<sys::ProcessGroups> groups,
                                         AgentdMetrics* metrics, ProgressHub* progress) {
    return std::make_unique<RealWiring>(std::move(groups), metrics, progress);
}

}  // namespace agentd::daemon
