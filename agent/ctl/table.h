#pragma once
// Human output of agentctl: aligned tables, relative times, short revisions and digests.

#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::ctl {

/// Columns left-aligned, separated by two spaces; the last column is not padded.
class Table {
public:
    explicit Table(std::vector<std::string> headers);
    /// Missing cells are empty, extra cells are dropped.
    void add_row(std::vector<std::string> cells);
    std::string render() const;

private:
    std::vector<std::vector<std::string>> m_rows;  // m_rows[0] is the header
};

/// "just now", "45s ago", "2m ago", "3h ago", "5d ago"; "in 2m" for a time after `now`.
std::string relative_time(sys::TimePoint now, sys::TimePoint t);
/// RFC 3339 text to relative_time; "-" for null or unparsable.
std::string relative_time(sys::TimePoint now, const std::string& rfc3339);
/// "1h2m", "42s", "0s": a duration between two times, for humans.
std::string human_duration(sys::Duration d);
/// The first 12 characters of a git commit id.
std::string short_revision(const std::string& revision);
/// "ghcr.io/acme/web:2.3@sha256:0123456789ab" (the digest cut to 12 hex characters).
std::string short_image(const std::string& reference);
/// `text` cut to `width` characters with "..." when longer; newlines become spaces.
std::string one_line(const std::string& text, std::size_t width);

}  // namespace agentd::ctl
