#pragma once
// GET /v1/events: a ProgressHub subscription as the API's stream of JSON lines. It opens with a
// "subscribed" line (so a client knows that what follows its next request is seen), says how
// many lines a slow reader lost ("dropped"), and sends a "heartbeat" line when nothing else was
// sent for k_heartbeat, so that a client that went away is noticed (the write fails) and the
// connection is not closed as idle.

#include <memory>
#include <optional>
#include <string>

#include "agent/daemon/api_backend.h"
#include "agent/daemon/progress_hub.h"

namespace agentd::daemon {

class EventStream final : public ApiStream {
public:
    EventStream(std::unique_ptr<Subscription> subscription, std::optional<std::string> stack);

    std::optional<std::string> next(sys::Duration wait) override;

    static constexpr sys::Duration k_heartbeat = std::chrono::seconds(5);

private:
    std::unique_ptr<Subscription> m_subscription;
    std::optional<std::string> m_stack;
    bool m_greeted = false;
    sys::Duration m_idle{0};  // waited since the last line sent
};

}  // namespace agentd::daemon
