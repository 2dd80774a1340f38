#pragma once
// docker compose (v2) or docker-compose (v1), run as programs with an argument vector.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/result.h"

namespace agentd::runtime {

struct ComposeProject {
    std::string name;                        ///< project name (= stack name)
    std::filesystem::path dir;               ///< project directory
    std::vector<std::string> files;          ///< relative to dir; empty: compose's default
    std::map<std::string, std::string> env;  ///< env_file values + AGENTD_* variables
    std::filesystem::path override_file;     ///< where the digest pins are written
};

/// A service as compose's own normalised `config` output describes it. Paths are as compose
/// printed them: absolute (compose resolves them against the project directory).
struct ComposeService {
    std::string name;
    std::string image;    ///< after interpolation; empty when only `build:` is given
    bool build = false;   ///< has a build section
    std::string restart;  ///< restart policy, "" when unset ("no")

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
    /// Runs a one-off service: `run --rm SERVICE` with the same pins.
    virtual sys::Result<void> run_once(const ComposeProject& project,
                                       const std::map<std::string, std::string>& pins,
                                       const std::string& service) = 0;
};

}  // namespace agentd::runtime
