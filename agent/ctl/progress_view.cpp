#include "agent/ctl/progress_view.h"

#include <cstdint>

#include <fmt/format.h>

namespace agentd::ctl {
namespace {

using nlohmann::json;

/// A value from the stream as text safe for a terminal: control characters (an escape
/// sequence in a commit message or a registry's error) become '?'.
std::string printable(std::string text) {
    for (auto& c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            c = '?';
        }
    }
    return text;
}

std::string field_text(const json& line, const char* name) {
    const auto it = line.find(name);
    return it != line.end() && it->is_string() ? printable(it->get<std::string>()) : "";
}

std::int64_t number(const json& line, const char* name) {
    const auto it = line.find(name);
    return it != line.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

/// "12:04:05 shop #7": the line's time of day (UTC, as "at" says) and whose it is.
std::string prefix(const json& line) {
    const std::string at = field_text(line, "at");
    std::string out = at.size() >= 19 ? at.substr(11, 8) + " " : "";
    out += field_text(line, "stack");
    if (line.contains("deployment") && line["deployment"].is_number_integer()) {
        out += fmt::format(" #{}", line["deployment"].get<std::int64_t>());
    }
    return out;
}

/// "web running healthy, db running" from a gate sample's containers.
std::string containers(const json& line) {
    std::string out;
    const auto it = line.find("containers");
    if (it == line.end() || !it->is_array()) {
        return out;
    }
    for (const auto& c : *it) {
        if (!c.is_object()) {
            continue;
        }
        out += out.empty() ? "" : ", ";
        out += field_text(c, "service") + " " + field_text(c, "state");
        const std::string health = field_text(c, "health");
        if (!health.empty()) {
            out += " " + health;
        }
    }
    return out;
}

/// "web: starting; db: no container" from a gate sample's fatal or pending problems.
std::string problems(const json& line, const char* name) {
    std::string out;
    const auto it = line.find(name);
    if (it == line.end() || !it->is_object()) {
        return out;
    }
    for (const auto& [subject, why] : it->items()) {
        out += out.empty() ? "" : "; ";
        out +=
            printable(subject) + ": " + (why.is_string() ? printable(why.get<std::string>()) : "");
    }
    return out;
}

}  // namespace

std::string format_bytes(std::int64_t bytes) {
    if (bytes >= 1000 * 1000 * 1000) {
        return fmt::format("{:.1f} GB", static_cast<double>(bytes) / 1e9);
    }
    if (bytes >= 1000 * 1000) {
        return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
    }
    if (bytes >= 1000) {
        return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
    }
    return fmt::format("{} B", bytes);
}

std::string ProgressView::line(const std::string& text) {
    std::string out = m_live ? "\n" : "";
    m_live = false;
    return out + text + "\n";
}

std::string ProgressView::finish() {
    const std::string out = m_live ? "\n" : "";
    m_live = false;
    return out;
}

std::string ProgressView::show(const json& event) {
    if (!event.is_object()) {
        return "";
    }
    const std::string type = field_text(event, "type");
    if (type == "phase") {
        return line(fmt::format("{} {}: {}", prefix(event), field_text(event, "phase"),
                                field_text(event, "message")));
    }
    if (type == "pull") {
        const auto current = number(event, "current");
        const auto total = number(event, "total");
        const bool done = event.value("done", false);
        const auto percent = total > 0 ? current * 100 / total : (done ? 100 : 0);
        const std::string shown = fmt::format(
            "{} {} {} {}% ({} of {}, {}/{} layers)", prefix(event), done ? "pulled" : "pulling",
            field_text(event, "image"), percent, format_bytes(current), format_bytes(total),
            number(event, "layers_done"), number(event, "layers"));
        if (!m_terminal) {
            return done ? line(shown) : "";
        }
        // Rewritten in place: back to the start of the line, erase it, write the new figure.
        const std::string out = (m_live ? "\r\x1b[K" : "") + shown + (done ? "\n" : "");
        m_live = !done;
        return out;
    }
    if (type == "gate") {
        std::string shown = fmt::format("{} gate: sample {}: {}", prefix(event),
                                        number(event, "sample"), containers(event));
        if (const auto fatal = problems(event, "fatal"); !fatal.empty()) {
            shown += " (failing: " + fatal + ")";
        } else if (const auto pending = problems(event, "pending"); !pending.empty()) {
            shown += " (waiting: " + pending + ")";
        } else {
            shown += fmt::format(" (good, {} in a row)", number(event, "good_in_a_row"));
        }
        return line(shown);
    }
    if (type == "end") {
        const std::string message = field_text(event, "message");
        return line(fmt::format("{} cycle ended: {}{}", prefix(event), field_text(event, "status"),
                                message.empty() ? "" : ": " + message));
    }
    if (type == "dropped") {
        return line(fmt::format("({} progress lines dropped: the display fell behind)",
                                number(event, "count")));
    }
    return "";
}

}  // namespace agentd::ctl
