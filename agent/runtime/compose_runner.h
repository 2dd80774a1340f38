#pragma once
// runtime::Compose by running `docker compose` (v2) or `docker-compose` (v1).

#include <optional>
#include <string>
#include <vector>

#include "agent/runtime/compose.h"
#include "agent/sys/process.h"

namespace agentd::runtime {

/// Runs compose through `runner`, always with `-p NAME --project-directory DIR -f FILE...`,
/// cwd = DIR and project.env as environment (not --env-file: the project's .env is still
/// read by compose, and these values override it). Which compose is used is detected on first
/// use: `docker compose version` succeeding means v2, else `docker-compose` (v1).
/// Not thread-safe (detection is cached); one runner per worker.
class ComposeRunner final : public Compose {
public:
    explicit ComposeRunner(sys::ProcessRunner& runner);

    sys::Result<std::vector<ComposeService>> services(const ComposeProject& project) override;
    /// Pins must name services of the project: compose would create a service for any other
    /// name. With no pins, the override file is neither written nor used. Runs, in order:
    /// `build SERVICE...` (options.rebuild, if any), `up -d --remove-orphans`, then
    /// `up -d --no-deps --force-recreate SERVICE...` (options.recreate, if any): the whole
    /// project converges first, in dependency order, and only the named services are
    /// recreated again (compose v1 and v2 alike; checked with docker-compose 1.29).
    sys::Result<void> up(const ComposeProject& project,
                         const std::map<std::string, std::string>& pins,
                         const UpOptions& options = {}) override;
    sys::Result<std::string> run_once(const ComposeProject& project,
                                      const std::map<std::string, std::string>& pins,
                                      const std::string& service, sys::Duration timeout) override;

    /// The argv prefix in use: {"docker", "compose"} or {"docker-compose"}; NotFound when
    /// neither works.
    sys::Result<std::vector<std::string>> command();

private:
    /// `compose -p ... -f ... ARGS` in the project directory, with pins written to the
    /// override file first when given.
    sys::Result<sys::ProcessResult> compose(const ComposeProject& project,
                                            const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>* pins,
                                            sys::Duration timeout);

    sys::ProcessRunner& m_runner;
    std::optional<std::vector<std::string>> m_command;
};

/// The compose files of `project` as absolute paths: project.files under project.dir, or when
/// empty the first existing of compose.yaml, compose.yml, docker-compose.yml,
/// docker-compose.yaml plus its override file (compose.override.yaml, ...) if present, as
/// compose picks them. InvalidInput when a file is missing.
sys::Result<std::vector<std::filesystem::path>> compose_files(const ComposeProject& project);

/// The override document: `services: {SERVICE: {image: REF}}` for each pin; with
/// project.network, that external network as `default` and each of project.aliases on it.
std::string override_yaml(const std::map<std::string, std::string>& pins,
                          const ComposeProject& project = {});

/// Services of compose's normalised `config` output; InvalidInput when it is not such YAML.
sys::Result<std::vector<ComposeService>> parse_compose_config(const std::string& yaml);

}  // namespace agentd::runtime
