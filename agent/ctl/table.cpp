#include "agent/ctl/table.h"

#include <algorithm>

#include <fmt/format.h>

namespace agentd::ctl {
namespace {

constexpr std::size_t k_revision_chars = 12;
constexpr std::size_t k_digest_chars = 12;

/// Display width of UTF-8 text: code points, not bytes (good enough for names and messages).
std::size_t width_of(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> headers) {
    m_rows.push_back(std::move(headers));
}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(m_rows.front().size());
    m_rows.push_back(std::move(cells));
}

std::string Table::render() const {
    const std::size_t columns = m_rows.front().size();
    std::vector<std::size_t> widths(columns, 0);
    for (const auto& row : m_rows) {
        for (std::size_t i = 0; i < columns; ++i) {
            widths[i] = std::max(widths[i], width_of(row[i]));
        }
    }
    std::string out;
    for (const auto& row : m_rows) {
        std::string line;
        for (std::size_t i = 0; i < columns; ++i) {
            line += row[i];
            if (i + 1 < columns) {
                line.append(widths[i] - width_of(row[i]) + 2, ' ');
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out += line + "\n";
    }
    return out;
}

std::string human_duration(sys::Duration d) {
    using namespace std::chrono;
    const auto secs = duration_cast<seconds>(d).count();
    if (secs < 60) {
        return fmt::format("{}s", std::max<long long>(secs, 0));
    }
    if (secs < 3600) {
        return secs % 60 == 0 || secs >= 600 ? fmt::format("{}m", secs / 60)
                                             : fmt::format("{}m{}s", secs / 60, secs % 60);
    }
    if (secs < 86400) {
        const auto minutes = (secs % 3600) / 60;
        return minutes == 0 ? fmt::format("{}h", secs / 3600)
                            : fmt::format("{}h{}m", secs / 3600, minutes);
    }
    return fmt::format("{}d", secs / 86400);
}

std::string relative_time(sys::TimePoint now, sys::TimePoint t) {
    using namespace std::chrono;
    const auto diff = duration_cast<seconds>(now - t);
    if (diff.count() < 0) {
        return "in " + human_duration(-diff);
    }
    if (diff.count() < 5) {
        return "just now";
    }
    // One unit is enough for "when": 2m ago, 3h ago.
    const auto secs = diff.count();
    if (secs < 60) {
        return fmt::format("{}s ago", secs);
    }
    if (secs < 3600) {
        return fmt::format("{}m ago", secs / 60);
    }
    if (secs < 86400) {
        return fmt::format("{}h ago", secs / 3600);
    }
    return fmt::format("{}d ago", secs / 86400);
}

std::string relative_time(sys::TimePoint now, const std::string& rfc3339) {
    sys::TimePoint t;
    if (rfc3339.empty() || !sys::parse_rfc3339(rfc3339, t)) {
        return "-";
    }
    return relative_time(now, t);
}

std::string short_revision(const std::string& revision) {
    return revision.substr(0, std::min(revision.size(), k_revision_chars));
}

std::string short_image(const std::string& reference) {
    const auto at = reference.find("@sha256:");
    if (at == std::string::npos) {
        return reference;
    }
    const auto hex = at + 8;
    return reference.substr(0, std::min(reference.size(), hex + k_digest_chars));
}

std::string one_line(const std::string& text, std::size_t width) {
    std::string out = text;
    std::replace(out.begin(), out.end(), '\n', ' ');
    if (width_of(out) <= width || width < 4) {
        return out;
    }
    // Cut on a code point boundary.
    std::size_t bytes = 0;
    std::size_t chars = 0;
    while (bytes < out.size() && chars < width - 3) {
        ++bytes;
        while (bytes < out.size() && (out[bytes] & 0xC0) == 0x80) {
            ++bytes;
        }
        ++chars;
    }
    return out.substr(0, bytes) + "...";
}

}  // namespace agentd::ctl
