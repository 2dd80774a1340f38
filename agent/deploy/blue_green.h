#pragma once
// Blue-green releases (strategy: blue_green), the pure parts: the names of a stack's compose
// projects and network, what verify refuses, the probes of a slot and the proxy's routes.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/runtime/compose.h"
#include "agent/runtime/engine.h"
#include "agent/runtime/proxy.h"

namespace agentd::deploy {

// `project` is the stack's compose project name, config::Stack::project() (project_prefix and
// the stack's name), from which every docker name of the stack is derived.

/// `<project>-blue`, `<project>-green`: the compose project of a slot.
std::string slot_project(const std::string& project, const std::string& slot);
/// `<project>-shared`: the compose project of every service that is not deployed in slots.
std::string shared_project(const std::string& project);
/// `agentd-<project>`: the network all of the stack's projects share.
std::string slot_network(const std::string& project);

/// Why `services` cannot be deployed in two slots at once: a slot service that compose does
/// not know, or that has a container_name, publishes a host port or uses another network
/// mode (host, another container's); nullopt when they can.
std::optional<std::string> refuse_slots(const config::BlueGreen& blue_green,
                                        const std::vector<runtime::ComposeService>& services);

/// Why the proxy blue_green.proxy names cannot work with `services`; nullopt when it can, and
/// always with nginx: host. With nginx: service, the service must be in the compose files, not
/// be a slot service, have no profile (up would not start it) and bind-mount the upstream
/// file's directory, or one above it: a bind mount of the file itself is refused, because
/// agentd replaces the file by a rename, which such a mount never shows the container (it
/// keeps the file it was started with).
std::optional<std::string> refuse_proxy(const config::BlueGreen& blue_green,
                                        const std::vector<runtime::ComposeService>& services);

/// The services of `services` that are not slot services and `up` starts (no profile).
std::vector<std::string> shared_services(const config::BlueGreen& blue_green,
                                         const std::vector<runtime::ComposeService>& services);

/// health.http as the slot's own gate asks it: each probe's path at each slot service's
/// containers on `network` ("http://172.18.0.5:80/healthz"), not through the proxy.
std::vector<config::HttpProbe> slot_probes(const config::BlueGreen& blue_green,
                                           const std::vector<config::HttpProbe>& probes,
                                           const std::vector<runtime::ContainerSummary>& slot,
                                           const std::string& network);

/// The proxy's routes to `slot`: one upstream `<stack>_<service>` per slot service, its
/// servers the slot's running containers of that service on `network` (address:port).
/// An error naming the service when one has no running container with an address there.
sys::Result<runtime::ProxyRoutes> slot_routes(
    const std::string& stack, const config::BlueGreen& blue_green, const std::string& slot,
    std::int64_t deployment, const std::vector<runtime::ContainerSummary>& slot_containers,
    const std::string& network);

}  // namespace agentd::deploy
