#pragma once
// The service manager's view of the daemon: READY, STATUS, WATCHDOG, RELOADING, STOPPING
// (sd_notify). A no-op when not run by systemd.

#include <string>

#include "agent/sys/clock.h"

namespace agentd::daemon {

class Notifier {
public:
    virtual ~Notifier() = default;
    /// Sends one or more "KEY=VALUE" lines, e.g. "READY=1\nSTATUS=polling 3 stacks".
    virtual void notify(const std::string& state) = 0;
    /// How often WATCHDOG=1 must be sent; zero when the watchdog is off.
    virtual sys::Duration watchdog_interval() = 0;
};

class SystemdNotifier final : public Notifier {
public:
    void notify(const std::string& state) override;
    sys::Duration watchdog_interval() override;
};

}  // namespace agentd::daemon
