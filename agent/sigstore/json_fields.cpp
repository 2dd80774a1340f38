#include "agent/sigstore/json_fields.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "agent/sys/base64.h"
#include "agent/sys/quote.h"

namespace agentd::sigstore::json_fields {

namespace {

// Deeper nesting than any Sigstore document: refused before nlohmann recurses into it.
constexpr int k_max_depth = 32;

bool too_deep(std::string_view text) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > k_max_depth) {
                return true;
            }
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return false;
}

sys::Error missing(std::string_view path) {
    return sys::Error::invalid(fmt::format("{} is missing", path));
}

}  // namespace

sys::Result<nlohmann::json> parse_object(std::string_view text, std::string_view what,
                                         std::size_t max_size) {
    if (text.size() > max_size) {
        return sys::Error::invalid(
            fmt::format("{} has {} bytes; at most {} are read", what, text.size(), max_size));
    }
    if (too_deep(text)) {
        return sys::Error::invalid(
            fmt::format("{} nests deeper than {} levels", what, k_max_depth));
    }
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        return sys::Error::invalid(
            fmt::format("{} is not JSON (syntax error at byte {})", what, e.byte));
    } catch (const nlohmann::json::exception&) {
        return sys::Error::invalid(fmt::format("{} is not JSON agentd can read", what));
    }
    if (!json.is_object()) {
        return sys::Error::invalid(fmt::format("{} is not a JSON object", what));
    }
    return json;
}

std::string path_of(std::string_view parent, std::string_view key) {
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

const nlohmann::json* find(const nlohmann::json& object, std::string_view key) {
    if (!object.is_object()) {
        return nullptr;
    }
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

sys::Result<const nlohmann::json*> object(const nlohmann::json& parent, std::string_view path,
                                          std::string_view key) {
    const auto where = path_of(path, key);
    const auto* value = find(parent, key);
    if (value == nullptr) {
        return missing(where);
    }
    if (!value->is_object()) {
        return sys::Error::invalid(fmt::format("{} is not an object", where));
    }
    return value;
}

sys::Result<const nlohmann::json*> array(const nlohmann::json& parent, std::string_view path,
                                         std::string_view key, std::size_t max_items,
                                         bool optional) {
    static const nlohmann::json k_empty = nlohmann::json::array();
    const auto where = path_of(path, key);
    const auto* value = find(parent, key);
    if (value == nullptr) {
        if (optional) {
            return &k_empty;
        }
        return missing(where);
    }
    if (!value->is_array()) {
        return sys::Error::invalid(fmt::format("{} is not an array", where));
    }
    if (value->size() > max_items) {
        return sys::Error::invalid(
            fmt::format("{} has {} entries; at most {} are read", where, value->size(), max_items));
    }
    return value;
}

sys::Result<std::string> string(const nlohmann::json& parent, std::string_view path,
                                std::string_view key) {
    const auto where = path_of(path, key);
    const auto* value = find(parent, key);
    if (value == nullptr) {
        return missing(where);
    }
    if (!value->is_string()) {
        return sys::Error::invalid(fmt::format("{} is not a string", where));
    }
    auto text = value->get<std::string>();
    if (text.empty()) {
        return sys::Error::invalid(fmt::format("{} is empty", where));
    }
    return text;
}

sys::Result<std::string> optional_string(const nlohmann::json& parent, std::string_view path,
                                         std::string_view key) {
    const auto* value = find(parent, key);
    if (value == nullptr) {
        return std::string();
    }
    if (!value->is_string()) {
        return sys::Error::invalid(fmt::format("{} is not a string", path_of(path, key)));
    }
    return value->get<std::string>();
}

std::optional<std::string> decode_base64(std::string_view text) {
    std::string standard(text);
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    if (standard.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
        std::string::npos) {
        return std::nullopt;  // EVP_DecodeBlock would skip blanks; protobuf does not
    }
    if (standard.find('=') == std::string::npos) {
        standard.append((4 - standard.size() % 4) % 4, '=');
    }
    return sys::base64_decode(standard);
}

sys::Result<std::string> base64(const nlohmann::json& parent, std::string_view path,
                                std::string_view key) {
    auto text = string(parent, path, key);
    if (!text) {
        return text.error();
    }
    auto bytes = decode_base64(*text);
    if (!bytes || bytes->empty()) {
        return sys::Error::invalid(fmt::format("{} is not base64", path_of(path, key)));
    }
    return std::move(*bytes);
}

sys::Result<std::int64_t> integer(const nlohmann::json& parent, std::string_view path,
                                  std::string_view key) {
    const auto where = path_of(path, key);
    const auto* value = find(parent, key);
    if (value == nullptr) {
        return missing(where);
    }
    if (value->is_number_unsigned()) {
        const auto n = value->get<std::uint64_t>();
        if (n <= static_cast<std::uint64_t>(INT64_MAX)) {
            return static_cast<std::int64_t>(n);
        }
    } else if (value->is_number_integer()) {
        const auto n = value->get<std::int64_t>();
        if (n >= 0) {
            return n;
        }
    } else if (value->is_string()) {
        const auto& text = value->get_ref<const std::string&>();
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && n >= 0) {
            return n;
        }
    }
    return sys::Error::invalid(fmt::format("{} is not a non-negative integer", where));
}

sys::Result<std::int64_t> integer_or_zero(const nlohmann::json& parent, std::string_view path,
                                          std::string_view key) {
    if (find(parent, key) == nullptr) {
        return std::int64_t{0};
    }
    return integer(parent, path, key);
}

sys::Result<sys::TimePoint> time(const nlohmann::json& parent, std::string_view path,
                                 std::string_view key) {
    auto text = string(parent, path, key);
    if (!text) {
        return text.error();
    }
    sys::TimePoint out;
    if (!sys::parse_rfc3339(*text, out)) {
        return sys::Error::invalid(fmt::format("{} is not an RFC 3339 UTC time: {}",
                                               path_of(path, key), sys::quoted(*text, 40)));
    }
    return out;
}

}  // namespace agentd::sigstore::json_fields
