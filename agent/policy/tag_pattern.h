#pragma once
// TagPattern: the regular expression of a `regex:` tag policy (PCRE2, 8-bit), and the ordering
// key it extracts from a tag. PCRE2 rather than std::regex because users copy Flux/Go patterns
// with named groups, `(?P<name>...)`, which std::regex lacks.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/sys/result.h"

// pcre2.h needs PCRE2_CODE_UNIT_WIDTH before it is included; only tag_pattern.cpp includes it.
struct pcre2_real_code_8;

namespace agentd::policy {

class TagPattern {
public:
    /// Compiles `pattern`. InvalidInput error with PCRE2's message and the offset of the
    /// problem, e.g. `regex "^v(\d+": missing closing parenthesis at offset 6`.
    static sys::Result<TagPattern> compile(std::string_view pattern);

    /// The ordering key of `tag`, or nullopt when the pattern does not match it. Like Go's
    /// MatchString the pattern may match anywhere (anchor it with ^...$ to match whole tags).
    /// With exactly one named group the key is that group's text (nullopt if the group took no
    /// part in the match); otherwise it is the whole tag.
    std::optional<std::string> key(std::string_view tag) const;

    const std::string& pattern() const { return m_pattern; }
    /// The named group that gives the key; empty when the key is the whole tag.
    const std::string& key_group() const { return m_group_name; }

private:
    std::string m_pattern;
    // Compiled code is immutable and PCRE2 allows sharing it between threads; each match uses
    // its own match data.
    std::shared_ptr<pcre2_real_code_8> m_code;
    std::string m_group_name;
    int m_group_number = 0;  ///< 0: the whole match is not the key, the whole tag is
};

}  // namespace agentd::policy
