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

/// A service as compose's own normalised `config` output describes it.
struct ComposeService {
    std::string name;
    std::string image;    ///< after interpolation; empty when only `build:` is given
    bool build = false;   ///< has a build section
    std::string restart;  ///< restart policy, "" when unset ("no")
};

class Compose {
public:
    virtual ~Compose() = default;
    /// Validates the project and returns its services, from one `config` run.
    /// InvalidInput (with compose's message) when compose refused the files; Failed when it
    /// could not say (killed, timed out, not startable): only InvalidInput judges the files.
    virtual sys::Result<std::vector<ComposeService>> services(const ComposeProject& project) = 0;
    /// Writes the override pinning each service to its image (service -> ref@digest) and runs
    /// `up -d --remove-orphans` with it. InvalidInput when compose refused (its exit status and
    /// last stderr lines); Failed when it was killed or timed out.
    virtual sys::Result<void> up(const ComposeProject& project,
                                 const std::map<std::string, std::string>& pins) = 0;
    /// Runs a one-off service: `run --rm SERVICE` with the same pins.
    virtual sys::Result<void> run_once(const ComposeProject& project,
                                       const std::map<std::string, std::string>& pins,
                                       const std::string& service) = 0;
};

}  // namespace agentd::runtime
