#pragma once
// What a worker thread needs to run cycles: the reconciler over per-thread side effects
// (SQLite connections and curl handles are not shared between threads). The real ones are
// built in daemon/wiring.cpp; tests give fakes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "agent/config/config.h"
#include "agent/daemon/liveness.h"
#include "agent/deploy/reconciler.h"
#include "agent/fleet/admin.h"
#include "agent/sources/registry.h"
#include "agent/state/outbox.h"
#include "agent/state/store.h"
#include "agent/sys/http.h"
#include "agent/trust/image_verifier.h"

namespace agentd::daemon {

/// One worker's context.
class CycleRunner {
public:
    virtual ~CycleRunner() = default;
    /// Reconciler::reconcile.
    virtual deploy::CycleResult reconcile(const config::Stack& stack, model::Trigger trigger,
                                          deploy::Urgency urgency, sources::AskedAt asked) = 0;
    virtual deploy::CycleResult rollback(const config::Stack& stack,
                                         std::optional<std::int64_t> to) = 0;
    /// Reconciler::pin.
    virtual deploy::CycleResult pin(const config::Stack& stack, std::int64_t to) = 0;
    /// Reconciler::approve.
    virtual deploy::CycleResult approve(const config::Stack& stack,
                                        std::optional<std::int64_t> which) = 0;
    /// Reconciler::recover.
    virtual void recover(const config::Stack& stack, std::string_view cause) = 0;
    /// This worker's own connection to the state store.
    virtual state::Store& store() = 0;
};

/// Builds the per-thread contexts. Construction errors throw (std::exception).
class Wiring {
public:
    virtual ~Wiring() = default;
    /// A connection to `config.state_dir`'s state store (for the API's reads and writes).
    virtual std::unique_ptr<state::Store> open_store(const config::Config& config) = 0;
    /// A worker context for `config`; `stop` is handed to its reconciler. Every call it makes
    /// into the outside world is reported to `pulse` (for the watchdog, daemon/liveness.h).
    virtual std::unique_ptr<CycleRunner> make_runner(const config::Config& config,
                                                     const std::atomic<bool>& stop,
                                                     Pulse pulse) = 0;
    /// A registry client with `config`'s credentials (its `registries:`, then the Docker client
    /// config), for one API request such as `agentctl tags`.
    virtual std::unique_ptr<sources::Registry> make_registry(const config::Config& config) = 0;
    /// An image signature verifier reading through `registry`, for one API request
    /// (`agentctl verify`); it caches nothing beyond its own life.
    virtual std::unique_ptr<trust::ImageVerifier> make_image_verifier(
        sources::Registry& registry) = 0;
    /// A connection to `config.state_dir`'s notification outbox, and an HTTP client for the
    /// notification sender; nullptr (the default, for tests that do not test them): agentd
    /// sends no notifications.
    virtual std::unique_ptr<state::Outbox> open_outbox(const config::Config&) { return nullptr; }
    virtual std::unique_ptr<sys::HttpClient> make_notification_client() { return nullptr; }
    /// With `fleet:`: joins the fleet (etcd) for the daemon's life; the runners made after it
    /// take their turns through it, and `wake` is told of a stack whose turn may have come.
    /// An error (the password file cannot be read) stops agentd from starting. The default
    /// (tests that do not test it): no fleet.
    virtual sys::Result<void> start_fleet(const config::Config&,
                                          std::function<void(const std::string&)> /*wake*/) {
        return {};
    }
    /// Leaves the fleet: this host's rollout slots are freed at once.
    virtual void stop_fleet() {}
    /// What `agentctl fleet` asks, once start_fleet joined a fleet; null before or without.
    virtual fleet::Admin* fleet_admin() { return nullptr; }
};

}  // namespace agentd::daemon
