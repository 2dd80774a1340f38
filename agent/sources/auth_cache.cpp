#include "agent/sources/auth_cache.h"

namespace agentd::sources {

std::optional<std::string> AuthCache::token(const std::string& registry, const std::string& scope,
                                            sys::TimePoint now) {
    std::lock_guard lock(m_mutex);
    const auto it = m_tokens.find({registry, scope});
    if (it == m_tokens.end()) {
        return std::nullopt;
    }
    if (now >= it->second.expires) {
        m_tokens.erase(it);
        return std::nullopt;
    }
    return it->second.value;
}

void AuthCache::store_token(const std::string& registry, const std::string& scope, Token token) {
    std::lock_guard lock(m_mutex);
    m_tokens[{registry, scope}] = std::move(token);
}

void AuthCache::drop_token(const std::string& registry, const std::string& scope) {
    std::lock_guard lock(m_mutex);
    m_tokens.erase({registry, scope});
}

bool AuthCache::wants_basic(const std::string& registry) const {
    std::lock_guard lock(m_mutex);
    return m_basic_registries.count(registry) != 0;
}

void AuthCache::set_wants_basic(const std::string& registry) {
    std::lock_guard lock(m_mutex);
    m_basic_registries.insert(registry);
}

}  // namespace agentd::sources
