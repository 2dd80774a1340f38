#include "agent/sys/log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "agent/sys/log_context.h"

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

/// `text` with every line prefixed by "<N>", its syslog priority, which journald strips and
/// records from its stream (SyslogLevelPrefix=, on by default). A message of several lines
/// becomes several entries, each with the message's priority.
std::string with_priority_prefixes(std::string_view text, int priority) {
    const std::string prefix = "<" + std::to_string(priority) + ">";
    std::string out;
    for (;;) {
        const auto newline = text.find('\n');
        out += prefix;
        out += text.substr(0, newline);
        out += '\n';
        if (newline == std::string_view::npos) {
            return out;
        }
        text.remove_prefix(newline + 1);
    }
}

/// Each record as one journal entry, sent with sd_journal_sendv(3) to journald's socket:
/// MESSAGE= (all its lines in one entry), PRIORITY= (syslog's), SYSLOG_IDENTIFIER=agentd, and
/// AGENTD_STACK= and AGENTD_DEPLOYMENT= from the thread's log context when it has them.
/// journald adds the time, the unit and the process. When the socket refuses the entry
/// (journald stopped, or the entry is too large even for the memfd libsystemd falls back to),
/// the record goes to stderr, journald's stream, with the priority prefix. (libsystemd drops
/// an entry silently when the socket does not exist at all; with $JOURNAL_STREAM naming our
/// stderr, journald runs.)
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        const int priority = syslog_priority(msg.level);
        const LogContext& context = current_log_context();
        std::vector<std::string> fields;
        fields.reserve(5);
        fields.push_back("MESSAGE=" + std::string(text));
        fields.push_back("PRIORITY=" + std::to_string(priority));
        fields.emplace_back("SYSLOG_IDENTIFIER=agentd");
        if (!context.stack.empty()) {
            fields.push_back("AGENTD_STACK=" + context.stack);
        }
        if (context.deployment) {
            fields.push_back("AGENTD_DEPLOYMENT=" + std::to_string(*context.deployment));
        }
        std::vector<iovec> parts;
        parts.reserve(fields.size());
        for (auto& field : fields) {
            parts.push_back({field.data(), field.size()});
        }
        if (::sd_journal_sendv(parts.data(), static_cast<int>(parts.size())) < 0) {
            const std::string out = with_priority_prefixes(text, priority);
            std::fwrite(out.data(), 1, out.size(), stderr);
            std::fflush(stderr);
        }
    }
    void flush_() override { std::fflush(stderr); }
};

/// "DEVICE:INODE" as $JOURNAL_STREAM spells them (systemd.exec(5)); nullopt when malformed.
std::optional<std::pair<unsigned long long, unsigned long long>> parse_journal_stream(
    std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto number = [](std::string_view digits) -> std::optional<unsigned long long> {
        unsigned long long value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
            return std::nullopt;
        }
        return value;
    };
    const auto device = number(text.substr(0, colon));
    const auto inode = number(text.substr(colon + 1));
    if (!device || !inode) {
        return std::nullopt;
    }
    return std::pair{*device, *inode};
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

LogTarget detect_log_target() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) {
        return LogTarget::Stderr;
    }
    const auto named = parse_journal_stream(stream);
    struct stat st {};
    if (!named || ::fstat(STDERR_FILENO, &st) != 0) {
        return LogTarget::Stderr;
    }
    const bool same = named->first == static_cast<unsigned long long>(st.st_dev) &&
                      named->second == static_cast<unsigned long long>(st.st_ino);
    return same ? LogTarget::Journal : LogTarget::Stderr;
}

void init_logging(LogTarget target, const std::string& level) {
    spdlog::sink_ptr sink;
    if (target == LogTarget::Journal) {
        sink = std::make_shared<JournalSink>();
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
