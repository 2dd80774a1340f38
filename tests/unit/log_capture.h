#pragma once
// Captures what spdlog's default logger writes while a test runs: as text ("LEVEL MESSAGE"
// lines), and as records with the log context (sys/log_context.h) each was logged in, i.e.
// what the journal sends as AGENTD_STACK= and AGENTD_DEPLOYMENT=.

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "agent/sys/log_context.h"

namespace agentd::testing {

struct LoggedRecord {
    spdlog::level::level_enum level;
    std::string message;
    sys::LogContext context;
};

/// Installs a default logger at debug level that keeps every record; the previous default
/// logger is restored when it ends.
class LogCapture {
public:
    LogCapture()
        : m_saved(spdlog::default_logger()),
          m_text_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(m_text)),
          m_sink(std::make_shared<Sink>()) {
        m_text_sink->set_pattern("%l %v");
        auto logger = std::make_shared<spdlog::logger>(
            "capture", spdlog::sinks_init_list{m_text_sink, m_sink});
        logger->set_level(spdlog::level::debug);
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(m_saved); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    /// Everything logged, one "LEVEL MESSAGE" line per record.
    std::string text() const { return m_text.str(); }

    /// The records whose message contains `text`, in order.
    std::vector<LoggedRecord> containing(const std::string& text) const {
        std::lock_guard lock(m_sink->records_mutex);
        std::vector<LoggedRecord> out;
        for (const auto& r : m_sink->records) {
            if (r.message.find(text) != std::string::npos) {
                out.push_back(r);
            }
        }
        return out;
    }

private:
    struct Sink final : spdlog::sinks::base_sink<std::mutex> {
        mutable std::mutex records_mutex;
        std::vector<LoggedRecord> records;

    protected:
        void sink_it_(const spdlog::details::log_msg& msg) override {
            std::lock_guard lock(records_mutex);
            records.push_back({msg.level, std::string(msg.payload.data(), msg.payload.size()),
                               sys::current_log_context()});
        }
        void flush_() override {}
    };

    std::shared_ptr<spdlog::logger> m_saved;
    std::ostringstream m_text;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> m_text_sink;
    std::shared_ptr<Sink> m_sink;
};

}  // namespace agentd::testing
