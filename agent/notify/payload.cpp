#include "agent/notify/payload.h"

#include <nlohmann/json.hpp>

namespace agentd::notify {

namespace {

using nlohmann::json;

const std::string k_ellipsis = "\xE2\x80\xA6";  // U+2026, 3 bytes, 1 code point

std::string dump(const json& j) {
    // Values from outside may hold invalid UTF-8: replaced by U+FFFD rather than throwing.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string with invalid UTF-8 replaced (through the JSON encoder, which knows how).
std::string valid_utf8(const std::string& text) {
    return json::parse(dump(json(text))).get<std::string>();
}

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

// Byte offsets where each code point starts, and the end.
std::vector<std::size_t> code_point_starts(const std::string& text) {
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < text.size();) {
        starts.push_back(i);
        std::size_t j = i + 1;
        while (j < text.size() && j - i < 4 &&
               is_continuation(static_cast<unsigned char>(text[j]))) {
            ++j;
        }
        i = j;
    }
    return starts;
}

std::string slack_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

json generic(const Notification& n) {
    json j = {
        {"version", 1},
        {"event", to_string(n.kind)},
        {"stack", n.stack},
        {"release", {{"revision", n.revision}, {"tag", n.tag}, {"images", n.images}}},
        {"reason", n.reason},
        {"at", sys::format_rfc3339(n.at)},
        {"summary", summary(n)},
    };
    if (n.deployment) {
        j["deployment"] = *n.deployment;
    }
    if (n.since) {
        j["since"] = sys::format_rfc3339(*n.since);
    }
    if (n.resolves) {
        j["resolves"] = to_string(*n.resolves);
    }
    if (n.repeats > 1) {
        j["repeats"] = n.repeats;
    }
    return j;
}

// ntfy's priority: 1 (min) to 5 (max), 3 the default.
int ntfy_priority(Kind kind) {
    switch (kind) {
        case Kind::RolledBack:
        case Kind::Rejected:
        case Kind::Failed:
        case Kind::PollFailing:
        case Kind::Drifted:
            return 4;
        case Kind::Started:
            return 2;
        default:
            return 3;
    }
}

// ntfy's tags: emoji short codes shown before the title.
std::string ntfy_tags(Kind kind) {
    switch (kind) {
        case Kind::Succeeded:
            return "white_check_mark";
        case Kind::RolledBack:
            return "rewind,warning";
        case Kind::Rejected:
            return "no_entry";
        case Kind::Failed:
            return "rotating_light";
        case Kind::Waiting:
            return "hourglass";
        case Kind::Approval:
            return "raised_hand";
        case Kind::PollFailing:
        case Kind::Drifted:
            return "warning";
        case Kind::Started:
            return "rocket";
        case Kind::Resolved:
            return "heavy_check_mark";
    }
    return "";
}

}  // namespace

std::string to_string(Format format) {
    switch (format) {
        case Format::Generic:
            return "generic";
        case Format::Slack:
            return "slack";
        case Format::Discord:
            return "discord";
        case Format::Ntfy:
            return "ntfy";
    }
    return "?";
}

std::optional<Format> parse_format(const std::string& text) {
    for (Format f : {Format::Generic, Format::Slack, Format::Discord, Format::Ntfy}) {
        if (to_string(f) == text) {
            return f;
        }
    }
    return std::nullopt;
}

std::string truncate_code_points(const std::string& text, std::size_t max_code_points) {
    std::vector<std::size_t> starts = code_point_starts(text);
    if (starts.size() <= max_code_points) {
        return text;
    }
    if (max_code_points == 0) {
        return "";
    }
    return text.substr(0, starts[max_code_points - 1]) + k_ellipsis;
}

std::string truncate_bytes(const std::string& text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    if (max_bytes < k_ellipsis.size()) {
        return "";
    }
    std::size_t cut = max_bytes - k_ellipsis.size();
    while (cut > 0 && is_continuation(static_cast<unsigned char>(text[cut]))) {
        --cut;
    }
    return text.substr(0, cut) + k_ellipsis;
}

Message render(Format format, const Notification& n) {
    Message m;
    switch (format) {
        case Format::Generic:
            m.content_type = "application/json";
            m.body = dump(generic(n));
            break;
        case Format::Slack:
            m.content_type = "application/json";
            m.body = dump(json{{"text", slack_escape(truncate_code_points(
                                            valid_utf8(summary(n)), k_slack_max_characters))}});
            break;
        case Format::Discord:
            m.content_type = "application/json";
            // allowed_mentions: a reason quoting "@everyone" pings no one.
            m.body = dump(json{
                {"content", truncate_code_points(valid_utf8(summary(n)), k_discord_max_characters)},
                {"allowed_mentions", {{"parse", json::array()}}}});
            break;
        case Format::Ntfy:
            m.content_type = "text/plain; charset=utf-8";
            m.headers = {{"Title", title(n)},
                         {"Priority", std::to_string(ntfy_priority(n.kind))},
                         {"Tags", ntfy_tags(n.kind)}};
            m.body = truncate_bytes(valid_utf8(summary(n)), k_ntfy_max_bytes);
            break;
    }
    return m;
}

}  // namespace agentd::notify
