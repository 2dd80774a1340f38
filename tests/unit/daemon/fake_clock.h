#pragma once
// A clock the test moves by hand.

#include "agent/sys/clock.h"

namespace agentd::daemon::testing {

class FakeClock final : public sys::Clock {
public:
    sys::TimePoint t = sys::TimePoint(std::chrono::hours(24 * 365 * 50));
    sys::TimePoint now() override { return t; }
    void sleep_for(sys::Duration d) override { t += d; }
};

}  // namespace agentd::daemon::testing
