#include "agent/sys/quote.h"

#include <fmt/format.h>

namespace agentd::sys {

std::string quoted(std::string_view text, std::size_t max_bytes) {
    constexpr char k_hex[] = "0123456789abcdef";
    const auto shown = text.substr(0, max_bytes);
    std::string out = "\"";
    for (const char c : shown) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte >= 0x7f) {
            out += "\\x";
            out += k_hex[byte >> 4];
            out += k_hex[byte & 0x0f];
        } else {
            out += c;
        }
    }
    out += '"';
    if (shown.size() < text.size()) {
        out += fmt::format("... ({} bytes)", text.size());
    }
    return out;
}

}  // namespace agentd::sys
