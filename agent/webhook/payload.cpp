#include "agent/webhook/payload.h"

#include <fmt/format.h>

namespace agentd::webhook {

namespace {

struct TooDeep {};

}  // namespace

sys::Result<nlohmann::json> parse_payload(std::string_view body) {
    if (body.size() > k_max_body) {
        return sys::Error::invalid("body is larger than 1 MiB");
    }
    // The callback sees each value's depth as it is read and stops the parse at the first one
    // too deep, before the document is built any further.
    const nlohmann::json::parser_callback_t bounded = [](int depth, nlohmann::json::parse_event_t,
                                                         nlohmann::json&) {
        if (depth > k_max_depth) {
            throw TooDeep{};
        }
        return true;
    };
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(body.begin(), body.end(), bounded);
    } catch (const TooDeep&) {
        return sys::Error::invalid(fmt::format("body nests deeper than {} levels", k_max_depth));
    } catch (const nlohmann::json::parse_error& e) {
        return sys::Error::invalid(fmt::format("body is not valid JSON (at byte {})", e.byte));
    } catch (const nlohmann::json::exception&) {
        return sys::Error::invalid("body is not valid JSON");
    }
    if (!document.is_object()) {
        return sys::Error::invalid("body is not a JSON object");
    }
    return document;
}

sys::Result<const nlohmann::json*> member(const nlohmann::json& root, std::string_view path) {
    const nlohmann::json* at = &root;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        const std::string_view key = path.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!at->is_object()) {
            return sys::Error::invalid(
                fmt::format("{} is not an object", path.substr(0, start == 0 ? 0 : start - 1)));
        }
        const auto it = at->find(key);
        if (it == at->end() || it->is_null()) {
            return static_cast<const nlohmann::json*>(nullptr);
        }
        at = &*it;
        if (dot == std::string_view::npos) {
            return at;
        }
        start = dot + 1;
    }
}

sys::Result<std::optional<std::string>> optional_string(const nlohmann::json& root,
                                                        std::string_view path,
                                                        std::size_t max_size) {
    auto value = member(root, path);
    if (!value) {
        return value.error();
    }
    if (*value == nullptr) {
        return std::optional<std::string>();
    }
    if (!(*value)->is_string()) {
        return sys::Error::invalid(fmt::format("{} is not a string", path));
    }
    const auto& text = (*value)->get_ref<const std::string&>();
    if (text.size() > max_size) {
        return sys::Error::invalid(fmt::format("{} is longer than {} bytes", path, max_size));
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return sys::Error::invalid(fmt::format("{} contains control characters", path));
        }
    }
    return std::optional<std::string>(text);
}

sys::Result<bool> optional_bool(const nlohmann::json& root, std::string_view path) {
    auto value = member(root, path);
    if (!value) {
        return value.error();
    }
    if (*value == nullptr) {
        return false;
    }
    if (!(*value)->is_boolean()) {
        return sys::Error::invalid(fmt::format("{} is not a boolean", path));
    }
    return (*value)->get<bool>();
}

}  // namespace agentd::webhook
