#include "agent/sources/token_cache.h"

namespace agentd::sources {

std::optional<std::string> TokenCache::find(const std::string& registry, const std::string& scope,
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

void TokenCache::store(const std::string& registry, const std::string& scope, Token token) {
    std::lock_guard lock(m_mutex);
    m_tokens[{registry, scope}] = std::move(token);
}

void TokenCache::drop(const std::string& registry, const std::string& scope,
                      const std::string& value) {
    std::lock_guard lock(m_mutex);
    const auto it = m_tokens.find({registry, scope});
    if (it != m_tokens.end() && it->second.value == value) {
        m_tokens.erase(it);
    }
}

}  // namespace agentd::sources
