#pragma once
// The webhook routes of the TCP listener (SPEC section 7): POST /webhooks/github,
// /webhooks/gitea, /webhooks/gitlab. A request is judged in this order, and none of the
// answers changes recorded state:
// - over the rate limit of its peer address: 429 (before anything else is read);
// - the signature or token (webhook/signature.h) missing or wrong: 401;
// - the body not a JSON object, or a field of the wrong type: 400;
// - ping: 200;
// - an event naming no configured stack: 202 {"status":"ignored"};
// - else each matched stack's cycle is queued with trigger "webhook" (coalesced with one
//   already queued for it): 202 {"status":"triggered","stacks":[...]}.
// Bodies over 1 MiB are refused with 413 by the server before they reach this.

#include <mutex>
#include <string>
#include <vector>

#include "agent/daemon/api_routes.h"
#include "agent/sources/git.h"
#include "agent/sys/clock.h"
#include "agent/sys/result.h"
#include "agent/webhook/match.h"
#include "agent/webhook/rate_limiter.h"

namespace agentd::daemon {

/// What the webhook routes ask of the daemon.
class WebhookBackend {
public:
    virtual ~WebhookBackend() = default;
    /// The shared secret (api.webhook_secret_file, read now so a rotated one is used); an
    /// error, never the secret, when it cannot be read.
    virtual sys::Result<std::string> secret() = 0;
    /// Every configured stack as the matcher sees it (configuration plus current images).
    virtual sys::Result<std::vector<webhook::Target>> targets() = 0;
    /// Queues a webhook-triggered cycle of `stack`; false when agentd is stopping. `arrived`:
    /// when the delivery came, the same for every stack it names (their polls then share one
    /// git check begun since).
    virtual bool trigger(const std::string& stack, sources::AskedAt arrived) = 0;
    /// The time the rate limiter counts with.
    virtual sys::TimePoint now() = 0;
};

class WebhookRoutes {
public:
    WebhookRoutes(WebhookBackend& backend, webhook::RateLimiter::Limits limits);

    /// Whether `path` is one of the webhook routes' paths ("/webhooks/...").
    static bool handles(const std::string& path);
    /// Answers one request to a path handles() accepted; thread-safe.
    ApiReply handle(const ApiRequest& request);

private:
    WebhookBackend& m_backend;
    std::mutex m_mutex;  // guards m_limiter
    webhook::RateLimiter m_limiter;
};

}  // namespace agentd::daemon
