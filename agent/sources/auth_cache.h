#pragma once
// What registry clients learned about authentication: Bearer tokens by (registry, scope) and the
// registries that want Basic credentials. One cache is shared by the clients of all worker
// threads, so a poll reuses the token an earlier poll fetched, whichever thread runs it.

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "agent/sys/clock.h"

namespace agentd::sources {

class AuthCache {
public:
    struct Token {
        std::string value;
        sys::TimePoint expires;
    };

    /// The token for `scope` ("repository:acme/web:pull") at `registry` while it is valid at
    /// `now`; nullopt when there is none or it expired (an expired one is dropped).
    std::optional<std::string> token(const std::string& registry, const std::string& scope,
                                     sys::TimePoint now);
    void store_token(const std::string& registry, const std::string& scope, Token token);
    /// Drops a token the registry refused before its expiry.
    void drop_token(const std::string& registry, const std::string& scope);

    /// True once `registry` answered with a Basic challenge: credentials are sent up front.
    bool wants_basic(const std::string& registry) const;
    void set_wants_basic(const std::string& registry);

private:
    mutable std::mutex m_mutex;
    std::map<std::pair<std::string, std::string>, Token> m_tokens;
    std::set<std::string> m_basic_registries;
};

}  // namespace agentd::sources
