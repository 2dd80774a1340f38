// The fleet's part of the pipeline (config `fleet:`): a release starts in this host's turn,
// and the turn ends with the deployment (docs/fleet.md).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/reconciler.h"
#include "agent/deploy/release_text.h"
#include "agent/sys/log_context.h"

namespace agentd::deploy {

config::Stack with_soak(const config::Stack& stack, sys::Duration soak) {
    if (soak <= sys::Duration::zero()) {
        return stack;
    }
    config::Stack soaked = stack;
    soaked.health.stable = std::max(stack.health.stable, soak);
    soaked.health.timeout = stack.health.timeout + soak;
    return soaked;
}

std::optional<CycleResult> Reconciler::wait_for_turn(const config::Stack& stack,
                                                     model::Deployment& d,
                                                     std::vector<Note>& notes) {
    const auto turn = m_s.fleet->turn(stack.name, d.release.key());
    if (turn.kind == fleet::Turn::Kind::Go) {
        notes.push_back({"fleet", turn.reason.empty() ? "holds a fleet slot" : turn.reason});
        return std::nullopt;
    }
    const auto why =
        fmt::format("{} waits for its turn in the fleet: {}", release_name(d.release), turn.reason);
    const bool first = d.id == 0 || d.reason != model::k_waits_for_fleet;
    const auto current = m_s.store.current(stack.name);
    d.previous = current ? std::optional(current->id) : std::nullopt;
    d.status = model::Status::Waiting;
    d.reason = model::k_waits_for_fleet;
    d.phase = "plan";
    if (d.id == 0) {
        d.started_at = m_s.clock.now();
        d.id = create(d);
    } else if (first) {
        m_s.store.update_deployment(d);
    }
    if (!first) {
        return CycleResult{Outcome::Waiting, d.id, why};
    }
    const sys::LogScope scope(stack.name, d.id);
    event(d, "fleet", why);
    for (const auto& note : notes) {
        event(d, note.phase, note.text);
    }
    spdlog::info("stack {}: {}", stack.name, why);
    // Pulled now, so that the turn, when it comes, is spent deploying.
    if (auto pulled = pull(stack, d); !pulled) {
        spdlog::warn("stack {}: deployment {}: {}", stack.name, d.id, pulled.error().message);
        return finish(d, model::Status::Failed, pulled.error().message);
    }
    d.phase = "plan";
    m_s.store.update_deployment(d);
    return CycleResult{Outcome::Waiting, d.id, why};
}

void Reconciler::end_turn(const config::Stack& stack, const model::Release& release,
                          const CycleResult& result) {
    if (result.outcome == Outcome::Interrupted || result.outcome == Outcome::Waiting) {
        return;  // an interrupted deployment ends at the next start; the lease frees its slot
    }
    const auto key = release.key();
    // A release judged bad here is halted for the whole fleet; a failure that is not a verdict
    // (a pull) gives the slot back, and the release is tried again.
    const bool done = result.outcome == Outcome::Succeeded;
    const bool bad = !done && m_s.store.is_bad(stack.name, key);
    const char* what = done  ? "mark the release done"
                       : bad ? "halt the release"
                             : "give the rollout slot back";
    auto d = result.deployment ? m_s.store.deployment(*result.deployment, false) : std::nullopt;
    if (d) {
        event(*d, "fleet",
              done  ? "turn over: the release is done on this host; its slot is free"
              : bad ? "turn over: the release is halted for the fleet; its slot is free"
                    : "turn over without a verdict: its slot is free, the release is tried again");
    }
    const auto ended = done  ? m_s.fleet->done(stack.name, key)
                       : bad ? m_s.fleet->halt(stack.name, key, result.message)
                             : m_s.fleet->leave(stack.name);
    if (!ended) {
        spdlog::warn("stack {}: fleet: could not {} ({}); retried in the background", stack.name,
                     what, ended.error().message);
        if (d) {
            event(*d, "fleet",
                  fmt::format("etcd has not taken it yet ({}); retried in the background",
                              ended.error().message));
        }
    }
}

}  // namespace agentd::deploy
