#pragma once
// The human display of live progress (`agentctl watch`, `agentctl sync STACK --wait` on a
// terminal): one line per phase and gate sample, and a pull line per image that, on a
// terminal, is rewritten in place as the bytes come (percentage, bytes, layers) and stays once
// the image is pulled. Pure: it turns each JSON line of GET /v1/events into the text to write.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace agentd::ctl {

class ProgressView {
public:
    /// `terminal`: the output is a terminal, so a pull line is rewritten in place ("\r" and
    /// erase to the end of the line); otherwise only a pull's end is written, once.
    explicit ProgressView(bool terminal) : m_terminal(terminal) {}

    /// The text to write for one line of the stream ("" for lines shown as nothing:
    /// "subscribed", "heartbeat", unknown types).
    std::string show(const nlohmann::json& line);
    /// What ends the display: the newline a pull line still being rewritten needs.
    std::string finish();

private:
    /// `text` as a line of its own, after ending a pull line being rewritten.
    std::string line(const std::string& text);

    bool m_terminal;
    bool m_live = false;  // the last text written is a pull line without its newline
};

/// "1.2 MB", "300.3 kB", "12 B": bytes as the Engine's own progress shows them (SI units).
std::string format_bytes(std::int64_t bytes);

}  // namespace agentd::ctl
