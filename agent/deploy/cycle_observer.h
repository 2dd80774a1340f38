#pragma once
// What the pipeline tells whoever watches it (the daemon's metrics): a poll's observe step, a
// health gate and a deployment's end, with their durations on the reconciler's clock. The
// pipeline reads the same with or without one; the default observer does nothing.

#include <string>

#include "agent/deploy/health_gate.h"
#include "agent/model/deployment.h"
#include "agent/sys/clock.h"

namespace agentd::deploy {

class CycleObserver {
public:
    virtual ~CycleObserver() = default;
    /// The observe step of a poll of `stack` ended after `took`; `ok` false: a poll error.
    virtual void observed(const std::string& stack, sys::Duration took, bool ok) {
        (void)stack, (void)took, (void)ok;
    }
    /// A health gate of `stack` (a candidate's or a restored release's) ended after `took`.
    virtual void gated(const std::string& stack, const GateResult& result, sys::Duration took) {
        (void)stack, (void)result, (void)took;
    }
    /// `deployment` was settled (succeeded, rolled_back, rejected or failed) and recorded; its
    /// started_at and finished_at are set.
    virtual void finished(const model::Deployment& deployment) { (void)deployment; }
};

}  // namespace agentd::deploy
