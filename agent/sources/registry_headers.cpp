#include "agent/sources/registry_headers.h"

#include "agent/sys/base64.h"

namespace agentd::sources {

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string basic_authorization(std::string_view username, std::string_view password) {
    std::string joined;
    joined.reserve(username.size() + 1 + password.size());
    joined.append(username).append(":").append(password);
    return "Basic " + sys::base64_encode(joined);
}

std::vector<AuthChallenge> parse_www_authenticate(std::string_view value) {
    std::vector<AuthChallenge> out;
    std::size_t i = 0;
    const auto skip = [&](std::string_view chars) {
        while (i < value.size() && chars.find(value[i]) != std::string_view::npos) {
            ++i;
        }
    };
    const auto token = [&] {
        const std::size_t start = i;
        while (i < value.size() && value[i] != ' ' && value[i] != '\t' && value[i] != ',' &&
               value[i] != '=') {
            ++i;
        }
        return value.substr(start, i - start);
    };
    while (i < value.size()) {
        skip(" \t,");
        const std::string_view word = token();
        if (word.empty()) {
            break;
        }
        skip(" \t");
        if (i < value.size() && value[i] == '=' && !out.empty()) {
            // A parameter of the current challenge.
            ++i;
            skip(" \t");
            std::string param;
            if (i < value.size() && value[i] == '"') {
                ++i;
                while (i < value.size() && value[i] != '"') {
                    if (value[i] == '\\' && i + 1 < value.size()) {
                        ++i;
                    }
                    param += value[i++];
                }
                if (i >= value.size()) {
                    break;  // unterminated quote: drop the parameter
                }
                ++i;
            } else {
                param = std::string(token());
            }
            out.back().params[ascii_lower(word)] = std::move(param);
        } else if (i < value.size() && value[i] == '=') {
            break;  // a parameter before any scheme: not a challenge
        } else {
            out.push_back({ascii_lower(word), {}});
        }
    }
    return out;
}

std::optional<std::string> parse_next_link(std::string_view value) {
    std::size_t i = 0;
    while (i < value.size()) {
        const auto open = value.find('<', i);
        const auto close = value.find('>', open == std::string_view::npos ? i : open);
        if (open == std::string_view::npos || close == std::string_view::npos) {
            return std::nullopt;
        }
        const std::string_view url = value.substr(open + 1, close - open - 1);
        // Parameters run to the next '<' (commas between links are plain separators).
        const auto next = value.find('<', close);
        const std::string params(value.substr(
            close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1));
        // rel may be quoted and may list several relations: rel="next last".
        const std::string lowered = ascii_lower(params);
        const auto rel = lowered.find("rel=");
        if (rel != std::string::npos) {
            std::string rels = lowered.substr(rel + 4);
            rels = rels.substr(0, rels.find_first_of(";,"));
            std::erase(rels, '"');
            std::size_t pos = 0;
            while (pos < rels.size()) {
                const auto end = rels.find(' ', pos);
                if (rels.substr(pos, end == std::string::npos ? end : end - pos) == "next") {
                    return std::string(url);
                }
                if (end == std::string::npos) {
                    break;
                }
                pos = end + 1;
            }
        }
        if (next == std::string_view::npos) {
            break;
        }
        i = next;
    }
    return std::nullopt;
}

}  // namespace agentd::sources
