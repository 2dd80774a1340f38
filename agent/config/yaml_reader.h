#pragma once
// Walking a YAML document with every problem collected as an Issue (with its line, column and
// key path) instead of thrown, so that one run of `config check` shows all of them.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "agent/config/config.h"

namespace agentd::config {

/// One value in the document: its key path ("stacks[0].health.timeout"), the node holding the
/// value and the node naming it (the mapping key, or the list item itself).
struct Entry {
    std::string path;
    YAML::Node key;
    YAML::Node value;
};

/// A key refused with its own message instead of "unknown key" (SPEC keys not supported yet,
/// stack keys that cannot be defaults).
struct RefusedKey {
    std::string_view key;
    std::string_view message;
};

/// The message for keys SPEC.md describes that this version does not implement yet.
inline constexpr std::string_view k_not_supported_yet = "not supported by this version of agentd";

/// Collects issues and reads typed scalars. Every read returns nullopt after reporting why.
class Reader {
public:
    explicit Reader(std::string file) : m_file(std::move(file)) {}

    void report(const YAML::Mark& at, std::string path, std::string message);
    /// At the value, or at its key when the value is empty (an empty value has no place).
    void report(const Entry& entry, std::string message);
    std::vector<Issue> take_issues();

    /// A scalar; `expected` names the type in the error ("a path").
    std::optional<std::string> string(const Entry& entry, std::string_view expected = "a string");
    /// A non-empty string.
    std::optional<std::string> non_empty(const Entry& entry,
                                         std::string_view expected = "a string");
    /// An absolute path.
    std::optional<std::string> absolute_path(const Entry& entry);
    /// A duration ("30s"); zero is refused unless `allow_zero`.
    std::optional<sys::Duration> duration(const Entry& entry, bool allow_zero = false);
    /// true or false (also yes/no/on/off as YAML 1.1 has them).
    std::optional<bool> boolean(const Entry& entry);
    /// A decimal integer in [min, max].
    std::optional<int> integer(const Entry& entry, int min, int max, std::string_view expected);
    /// The items of a list; an empty value is an empty list; anything else is reported.
    std::vector<Entry> list(const Entry& entry);

private:
    std::string m_file;
    std::vector<Issue> m_issues;
};

/// A YAML mapping whose keys are checked against the keys valid at its place: unknown keys
/// (with a "did you mean"), refused keys and duplicates are reported on construction.
/// An empty value reads as an empty mapping; any other non-mapping is reported.
class MapReader {
public:
    MapReader(Reader& reader, const Entry& entry, std::span<const std::string_view> keys,
              std::span<const RefusedKey> refused = {});

    /// The entry for `key`, or nullopt when the mapping does not set it.
    std::optional<Entry> get(std::string_view key) const;
    bool has(std::string_view key) const { return get(key).has_value(); }
    /// False when the value was neither a mapping nor empty (already reported).
    bool is_map() const { return m_is_map; }
    const Entry& entry() const { return m_entry; }

private:
    Entry m_entry;
    bool m_is_map = false;
    std::vector<Entry> m_entries;
};

/// Where an issue about `entry` points: its value, or its key when the value is empty.
YAML::Mark mark_of(const Entry& entry);
/// "a map", "a list", "nothing" or the quoted scalar, for "expected X, got Y".
std::string describe(const YAML::Node& node);

}  // namespace agentd::config
