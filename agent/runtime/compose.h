#pragma once
// docker compose (v2) or docker-compose (v1), run as programs with an argument vector.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::runtime {

struct ComposeProject {
    std::string name;                        ///< project name (config::Stack::project())
    std::filesystem::path dir;               ///< project directory
    std::vector<std::string> files;          ///< relative to dir; empty: compose's default
    std::map<std::string, std::string> env;  ///< env_file values + AGENTD_* variables
    std::filesystem::path override_file;     ///< where the digest pins are written
    /// Blue-green: the project runs only these services (`up --no-deps`); empty: all of them.
    std::vector<std::string> only;
    /// Blue-green: the external network that is every service's default network, shared by
    /// the stack's projects (written to the override file); empty: compose's own.
    std::string network;
    /// Blue-green: service -> its alias on `network` (`web-blue`).
    std::map<std::string, std::string> aliases;
};

/// A service as compose's own normalised `config` output describes it. Paths are as compose
/// printed them: absolute (compose resolves them against the project directory).
struct ComposeService {
    std::string name;
    std::string image;    ///< after interpolation; empty when only `build:` is given
    bool build = false;   ///< has a build section
    std::string restart;  ///< restart policy, "" when unset ("no")
    /// `profiles:`: a service with any is not started by `up` (unless COMPOSE_PROFILES names
    /// one), only by `run`; the idiom for hook services. Compose v1's `config` lists such
    /// services with their profiles; v2's leaves out those of profiles not enabled.
    std::vector<std::string> profiles;
    // What two copies of the service (blue-green slots) could not both have.
    std::string container_name;    ///< `container_name:`, "" when unset
    bool publishes_ports = false;  ///< `ports:` publishes a host port
    std::string network_mode;      ///< `network_mode:` ("host", "service:db", ...), "" when unset

    // What the service reads from files, for deciding what a new revision changes.
    std::string build_context;     ///< build.context when it is a path ("" for URLs or no build)
    std::string build_dockerfile;  ///< build.dockerfile: relative to the context, or absolute
    std::vector<std::string> build_contexts;  ///< build.additional_contexts that are paths
    std::vector<std::string> bind_sources;    ///< host paths of bind mounts (volumes)
    std::vector<std::string> env_files;       ///< env_file paths, when compose prints them (v2)
    std::vector<std::string> files;  ///< `file:` of the configs and secrets the service uses

    bool operator==(const ComposeService&) const = default;
};

/// How `up` treats services whose inputs changed in ways compose itself does not notice.
struct UpOptions {
    /// Built first (`build SERVICE...`): their build context or Dockerfile changed. compose
    /// recreates a service whose image a build changed.
    std::vector<std::string> rebuild;
    /// Recreated after the `up` (`up -d --no-deps --force-recreate SERVICE...`): a repository
    /// file or directory they bind-mount changed, which compose's configuration hash misses.
    std::vector<std::string> recreate;
};

class Compose {
public:
    virtual ~Compose() = default;
    /// Validates the project and returns its services, from one `config` run.
    /// InvalidInput (with compose's message) when compose refused the files; Failed when it
    /// could not say (killed, timed out, not startable): only InvalidInput judges the files.
    virtual sys::Result<std::vector<ComposeService>> services(const ComposeProject& project) = 0;
    /// Writes the override pinning each service to its image (service -> ref@digest) and runs
    /// `up -d --remove-orphans` with it, building and recreating the services `options` names.
    /// InvalidInput when compose refused (its exit status and last stderr lines); Failed when
    /// it was killed or timed out.
    virtual sys::Result<void> up(const ComposeProject& project,
                                 const std::map<std::string, std::string>& pins,
                                 const UpOptions& options = {}) = 0;
    /// Runs a one-off service (a hook): `run --rm -T SERVICE` with the same pins, killed after
    /// `timeout`. Returns its output (stdout then stderr, the last lines, at most a few KiB).
    /// Failed when it exited non-zero, timed out or could not start, the message ending with
    /// that output's last lines.
    virtual sys::Result<std::string> run_once(const ComposeProject& project,
                                              const std::map<std::string, std::string>& pins,
                                              const std::string& service,
                                              sys::Duration timeout) = 0;
};

}  // namespace agentd::runtime
