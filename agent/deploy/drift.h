#pragma once
// Drift: how the containers of a stack differ from its current release (SPEC section 2,
// `drift:`), from one container listing per poll. find_drift() is pure; ConfigHashes keeps what
// compose's configuration hash of each service was when the release passed the gate, the only
// part of "what should run" that agentd cannot compute itself.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/runtime/engine.h"

namespace agentd::deploy {

/// A service of the current release that `compose up` starts, as its containers should be.
struct ExpectedService {
    std::string name;
    /// What its containers are created from, "name@sha256:..." (runnable()); "" when the
    /// release pins no image for it (built from source): not compared.
    std::string image;
    /// compose's com.docker.compose.config-hash when the release passed the gate; "" unknown.
    std::string config_hash;
    /// restart "no" (or none): a container that exited with status 0 has done its work.
    bool may_exit = false;
};

/// Pure: every way `containers` (one listing of the project) differ from `expected`, one
/// line each, in service order: a service without a container ("web: no container"), a
/// container that stopped ("web: container shop-web-1 is exited (137)"), one created from
/// another image or with another compose configuration, one of a service the release does not
/// have. Containers of `compose run` (hooks) are not compared. Empty when they match.
std::vector<std::string> find_drift(const std::vector<ExpectedService>& expected,
                                    const std::vector<runtime::ContainerSummary>& containers);

/// The config hashes of the stack's services as recorded for one deployment, in a small JSON
/// file of agentd's own (meta/STACK/containers.json).
class ConfigHashes {
public:
    explicit ConfigHashes(std::filesystem::path file) : m_file(std::move(file)) {}

    /// The hashes recorded for `deployment`; nullopt when the file is for another one (or
    /// missing, or unreadable).
    std::optional<std::map<std::string, std::string>> find(std::int64_t deployment) const;
    /// Records the hashes of `containers` (services' containers, not one-off ones) as those of
    /// `deployment`, replacing what the file had.
    void remember(std::int64_t deployment,
                  const std::vector<runtime::ContainerSummary>& containers);

private:
    std::filesystem::path m_file;
};

}  // namespace agentd::deploy
