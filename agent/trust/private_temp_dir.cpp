#include "agent/trust/private_temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace agentd::trust {

sys::Result<PrivateTempDir> PrivateTempDir::create(std::string_view prefix) {
    std::error_code ec;
    const auto base = std::filesystem::temp_directory_path(ec);
    if (ec) {
        return sys::Error::failed(fmt::format("temporary directory: {}", ec.message()));
    }
    std::string pattern = (base / fmt::format("{}-XXXXXX", prefix)).string();
    // mkdtemp creates the directory with mode 0700 whatever the umask allows.
    if (::mkdtemp(pattern.data()) == nullptr) {
        return sys::Error::failed(fmt::format("create {}: {}", pattern, std::strerror(errno)));
    }
    return PrivateTempDir(std::filesystem::path(pattern));
}

PrivateTempDir::PrivateTempDir(PrivateTempDir&& other) noexcept : m_path(std::move(other.m_path)) {
    other.m_path.clear();
}

PrivateTempDir::~PrivateTempDir() {
    if (!m_path.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
}

}  // namespace agentd::trust
