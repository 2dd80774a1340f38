#include "agent/sys/log.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string_view>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace agentd::sys {

namespace {

/// Times in UTC, like every time agentd records or shows.
std::unique_ptr<spdlog::formatter> utc_formatter(const std::string& pattern) {
    return std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc);
}

/// syslog(3) priorities, as journald reads them.
int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::critical:
            return 2;
        case spdlog::level::err:
            return 3;
        case spdlog::level::warn:
            return 4;
        case spdlog::level::info:
            return 6;
        default:
            return 7;
    }
}

/// Standard error connected to the journal ($JOURNAL_STREAM): every line starts with "<N>",
/// its syslog priority, which journald strips and records (SyslogLevelPrefix=, on by default).
/// journald adds the time and the identifier (the unit's, "agentd") itself. A message of
/// several lines becomes several entries, each with the message's priority.
class JournalStreamSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string prefix = "<" + std::to_string(syslog_priority(msg.level)) + ">";
        std::string out;
        std::string_view text(msg.payload.data(), msg.payload.size());
        for (;;) {
            const auto newline = text.find('\n');
            out += prefix;
            out += text.substr(0, newline);
            out += '\n';
            if (newline == std::string_view::npos) {
                break;
            }
            text.remove_prefix(newline + 1);
        }
        std::fwrite(out.data(), 1, out.size(), stderr);
        std::fflush(stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

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
        sink = std::make_shared<JournalStreamSink>();
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
