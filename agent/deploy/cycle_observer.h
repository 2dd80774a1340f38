#pragma once
// What the pipeline tells whoever watches it (the daemon's metrics and its live progress): a
// poll's observe step, a health gate and a deployment's end, with their durations on the
// reconciler's clock; and, as they happen, each event a deployment records (its phases), its
// images' pull progress and its gates' samples. The pipeline reads the same with or without
// one; the default observer does nothing. Called on the cycle's thread: an observer must not
// block it.

#include <cstdint>
#include <string>

#include "agent/deploy/health_gate.h"
#include "agent/model/deployment.h"
#include "agent/runtime/pull_progress.h"
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
    /// `event` was recorded for `deployment` (a phase entered, or a note within one), after
    /// the store has it.
    virtual void recorded(const model::Deployment& deployment, const model::Event& event) {
        (void)deployment, (void)event;
    }
    /// An image of `deployment` is being pulled: how far (the Engine's stream, summed).
    virtual void pulling(const model::Deployment& deployment, const runtime::PullProgress& pull) {
        (void)deployment, (void)pull;
    }
    /// A health gate of `deployment` took a sample (the candidate's, or a restored release's
    /// during a rollback).
    virtual void gate_sample(const model::Deployment& deployment, const GateSample& sample) {
        (void)deployment, (void)sample;
    }
};

}  // namespace agentd::deploy
