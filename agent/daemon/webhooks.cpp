#include "agent/daemon/webhooks.h"

#include "agent/sources/credential_file.h"

namespace agentd::daemon {

DaemonWebhooks::DaemonWebhooks(SharedConfig& config, ApiBackend& api, WorkQueue& queue,
                               sys::Clock& clock)
    : m_config(config), m_api(api), m_queue(queue), m_clock(clock) {}

sys::Result<std::string> DaemonWebhooks::secret() {
    const auto config = m_config.get();
    if (config->api.webhook_secret_file.empty()) {
        return sys::Error::failed("api.webhook_secret_file is not set");
    }
    return sources::read_credential_file(config->api.webhook_secret_file,
                                         "api.webhook_secret_file");
}

sys::Result<std::vector<webhook::Target>> DaemonWebhooks::targets() {
    const auto config = m_config.get();
    auto status = m_api.status(std::nullopt);
    if (!status) {
        return status.error();
    }
    std::vector<webhook::Target> targets;
    for (const auto& stack : config->stacks) {
        std::vector<std::string> images;
        for (const auto& s : *status) {
            if (s.name == stack.name && s.current) {
                for (const auto& [service, image] : s.current->release.images) {
                    images.push_back(image);
                }
            }
        }
        targets.push_back(webhook::target_for(stack, images));
    }
    return targets;
}

bool DaemonWebhooks::trigger(const std::string& stack, sources::AskedAt arrived) {
    Job job{Job::Kind::Cycle, stack, model::Trigger::Webhook, std::nullopt, {}};
    job.asked = arrived;
    return m_queue.push(std::move(job));
}

sys::TimePoint DaemonWebhooks::now() {
    return m_clock.now();
}

}  // namespace agentd::daemon
