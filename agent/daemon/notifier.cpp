#include "agent/daemon/notifier.h"

#include <spdlog/spdlog.h>

#include "agent/sys/service_manager.h"

namespace agentd::daemon {

void SystemdNotifier::notify(const std::string& state) {
    // NOTIFY_SOCKET stays set: READY is followed by STATUS, WATCHDOG and STOPPING.
    if (auto sent = sys::notify_service_manager(state); !sent) {
        spdlog::debug("sd_notify: {}", sent.error().message);
    }
}

sys::Duration SystemdNotifier::watchdog_interval() {
    return std::chrono::duration_cast<sys::Duration>(sys::service_watchdog_interval());
}

}  // namespace agentd::daemon
