#pragma once
// Compose's verdict on a revision (its services, or why it refused the files), kept on disk so
// that a poll finding nothing new starts no compose process, even after a restart.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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

    static constexpr std::size_t k_entries = 8;

private:
    std::filesystem::path m_file;
};

}  // namespace agentd::deploy
