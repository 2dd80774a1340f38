#pragma once
// A notification rendered for its receiver: the body and headers of the POST, per format.
//
// - generic: a JSON object (docs/configuration.md documents it; `version` says its shape):
//     {"version":1,"event":"rolled_back","stack":"shop","deployment":12,
//      "release":{"revision":"3f2a...","tag":"v1.4.0","images":{"web":"..."}},
//      "reason":"...","at":"2026-12-04T10:00:00Z","since":"...","resolves":"failed",
//      "repeats":3,"summary":"shop: v1.4.0 (3f2a9c1) rolled back ..."}
//   `deployment`, `since`, `resolves` and `repeats` only when they apply.
// - slack: an incoming webhook's {"text": ...} (mrkdwn: &, <, > escaped as Slack asks).
// - discord: an execute-webhook {"content": ...}, at most 2000 characters, mentions off.
// - ntfy: the summary as a plain-text body (at most 4096 bytes: ntfy makes a longer one an
//   attachment), Title, Priority and Tags headers.
// Invalid UTF-8 from outside (a reason quoting a program's output) is replaced, never sent.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/notify/notification.h"

namespace agentd::notify {

enum class Format { Generic, Slack, Discord, Ntfy };

/// "generic", "slack", "discord", "ntfy".
std::string to_string(Format format);
std::optional<Format> parse_format(const std::string& text);

struct Message {
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type
    std::string body;
};

Message render(Format format, const Notification& n);

// Limits of the receivers, exposed for the tests.
inline constexpr std::size_t k_discord_max_characters = 2000;
inline constexpr std::size_t k_ntfy_max_bytes = 4096;
inline constexpr std::size_t k_slack_max_characters = 3000;

/// `text` cut to at most `max_code_points` Unicode code points (ending in "…" when cut), never
/// inside a UTF-8 sequence. Invalid bytes count as one each.
std::string truncate_code_points(const std::string& text, std::size_t max_code_points);
/// `text` cut to at most `max_bytes` bytes (ending in "…" when cut), never inside a UTF-8
/// sequence.
std::string truncate_bytes(const std::string& text, std::size_t max_bytes);

}  // namespace agentd::notify
