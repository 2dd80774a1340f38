#pragma once
// Compose's verdict on a revision (its services, or why it refused the files) and the
// repository paths the revision reads, kept on disk so that a poll finding nothing new starts
// no compose process, even after a restart.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/deploy/inputs.h"
#include "agent/runtime/compose.h"
#include "agent/sys/result.h"

namespace agentd::deploy {

class ServicesCache {
public:
    explicit ServicesCache(std::filesystem::path file) : m_file(std::move(file)) {}

    /// The remembered verdict for `key`: the services, or an InvalidInput error with compose's
    /// message. nullopt when not cached.
    std::optional<sys::Result<std::vector<runtime::ComposeService>>> find(
        const std::string& key) const;
    /// Remembers a verdict (services, or an InvalidInput error); other errors are not kept.
    void remember(const std::string& key,
                  const sys::Result<std::vector<runtime::ComposeService>>& verdict);
    /// The inputs remembered with the services of `key`; nullopt when there are none.
    std::optional<StackInputs> inputs(const std::string& key) const;
    /// Adds `inputs` to the entry of `key` (remembered first); no-op when it has none.
    void remember_inputs(const std::string& key, const StackInputs& inputs);

    static constexpr std::size_t k_entries = 8;
    /// Written into the file; a file of another format (older agentd) is ignored as a whole,
    /// since its services lack the fields newer code reads.
    static constexpr int k_format =
        4;  // 3: services' profiles; 4: container_name, ports, network_mode

private:
    std::filesystem::path m_file;
};

}  // namespace agentd::deploy
