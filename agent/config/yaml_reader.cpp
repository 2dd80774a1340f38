#include "agent/config/yaml_reader.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/config/suggest.h"

namespace agentd::config {

namespace {

// A YAML key path: "stacks" + "[0]" or "stacks[0]" + ".name" (no dot at the top level).
std::string join(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

bool has_mark(const YAML::Node& node) {
    return node.IsDefined() && node.Mark().line >= 0;
}

}  // namespace

YAML::Mark mark_of(const Entry& entry) {
    if ((!entry.value.IsDefined() || entry.value.IsNull()) && has_mark(entry.key)) {
        return entry.key.Mark();
    }
    if (has_mark(entry.value)) {
        return entry.value.Mark();
    }
    return has_mark(entry.key) ? entry.key.Mark() : YAML::Mark::null_mark();
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return fmt::format("\"{}\"", node.Scalar());
        default:
            return "nothing";
    }
}

void Reader::report(const YAML::Mark& at, std::string path, std::string message) {
    const bool known = at.line >= 0;
    m_issues.push_back(Issue{m_file, known ? at.line + 1 : 0, known ? at.column + 1 : 0,
                             std::move(path), std::move(message)});
}

void Reader::report(const Entry& entry, std::string message) {
    report(mark_of(entry), entry.path, std::move(message));
}

std::vector<Issue> Reader::take_issues() {
    return std::exchange(m_issues, {});
}

std::optional<std::string> Reader::string(const Entry& entry, std::string_view expected) {
    if (!entry.value.IsScalar()) {
        report(entry, fmt::format("expected {}, got {}", expected, describe(entry.value)));
        return std::nullopt;
    }
    return entry.value.Scalar();
}

std::optional<std::string> Reader::non_empty(const Entry& entry, std::string_view expected) {
    auto text = string(entry, expected);
    if (text && text->empty()) {
        report(entry, "must not be empty");
        return std::nullopt;
    }
    return text;
}

std::optional<std::string> Reader::absolute_path(const Entry& entry) {
    auto text = string(entry, "an absolute path");
    if (text && !text->starts_with('/')) {
        report(entry, fmt::format("expected an absolute path, got \"{}\"", *text));
        return std::nullopt;
    }
    return text;
}

std::optional<sys::Duration> Reader::duration(const Entry& entry, bool allow_zero) {
    if (!entry.value.IsScalar()) {
        report(entry,
               fmt::format("expected a duration like \"30s\", got {}", describe(entry.value)));
        return std::nullopt;
    }
    const auto parsed = parse_duration(entry.value.Scalar());
    if (!parsed) {
        report(entry,
               fmt::format("expected a duration like \"30s\", got \"{}\"", entry.value.Scalar()));
        return std::nullopt;
    }
    if (!allow_zero && parsed->count() == 0) {
        report(entry, fmt::format("must be longer than zero, got \"{}\"", entry.value.Scalar()));
        return std::nullopt;
    }
    return parsed;
}

std::optional<bool> Reader::boolean(const Entry& entry) {
    bool value = false;
    if (!entry.value.IsScalar() || !YAML::convert<bool>::decode(entry.value, value)) {
        report(entry, fmt::format("expected true or false, got {}", describe(entry.value)));
        return std::nullopt;
    }
    return value;
}

std::optional<int> Reader::integer(const Entry& entry, int min, int max,
                                   std::string_view expected) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size() && value >= min && value <= max) {
            return value;
        }
    }
    report(entry, fmt::format("expected {}, got {}", expected, describe(entry.value)));
    return std::nullopt;
}

std::vector<Entry> Reader::list(const Entry& entry) {
    std::vector<Entry> items;
    if (entry.value.IsNull() || !entry.value.IsDefined()) {
        return items;
    }
    if (!entry.value.IsSequence()) {
        report(entry, fmt::format("expected a list, got {}", describe(entry.value)));
        return items;
    }
    for (std::size_t i = 0; i < entry.value.size(); ++i) {
        const YAML::Node item = entry.value[i];
        // An empty item ("-" alone) is marked at the next token; its own key is itself.
        items.push_back(Entry{fmt::format("{}[{}]", entry.path, i), item, item});
    }
    return items;
}

MapReader::MapReader(Reader& reader, const Entry& entry, std::span<const std::string_view> keys,
                     std::span<const RefusedKey> refused)
    : m_entry(entry) {
    if (entry.value.IsNull() || !entry.value.IsDefined()) {
        m_is_map = true;
        return;
    }
    if (!entry.value.IsMap()) {
        reader.report(entry, fmt::format("expected a map, got {}", describe(entry.value)));
        return;
    }
    m_is_map = true;
    for (auto it = entry.value.begin(); it != entry.value.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) {
            reader.report(key.Mark(), entry.path,
                          fmt::format("expected a key name, got {}", describe(key)));
            continue;
        }
        const std::string& name = key.Scalar();
        Entry child{join(entry.path, name), key, it->second};
        if (const auto first = get(name)) {
            reader.report(
                key.Mark(), child.path,
                fmt::format("duplicate key (first set at line {})", first->key.Mark().line + 1));
            continue;
        }
        if (std::find(keys.begin(), keys.end(), name) != keys.end()) {
            m_entries.push_back(std::move(child));
            continue;
        }
        const auto refusal = std::find_if(refused.begin(), refused.end(),
                                          [&](const RefusedKey& r) { return r.key == name; });
        if (refusal != refused.end()) {
            reader.report(key.Mark(), child.path, std::string(refusal->message));
        } else if (const auto meant = suggest(name, keys)) {
            reader.report(key.Mark(), child.path,
                          fmt::format("unknown key, did you mean \"{}\"?", *meant));
        } else {
            reader.report(key.Mark(), child.path,
                          fmt::format("unknown key (valid here: {})", fmt::join(keys, ", ")));
        }
    }
}

std::optional<Entry> MapReader::get(std::string_view key) const {
    for (const Entry& e : m_entries) {
        if (e.key.Scalar() == key) {
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace agentd::config
