#pragma once
// Bearer tokens from registry token services, shared by every RegistryClient of the daemon.
//
// Each worker thread has its own RegistryClient, and any worker may run a stack's next cycle.
// With a cache per client, a poll on another worker would ask the token service again although
// a valid token exists; token services (ghcr.io, Docker Hub) count and rate-limit those
// requests. One cache for all workers means one token per registry and scope while it is valid.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "agent/sys/clock.h"

namespace agentd::sources {

class TokenCache {
public:
    struct Token {
        std::string value;  ///< a secret
        sys::TimePoint expires;
    };

    /// The token for `registry` and `scope` ("repository:NAME:pull") when it is still valid
    /// at `now`; nullopt otherwise (an expired one is forgotten). Thread-safe.
    std::optional<std::string> find(const std::string& registry, const std::string& scope,
                                    sys::TimePoint now);
    /// Keeps `token` for `registry` and `scope`, replacing any older one. Thread-safe.
    void store(const std::string& registry, const std::string& scope, Token token);
    /// Forgets the token `value` the registry refused (revoked, or expired early), unless
    /// another client has replaced it already. Thread-safe.
    void drop(const std::string& registry, const std::string& scope, const std::string& value);

private:
    std::mutex m_mutex;
    std::map<std::pair<std::string, std::string>, Token> m_tokens;
};

}  // namespace agentd::sources
