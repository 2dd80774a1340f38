#pragma once
// The Docker Engine, as far as agentd needs it.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/runtime/pull_progress.h"
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

/// One container of a compose project as the engine's listing shows it, without an inspect:
/// what a poll compares with the current release (drift).
struct ContainerSummary {
    std::string id;
    std::string name;
    std::string service;      ///< com.docker.compose.service label ("" when absent)
    std::string image;        ///< the image as the container was created from ("name@sha256:...")
    std::string state;        ///< created, running, restarting, exited, paused, dead
    std::string config_hash;  ///< com.docker.compose.config-hash label ("" when absent)
    bool one_off = false;     ///< com.docker.compose.oneoff=True (compose run)
    int exit_code = 0;        ///< for an exited container: its status, as the listing says it
    std::map<std::string, std::string> addresses;  ///< network name -> the container's IPv4
};

/// How removing an image reference ended.
enum class ImageRemoval {
    Removed,  ///< the reference is gone (and the image with it, unless another name has it)
    Gone,     ///< there was no such image
    InUse,    ///< a container (running or not) uses it: kept
};

struct RegistryCredentials {
    std::string username;
    std::string password;
    std::string server;  ///< registry host
};

/// One event of the engine's stream about a container of a compose project (GET /events).
struct ContainerEvent {
    std::string action;    ///< "kill", "stop"
    std::string name;      ///< the container's name
    std::string service;   ///< com.docker.compose.service label
    bool one_off = false;  ///< com.docker.compose.oneoff=True (compose run)
    std::string signal;    ///< for "kill": the signal's number, "15"
};

/// How a command run in a container ended (Engine::exec).
struct ExecResult {
    int exit_code = 0;
    /// What it wrote to stdout and stderr, interleaved as it came; at most the first 64 KiB.
    std::string output;
};

/// What the stream said since the last look.
struct EngineEvents {
    std::vector<ContainerEvent> events;
    /// The stream is over: the engine went away (stopped, restarted, crashed) or dropped it.
    bool ended = false;
};

/// The engine's event stream about one project's containers, open from Engine::watch until
/// destroyed. It carries the events the engine logs when something outside the containers
/// stops them: `kill` (logged before the signal is sent) and `stop`.
class EngineWatch {
public:
    virtual ~EngineWatch() = default;
    /// The events that arrived since the last call; when none has, waits up to `wait` for one
    /// (or for the end of the stream).
    virtual EngineEvents read(sys::Duration wait) = 0;
};

class Engine {
public:
    virtual ~Engine() = default;
    /// Pulls `reference` (name@sha256:...). Errors reported inside the stream are errors.
    /// `progress` (may be empty) is told of each change of the pull's progress and, when it
    /// ends well, of the final figure (`done`).
    virtual sys::Result<void> pull(const std::string& reference,
                                   const std::optional<RegistryCredentials>& credentials,
                                   const PullObserver& progress) = 0;
    /// Whether the image is present locally.
    virtual sys::Result<bool> has_image(const std::string& reference) = 0;
    /// All containers (running or not) labelled com.docker.compose.project=project, inspected.
    virtual sys::Result<std::vector<ContainerState>> project_containers(
        const std::string& project) = 0;
    /// The containers labelled com.docker.compose.project=project, from one listing (no
    /// inspect), sorted by service and name.
    virtual sys::Result<std::vector<ContainerSummary>> list_containers(
        const std::string& project) = 0;
    /// Removes the image reference `reference` ("name@sha256:..."), never forcing: an image a
    /// container (running or not) was created from is kept (InUse); one that another tag or
    /// digest names stays under that name.
    virtual sys::Result<ImageRemoval> remove_image(const std::string& reference) = 0;
    /// Removes container `id` (a full id), stopping it first if it runs; one already gone is
    /// no error. For a hook's one-off container left behind by a `compose run` that was killed.
    virtual sys::Result<void> remove_container(const std::string& id) = 0;
    /// Stops container `id` (SIGTERM, then SIGKILL after `grace`); one stopped or gone is no
    /// error. For the slot a blue-green switch left.
    virtual sys::Result<void> stop_container(const std::string& id, sys::Duration grace) = 0;
    /// Runs `argv` (no shell) in the running container `id` (a full id) as the container's
    /// user, and waits up to `timeout` for it to end. The exit code is the command's own, or
    /// 126/127 when the engine could not start it (the output says why). NotFound for a
    /// container that is gone; Failed when it does not run, and for a command that outlives
    /// `timeout` (the engine cannot stop it: it runs on). For nginx -t in an nginx container.
    virtual sys::Result<ExecResult> exec(const std::string& id,
                                         const std::vector<std::string>& argv,
                                         sys::Duration timeout) = 0;
    /// Sends `signal` ("HUP", "SIGHUP" or a number) to the main process of the running
    /// container `id`. NotFound for a container that is gone; Failed when it does not run.
    virtual sys::Result<void> signal(const std::string& id, const std::string& signal) = 0;
    /// The host pid of the main process (PID 1 inside) of the running container `id`.
    /// NotFound for a container that is gone; Failed when it does not run.
    virtual sys::Result<int> main_pid(const std::string& id) = 0;
    /// Creates the bridge network `name` (labelled as agentd's) unless it exists: the network
    /// a blue-green stack's projects share.
    virtual sys::Result<void> ensure_network(const std::string& name) = 0;
    /// Opens the event stream of `project`'s containers. Returns once the engine has accepted
    /// it, so that every event after the return is seen; an error when the engine does not
    /// answer (or does not accept new connections: it is shutting down).
    virtual sys::Result<std::unique_ptr<EngineWatch>> watch(const std::string& project) = 0;
};

}  // namespace agentd::runtime
