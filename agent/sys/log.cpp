#include "agent/sys/log.h"

#include <unistd.h>

#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>

namespace agentd::sys {

namespace {

/// Times in UTC, like every time agentd records or shows.
std::unique_ptr<spdlog::formatter> utc_formatter(const std::string& pattern) {
    return std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc);
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(const std::string& level) {
    if (level == "debug") {
        return spdlog::level::debug;
    }
    if (level == "info") {
        return spdlog::level::info;
    }
    if (level == "warn" || level == "warning") {
        return spdlog::level::warn;
    }
    if (level == "error") {
        return spdlog::level::err;
    }
    return std::nullopt;
}

void init_logging(LogTarget target, const std::string& level) {
    spdlog::sink_ptr sink;
    if (target == LogTarget::Journal) {
        // journald records time, priority and identifier itself: the message alone suffices.
        sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("agentd");
        sink->set_pattern("%v");
    } else if (::isatty(STDERR_FILENO) != 0) {
        sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
        sink->set_formatter(utc_formatter("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v"));
    } else {
        // A pipe or file (systemd without the journal target, CI logs): no colour escapes.
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        sink->set_formatter(utc_formatter("%Y-%m-%dT%H:%M:%S.%eZ %l %v"));
    }
    auto logger = std::make_shared<spdlog::logger>("agentd", sink);
    const auto parsed = parse_log_level(level);
    logger->set_level(parsed.value_or(spdlog::level::info));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    if (!parsed) {
        spdlog::warn("log level \"{}\" is not one of debug, info, warn, error: using info", level);
    }
}

}  // namespace agentd::sys
