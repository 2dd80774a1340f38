#include "agent/state/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

namespace agentd::state {

sys::Result<void> create_private_dirs(const std::filesystem::path& dir) {
    if (dir.empty()) {
        return {};
    }
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
        return {};
    }
    // Parents first, each with mkdir(2) so that every directory we create is 0700 (the
    // std::filesystem functions create with 0777 & ~umask).
    if (dir.has_parent_path() && dir.parent_path() != dir) {
        if (auto parent = create_private_dirs(dir.parent_path()); !parent) {
            return parent;
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return sys::Error::failed(
            fmt::format("cannot create directory {}: {}", dir.string(), std::strerror(errno)));
    }
    if (!std::filesystem::is_directory(dir, ec)) {
        return sys::Error::failed(fmt::format("{} exists and is not a directory", dir.string()));
    }
    return {};
}

}  // namespace agentd::state
