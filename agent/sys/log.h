#pragma once
// The one logging entry point (spdlog). Every line about a stack names it; secrets never appear.

#include <optional>
#include <string>

#include <spdlog/spdlog.h>

namespace agentd::sys {

enum class LogTarget { Stderr, Journal };

/// "debug", "info", "warn" (or "warning") and "error" as spdlog levels; nullopt otherwise.
std::optional<spdlog::level::level_enum> parse_log_level(const std::string& level);

/// Journal when $JOURNAL_STREAM names standard error's device and inode ("DEV:INO",
/// systemd.exec(5)): systemd connected stderr to journald and nothing redirected it since.
/// Stderr otherwise, including when agentd's stderr was redirected by a child of the unit.
LogTarget detect_log_target();

/// Sets up the default logger; `level` is "debug", "info", "warn" or "error" (anything else
/// logs at info, with a warning saying so). Stderr: timestamped lines, coloured only on a tty.
/// Journal: each record is one journal entry (sd_journal_sendv) with MESSAGE=, PRIORITY=,
/// SYSLOG_IDENTIFIER=agentd and, from the thread's LogScope (sys/log_context.h),
/// AGENTD_STACK= and AGENTD_DEPLOYMENT=; time, unit and process are journald's. When journald's
/// socket refuses an entry, its lines go to stderr prefixed with their priority ("<4>...").
void init_logging(LogTarget target, const std::string& level);

}  // namespace agentd::sys

// Use spdlog::info("stack {}: ...", name) etc. directly; a worker's job or a deployment sets a
// sys::LogScope so that the journal knows which stack and deployment its records are about.
