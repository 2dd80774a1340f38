#pragma once
// File helpers used by several layers.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/sys/result.h"

namespace agentd::sys {

/// Whole file as a string; NotFound when absent.
Result<std::string> read_file(const std::filesystem::path& path);
/// Writes via a new temporary file with a random name (O_EXCL|O_NOFOLLOW: never a planted file
/// or symlink), fsync and rename(2), then fsyncs the directory: readers see the old or the new
/// content, also after a crash. A symlink at `path` is replaced, not followed. The file gets
/// exactly `mode`.
Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& content,
                               std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                             std::filesystem::perms::owner_write);
/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
/// Parses KEY=VALUE lines (comments, blank lines, optional quotes, "export ") as compose does.
Result<std::vector<std::pair<std::string, std::string>>> parse_env_file(std::string_view text);

}  // namespace agentd::sys
