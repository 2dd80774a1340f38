#pragma once
// The one logging entry point (spdlog). Every line about a stack names it; secrets never appear.

#include <optional>
#include <string>

#include <spdlog/spdlog.h>

namespace agentd::sys {

enum class LogTarget { Stderr, Journal };

/// "debug", "info", "warn" (or "warning") and "error" as spdlog levels; nullopt otherwise.
std::optional<spdlog::level::level_enum> parse_log_level(const std::string& level);

/// Sets up the default logger; `level` is "debug", "info", "warn" or "error" (anything else
/// logs at info, with a warning saying so). Stderr: timestamped lines, coloured only on a tty.
/// Journal (stderr is the journal's stream, $JOURNAL_STREAM): each line prefixed with its
/// syslog priority ("<4>..."), which journald records; time and identifier are journald's.
void init_logging(LogTarget target, const std::string& level);

}  // namespace agentd::sys

// Use spdlog::info("stack {}: ...", name) etc. directly.
