#pragma once
// Small text pieces the webhook parsers share: ASCII lower-casing (forges' hosts, owners and
// repositories compare without case; only ASCII letters change, anything else is kept) and the
// two ref namespaces a push names.

#include <string>
#include <string_view>

namespace agentd::webhook {

inline constexpr std::string_view k_heads = "refs/heads/";
inline constexpr std::string_view k_tags = "refs/tags/";

inline std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace agentd::webhook
