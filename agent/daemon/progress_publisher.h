#pragma once
// The pipeline's live progress as JSON lines (docs/operations.md, "Live progress"), published
// into the ProgressHub: one ProgressPublisher per worker is that worker's CycleObserver, and
// hands everything on to the next observer (the metrics) as well. Each line is an object with
// "at", "stack", "deployment" and "type":
//   phase  {"phase","message"}: an event the deployment recorded (the phases of SPEC section 1)
//   pull   {"image","current","total","layers","layers_done","done"}: bytes of one image
//   gate   {"sample","good","good_in_a_row","containers":[{"service","state","health",
//           "exit_code","restarts"}],"fatal":{},"pending":{}}: one health gate sample
//   end    {"status","message"}: the cycle ended (status: its outcome, deploy::to_string)

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/daemon/progress_hub.h"
#include "agent/deploy/cycle_observer.h"
#include "agent/deploy/reconciler.h"
#include "agent/sys/clock.h"

namespace agentd::daemon {

nlohmann::json phase_line(const model::Deployment& d, const model::Event& event);
nlohmann::json pull_line(const model::Deployment& d, const runtime::PullProgress& pull,
                         sys::TimePoint at);
nlohmann::json gate_line(const model::Deployment& d, const deploy::GateSample& sample,
                         sys::TimePoint at);
/// A cycle's end; `request`: the id of the client that asked for it and waits ("": none).
nlohmann::json end_line(const std::string& stack, const deploy::CycleResult& result,
                        const std::string& request, sys::TimePoint at);

class ProgressPublisher final : public deploy::CycleObserver {
public:
    /// `next` (may be null) is told everything as well.
    ProgressPublisher(ProgressHub& hub, sys::Clock& clock, deploy::CycleObserver* next);

    void observed(const std::string& stack, sys::Duration took, bool ok) override;
    void gated(const std::string& stack, const deploy::GateResult& result,
               sys::Duration took) override;
    void finished(const model::Deployment& deployment) override;
    void recorded(const model::Deployment& deployment, const model::Event& event) override;
    void pulling(const model::Deployment& deployment, const runtime::PullProgress& pull) override;
    void gate_sample(const model::Deployment& deployment,
                     const deploy::GateSample& sample) override;

    /// A pull's progress is published at most this often per image (the Engine reports
    /// every few kilobytes), and always when a layer or the image is done.
    static constexpr sys::Duration k_pull_interval = std::chrono::milliseconds(200);

private:
    struct LastPull {
        sys::TimePoint at;
        int layers_done = 0;
    };

    ProgressHub& m_hub;
    sys::Clock& m_clock;
    deploy::CycleObserver* m_next;
    std::map<std::string, LastPull> m_last_pull;  // by reference; one worker's thread only
};

}  // namespace agentd::daemon
