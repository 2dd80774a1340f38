#pragma once
// Captures what spdlog's default logger writes while a test runs.

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace agentd::testing {

class LogCapture {
public:
    LogCapture()
        : m_saved(spdlog::default_logger()),
          m_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(m_text)) {
        auto logger = std::make_shared<spdlog::logger>("capture", m_sink);
        logger->set_level(spdlog::level::debug);
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(m_saved); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return m_text.str(); }

private:
    std::shared_ptr<spdlog::logger> m_saved;
    std::ostringstream m_text;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> m_sink;
};

}  // namespace agentd::testing
