#include "agent/config/notifications.h"

#include <string_view>

#include <fmt/format.h>

namespace agentd::config {
namespace {

constexpr std::string_view k_notification_keys[] = {
    "url",           "url_file",          "format", "events", "repeat_interval",
    "waiting_after", "poll_failing_after"};

std::string kind_names() {
    std::string out;
    for (notify::Kind k : notify::all_kinds()) {
        out += (out.empty() ? "" : ", ") + notify::to_string(k);
    }
    return out;
}

// An http(s) URL; the message never quotes it (it carries a token).
bool is_http_url(const std::string& url) {
    for (std::string_view scheme : {"https://", "http://"}) {
        if (url.size() > scheme.size() && url.compare(0, scheme.size(), scheme) == 0) {
            return url.find_first_of(" \t\r\n") == std::string::npos;
        }
    }
    return false;
}

Notification read_notification(Reader& reader, const Entry& entry, std::size_t index) {
    const MapReader map(reader, entry, k_notification_keys);
    Notification n;
    if (!map.is_map()) {
        return n;
    }
    if (const auto e = map.get("url")) {
        if (const auto url = reader.non_empty(*e, "a URL")) {
            if (is_http_url(*url)) {
                n.url = *url;
            } else {
                // Not quoted: a URL with a token in it must not reach a log or a terminal.
                reader.report(*e,
                              "expected an http:// or https:// URL (not shown: it may "
                              "carry a token)");
            }
        }
    }
    if (const auto e = map.get("url_file")) {
        // A relative name resolves in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
        n.url_file = reader.non_empty(*e, "a path").value_or("");
    }
    if (map.has("url") == map.has("url_file")) {
        reader.report(entry, map.has("url") ? "url and url_file exclude each other"
                                            : "missing required key \"url\" (or \"url_file\")");
    }
    if (const auto e = map.get("format")) {
        if (const auto text = reader.string(*e)) {
            if (const auto format = notify::parse_format(*text)) {
                n.format = *format;
            } else {
                reader.report(
                    *e, fmt::format("expected generic, slack, discord or ntfy, got \"{}\"", *text));
            }
        }
    }
    if (const auto e = map.get("events")) {
        std::set<notify::Kind> kinds;
        for (const Entry& item : reader.list(*e)) {
            if (const auto text = reader.string(item)) {
                if (const auto kind = notify::parse_kind(*text)) {
                    kinds.insert(*kind);
                } else {
                    reader.report(
                        item, fmt::format("expected one of {}, got \"{}\"", kind_names(), *text));
                }
            }
        }
        n.events = std::move(kinds);
    }
    if (const auto e = map.get("repeat_interval")) {
        n.repeat_interval = reader.duration(*e).value_or(n.repeat_interval);
    }
    if (const auto e = map.get("waiting_after")) {
        n.waiting_after = reader.duration(*e, true).value_or(n.waiting_after);
    }
    if (const auto e = map.get("poll_failing_after")) {
        n.poll_failing_after = reader.duration(*e, true).value_or(n.poll_failing_after);
    }
    n.label = fmt::format("{} #{}", notify::to_string(n.format), index + 1);
    return n;
}

}  // namespace

std::vector<Notification> read_notifications(Reader& reader, const Entry& entry) {
    std::vector<Notification> out;
    for (const Entry& item : reader.list(entry)) {
        out.push_back(read_notification(reader, item, out.size()));
    }
    return out;
}

}  // namespace agentd::config
