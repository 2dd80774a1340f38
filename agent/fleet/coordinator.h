#pragma once
// What the reconcile pipeline asks of the fleet (config `fleet:`): a turn before a release
// starts, and the end of that turn when the deployment is over. FleetSession is the real one
// (etcd); the pipeline's tests use a fake.

#include <string>

#include "agent/fleet/rollout.h"
#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::fleet {

class Coordinator {
public:
    virtual ~Coordinator() = default;

    /// How long a release must stay healthy after the gate before its turn ends (fleet.soak).
    virtual sys::Duration soak() const = 0;

    /// Whether this host may start `release` of `stack` now: Go (it holds a slot) or Wait with
    /// the reason (halted, the canary wave not done, no free slot, etcd unreachable). Joins the
    /// stack's queue when nothing else stops it, so it asks again in its turn. Never Enqueue.
    virtual Turn turn(const std::string& stack, const std::string& release) = 0;

    /// The release passed the gate and the soak here: frees the slot and marks it done on this
    /// host (which counts for the waves), clearing a halt of another release.
    virtual sys::Result<void> done(const std::string& stack, const std::string& release) = 0;
    /// The release failed here: no host starts it while the halt stands; frees the slot.
    virtual sys::Result<void> halt(const std::string& stack, const std::string& release,
                                   const std::string& reason) = 0;
    /// The deployment ended without a verdict (a failed pull): frees the slot only.
    virtual sys::Result<void> leave(const std::string& stack) = 0;
};

}  // namespace agentd::fleet
