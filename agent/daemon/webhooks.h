#pragma once
// The daemon's side of the webhook routes (webhook_routes.h): the secret read from
// api.webhook_secret_file at each webhook (so a rotated secret needs no reload), the targets
// built from the configuration in force and the images each stack's current deployment runs,
// and the matched stacks queued on the WorkQueue as webhook-triggered cycles.
//
// What a flood of webhooks can queue is bounded: WorkQueue::push merges a cycle without a
// waiter into the one already queued for its stack, so webhooks hold at most one queued job per
// configured stack, and a stack's jobs run one at a time, so they occupy at most one worker
// per stack; other stacks' due polls are taken by the other workers. The rate limit per peer
// address (webhook_routes.h) bounds how often one source can requeue a stack.

#include "agent/daemon/api_backend.h"
#include "agent/daemon/shared_config.h"
#include "agent/daemon/webhook_routes.h"
#include "agent/daemon/work_queue.h"

namespace agentd::daemon {

class DaemonWebhooks final : public WebhookBackend {
public:
    DaemonWebhooks(SharedConfig& config, ApiBackend& api, WorkQueue& queue, sys::Clock& clock);

    sys::Result<std::string> secret() override;
    sys::Result<std::vector<webhook::Target>> targets() override;
    bool trigger(const std::string& stack, sources::AskedAt arrived) override;
    sys::TimePoint now() override;

private:
    SharedConfig& m_config;
    ApiBackend& m_api;
    WorkQueue& m_queue;
    sys::Clock& m_clock;
};

}  // namespace agentd::daemon
