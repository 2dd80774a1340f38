#pragma once
// A directory only agentd can enter (mode 0700, created by mkdtemp under $TMPDIR or /tmp),
// removed with everything in it when the object goes: where a signature is written for
// ssh-keygen, and the GNUPGHOME holding only the configured keyring.

#include <filesystem>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::trust {

class PrivateTempDir {
public:
    /// Failed when the directory cannot be created. `prefix` names it ("agentd-ssh").
    static sys::Result<PrivateTempDir> create(std::string_view prefix);

    PrivateTempDir(PrivateTempDir&& other) noexcept;
    PrivateTempDir& operator=(PrivateTempDir&&) = delete;
    PrivateTempDir(const PrivateTempDir&) = delete;
    PrivateTempDir& operator=(const PrivateTempDir&) = delete;
    ~PrivateTempDir();

    const std::filesystem::path& path() const { return m_path; }

private:
    explicit PrivateTempDir(std::filesystem::path path) : m_path(std::move(path)) {}
    std::filesystem::path m_path;
};

}  // namespace agentd::trust
