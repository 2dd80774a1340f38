#include "agent/webhook/headers.h"

#include <algorithm>

namespace agentd::webhook {

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool Headers::CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](char x, char y) { return lower(x) < lower(y); });
}

Headers::Headers(std::initializer_list<std::pair<const std::string, std::string>> headers) {
    for (const auto& [name, value] : headers) {
        set(name, value);
    }
}

void Headers::set(std::string_view name, std::string value) {
    if (const auto it = m_values.find(name); it != m_values.end()) {
        it->second = std::move(value);
        return;
    }
    m_values.emplace(std::string(name), std::move(value));
}

const std::string* Headers::find(std::string_view name) const {
    const auto it = m_values.find(name);
    return it == m_values.end() ? nullptr : &it->second;
}

std::pair<std::string_view, const std::string*> Headers::first_of(
    const std::vector<std::string_view>& names) const {
    for (const std::string_view name : names) {
        if (const std::string* value = find(name)) {
            return {name, value};
        }
    }
    return {"", nullptr};
}

}  // namespace agentd::webhook
