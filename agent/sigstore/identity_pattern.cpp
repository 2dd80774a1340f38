#include "agent/sigstore/identity_pattern.h"

#include <fmt/format.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "agent/sys/quote.h"

namespace agentd::sigstore {

namespace {

constexpr std::string_view k_regex_prefix = "regex:";
// A SAN or issuer is at most a few hundred bytes; longer values are not matched at all, which
// bounds the work a hostile certificate can cause.
constexpr std::size_t k_max_value = 4096;

std::string pcre2_message(int code) {
    PCRE2_UCHAR buffer[256];
    if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) {
        return fmt::format("PCRE2 error {}", code);
    }
    return reinterpret_cast<const char*>(buffer);
}

}  // namespace

bool glob_matches(std::string_view glob, std::string_view value) {
    // Iterative matching with one backtrack point (the last '*'): linear in practice, never
    // exponential.
    std::size_t g = 0;
    std::size_t v = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_value = 0;
    while (v < value.size()) {
        if (g < glob.size() && glob[g] == '*') {
            star = g++;
            star_value = v;
            continue;
        }
        if (g < glob.size()) {
            if (glob[g] == '?') {
                ++g;
                ++v;
                continue;
            }
            const bool escaped = glob[g] == '\\' && g + 1 < glob.size();
            const char literal = escaped ? glob[g + 1] : glob[g];
            if (literal == value[v]) {
                g += escaped ? 2 : 1;
                ++v;
                continue;
            }
        }
        if (star == std::string_view::npos) {
            return false;
        }
        g = star + 1;
        v = ++star_value;
    }
    while (g < glob.size() && glob[g] == '*') {
        ++g;
    }
    return g == glob.size();
}

sys::Result<IdentityPattern> IdentityPattern::parse(std::string_view text) {
    IdentityPattern out;
    out.m_text = std::string(text);
    if (text.substr(0, k_regex_prefix.size()) == k_regex_prefix) {
        out.m_kind = Kind::Regex;
        out.m_body = std::string(text.substr(k_regex_prefix.size()));
        if (out.m_body.empty()) {
            return sys::Error::invalid("identity pattern \"regex:\" has no regular expression");
        }
        int error = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code* code =
            pcre2_compile(reinterpret_cast<PCRE2_SPTR>(out.m_body.data()), out.m_body.size(),
                          PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error, &offset, nullptr);
        if (code == nullptr) {
            return sys::Error::invalid(fmt::format("identity pattern {}: {} at offset {}",
                                                   sys::quoted(text), pcre2_message(error),
                                                   offset));
        }
        out.m_code.reset(code, pcre2_code_free);
        return out;
    }
    if (text.empty()) {
        return sys::Error::invalid("identity pattern is empty");
    }
    out.m_body = out.m_text;
    out.m_kind = text.find_first_of("*?") == std::string_view::npos ? Kind::Exact : Kind::Glob;
    return out;
}

bool IdentityPattern::matches(std::string_view value) const {
    if (value.size() > k_max_value) {
        return false;
    }
    switch (m_kind) {
        case Kind::Exact:
            return value == m_body;
        case Kind::Glob:
            return glob_matches(m_body, value);
        case Kind::Regex:
            break;
    }
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_code.get(), nullptr), pcre2_match_data_free);
    if (!data) {
        return false;
    }
    // A match error (the backtracking limit) is no match.
    return pcre2_match(m_code.get(), reinterpret_cast<PCRE2_SPTR>(value.data()), value.size(), 0, 0,
                       data.get(), nullptr) >= 0;
}

}  // namespace agentd::sigstore
