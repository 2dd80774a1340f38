#include "agent/policy/tag_pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace agentd::policy {

namespace {

std::string error_message(int code) {
    PCRE2_UCHAR buffer[256];
    if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) {
        return "PCRE2 error " + std::to_string(code);
    }
    return reinterpret_cast<const char*>(buffer);
}

}  // namespace

sys::Result<TagPattern> TagPattern::compile(std::string_view pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     0, &error, &offset, nullptr);
    if (code == nullptr) {
        return sys::Error::invalid("regex \"" + std::string(pattern) + "\": " +
                                   error_message(error) + " at offset " + std::to_string(offset));
    }
    TagPattern result;
    result.m_pattern = std::string(pattern);
    result.m_code.reset(code, pcre2_code_free);

    std::uint32_t name_count = 0;
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &name_count);
    if (name_count == 1) {
        // A name table entry: the group number in two bytes (most significant first), then the
        // NUL-terminated name.
        PCRE2_SPTR table = nullptr;
        pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
        result.m_group_number = (table[0] << 8) | table[1];
        result.m_group_name = reinterpret_cast<const char*>(table + 2);
    }
    return result;
}

std::optional<std::string> TagPattern::key(std::string_view tag) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_code.get(), nullptr), pcre2_match_data_free);
    if (!data) {
        return std::nullopt;
    }
    const int rc = pcre2_match(m_code.get(), reinterpret_cast<PCRE2_SPTR>(tag.data()), tag.size(),
                               0, 0, data.get(), nullptr);
    // No match, or a match error such as the backtracking limit: either way not a candidate.
    if (rc < 0) {
        return std::nullopt;
    }
    if (m_group_number == 0) {
        return std::string(tag);
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const auto n = static_cast<std::size_t>(m_group_number);
    if (n >= pcre2_get_ovector_count(data.get()) || ovector[2 * n] == PCRE2_UNSET) {
        return std::nullopt;
    }
    return std::string(tag.substr(ovector[2 * n], ovector[2 * n + 1] - ovector[2 * n]));
}

}  // namespace agentd::policy
