#pragma once
// The Docker Engine, as far as agentd needs it.

#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::runtime {

/// One container of a compose project, from list + inspect.
struct ContainerState {
    std::string id;
    std::string name;
    std::string service;     ///< com.docker.compose.service label
    std::string image;       ///< as configured (Config.Image)
    std::string image_id;    ///< sha256:... of the local image
    std::string state;       ///< created, running, restarting, exited, paused, dead
    std::string health;      ///< "" without healthcheck, else starting, healthy, unhealthy
    std::string health_log;  ///< output of the last failed health check, if any
    int exit_code = 0;
    int restart_count = 0;
    bool oom_killed = false;
    bool one_off = false;        ///< com.docker.compose.oneoff=True (compose run)
    std::string restart_policy;  ///< "no", "always", "unless-stopped", "on-failure"
    sys::TimePoint started_at;
};

struct RegistryCredentials {
    std::string username;
    std::string password;
    std::string server;  ///< registry host
};

class Engine {
public:
    virtual ~Engine() = default;
    /// Pulls `reference` (name@sha256:...). Errors reported inside the stream are errors.
    virtual sys::Result<void> pull(const std::string& reference,
                                   const std::optional<RegistryCredentials>& credentials) = 0;
    /// Whether the image is present locally.
    virtual sys::Result<bool> has_image(const std::string& reference) = 0;
    /// All containers (running or not) labelled com.docker.compose.project=project, inspected.
    virtual sys::Result<std::vector<ContainerState>> project_containers(
        const std::string& project) = 0;
};

}  // namespace agentd::runtime
