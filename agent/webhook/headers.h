#pragma once
// The request headers a webhook is judged by, looked up case-insensitively as HTTP names are
// (GitHub sends "X-GitHub-Event", proxies may pass "x-github-event").

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::webhook {

class Headers {
public:
    Headers() = default;
    Headers(std::initializer_list<std::pair<const std::string, std::string>> headers);

    /// Sets `name` to `value`, replacing a value set before under any spelling of the name.
    void set(std::string_view name, std::string value);
    /// The value of `name`, nullptr when the request has none.
    const std::string* find(std::string_view name) const;
    /// The first of `names` the request has, with its value; {"", nullptr} when it has none.
    std::pair<std::string_view, const std::string*> first_of(
        const std::vector<std::string_view>& names) const;

private:
    struct CaseInsensitiveLess {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const;
    };
    std::map<std::string, std::string, CaseInsensitiveLess> m_values;
};

}  // namespace agentd::webhook
