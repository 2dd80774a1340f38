#pragma once
// The one logging entry point (spdlog). Every line about a stack names it; secrets never appear.

#include <spdlog/spdlog.h>

namespace agentd::sys {

enum class LogTarget { Stderr, Journal };
/// Sets up the default logger; `level` is "debug", "info", "warn" or "error".
void init_logging(LogTarget target, const std::string& level);

}  // namespace agentd::sys

// Use spdlog::info("stack {}: ...", name) etc. directly.
