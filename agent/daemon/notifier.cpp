#include "agent/daemon/notifier.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

namespace agentd::daemon {

void SystemdNotifier::notify(const std::string& state) {
    // 0: keep NOTIFY_SOCKET, since READY is followed by STATUS, WATCHDOG and STOPPING.
    const int sent = sd_notify(0, state.c_str());
    if (sent < 0) {
        spdlog::debug("sd_notify: error {}", -sent);
    }
}

sys::Duration SystemdNotifier::watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) {
        return sys::Duration::zero();
    }
    return std::chrono::duration_cast<sys::Duration>(std::chrono::microseconds(usec));
}

}  // namespace agentd::daemon
