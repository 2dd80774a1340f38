// Blue-green releases (strategy: blue_green): the slot services go up in the idle one of two
// compose projects, are gated there, traffic switches through the proxy, a soak through the
// proxy judges the release, and the old slot keeps running for keep_old_for so that a rollback
// is a switch back (docs/blue-green.md).

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/blue_green.h"
#include "agent/deploy/reconciler.h"
#include "agent/sys/log_context.h"

namespace agentd::deploy {

namespace {

std::string service_list(const std::vector<std::string>& services) {
    return services.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(services, " "));
}

std::vector<std::string> slot_service_names(const config::BlueGreen& blue_green) {
    std::vector<std::string> out;
    for (const auto& s : blue_green.services) {
        out.push_back(s.name);
    }
    return out;
}

std::map<std::string, std::string> pins_of(const std::map<std::string, std::string>& pins,
                                           const std::vector<std::string>& services) {
    std::map<std::string, std::string> out;
    for (const auto& [service, image] : pins) {
        if (std::find(services.begin(), services.end(), service) != services.end()) {
            out.emplace(service, image);
        }
    }
    return out;
}

}  // namespace

bool Reconciler::blue_green(const config::Stack& stack) {
    return stack.strategy == config::Strategy::BlueGreen && stack.blue_green;
}

std::filesystem::path Reconciler::slot_dir(const config::Stack& stack,
                                           const std::string& slot) const {
    // Each slot has its own checkout: a release checked out for one slot leaves the files the
    // other one's containers were created from (and bind-mount) alone.
    if (stack.dir) {
        return *stack.dir;
    }
    return m_state_dir / "slots" / stack.name / slot / stack.git->path;
}

Verdict Reconciler::verify_slots(const config::Stack& stack, const Observation& observation) {
    if (!blue_green(stack)) {
        return Verdict::accept();
    }
    if (auto refused = refuse_slots(*stack.blue_green, observation.services)) {
        return Verdict::reject(*refused);
    }
    if (auto refused = refuse_proxy(*stack.blue_green, observation.services)) {
        return Verdict::reject(*refused);
    }
    return Verdict::accept();
}

CycleResult Reconciler::deploy_slot(const config::Stack& stack, model::Deployment& d) {
    const auto slots = m_s.store.stack_state(stack.name).slots;
    const std::string slot = model::next_slot(slots);
    if (slots && slots->idle_deployment) {
        // From here on the idle slot no longer holds what it held.
        m_s.store.record_slots(stack.name, {slots->active, slots->active_deployment, {}, {}});
    }
    const auto& bg = *stack.blue_green;
    const auto services = slot_service_names(bg);
    // 6. apply: the shared services as a recreate stack would, the slot services in the idle
    // slot only.
    enter(d, "apply", fmt::format("slot {}: compose up {}", slot, service_list(services)));
    auto applied = apply_slot(stack, d, d.release, slot);
    if (!applied) {
        const auto kind = applied.error().kind == sys::Error::Kind::InvalidInput
                              ? Applied::Kind::Refused
                              : Applied::Kind::Failed;
        return slot_failed(stack, d, slot, {kind, "apply: " + applied.error().message});
    }
    // 7. gate the slot on its own: its containers, and health.http's paths at its addresses.
    enter(d, "gate",
          fmt::format("slot {}: waiting up to {} for {} stable", slot,
                      sys::format_duration(stack.health.timeout),
                      sys::format_duration(stack.health.stable)));
    // The shared services it started are gated with it: traffic moves only when both are well.
    config::Health own = stack.health;
    own.http =
        slot_probes(bg, stack.health.http, applied->containers, slot_network(stack.project()));
    auto gated_services = services;
    gated_services.insert(gated_services.end(), applied->shared.begin(), applied->shared.end());
    GateTarget target{slot_project(stack.project(), slot), gated_services,
                      pins_of(runnable(d.release.images), gated_services)};
    if (!applied->shared.empty()) {
        target.also.push_back(shared_project(stack.project()));
    }
    if (const auto gated = judged(gate(own, d, target)); !gated.healthy()) {
        return slot_failed(stack, d, slot, gated);
    }
    event(d, "gate", fmt::format("slot {} passed its gate", slot));
    // Post-deploy hooks (smoke tests) against the new slot, before any traffic reaches it: a
    // failing one is a failed gate.
    if (runs_hooks(d) && !stack.hooks.post_deploy.empty()) {
        if (auto failed = run_hooks(stack, d, "post_deploy", stack.hooks.post_deploy,
                                    slot_dir(stack, slot), d.release, slot)) {
            return slot_failed(stack, d, slot, {Applied::Kind::Unhealthy, *failed});
        }
    }
    // 8. switch the traffic, then soak through the proxy.
    auto switched = switch_to(stack, d, slot);
    if (!switched) {
        return slot_failed(stack, d, slot, {Applied::Kind::Failed, switched.error().message});
    }
    model::Slots now_serving{
        slot, d.id, slots ? std::optional(slots->active_deployment) : std::nullopt, std::nullopt};
    if (slots) {
        now_serving.idle_stops_at = m_s.clock.now() + std::max(bg.keep_old_for, bg.drain);
    }
    m_s.store.record_slots(stack.name, now_serving);
    return soak(stack, d, now_serving, slots);
}

sys::Result<SlotUp> Reconciler::apply_slot(const config::Stack& stack, model::Deployment& d,
                                           const model::Release& release, const std::string& slot) {
    const auto& bg = *stack.blue_green;
    const auto network = slot_network(stack.project());
    if (auto made = m_s.engine.ensure_network(network); !made) {
        return made.error();
    }
    const auto dir = slot_dir(stack, slot);
    if (stack.git) {
        const auto root = m_state_dir / "slots" / stack.name / slot;
        if (auto checked = m_s.git.checkout(*stack.git, release.revision, root); !checked) {
            return sys::Error{checked.error().kind, "git checkout: " + checked.error().message};
        }
    }
    auto services = services_at(stack, release.revision, release.tag);
    if (!services) {
        return services.error();
    }
    if (auto refused = refuse_slots(bg, *services)) {
        return sys::Error::invalid(*refused);
    }
    if (auto refused = refuse_proxy(bg, *services)) {
        return sys::Error::invalid(*refused);
    }
    auto base = project(stack, dir, release.revision, release.tag);
    if (!base) {
        return base.error();
    }
    const auto pins = runnable(release.images);
    // The shared services (databases, queues, workers): one project, recreated in place.
    SlotUp out;
    out.shared = shared_services(bg, *services);
    if (!out.shared.empty()) {
        if (auto up = up_shared(stack, *base, release, out.shared); !up) {
            return up.error();
        }
        event(d, d.phase, fmt::format("shared services up: {}", service_list(out.shared)));
    }
    auto p = *base;
    p.name = slot_project(stack.project(), slot);
    p.only = slot_service_names(bg);
    p.network = network;
    p.override_file = meta_dir(stack) / ("override-" + slot + ".yaml");
    for (const auto& service : p.only) {
        p.aliases[service] = service + "-" + slot;
    }
    if (auto up = m_s.compose.up(p, pins_of(pins, p.only)); !up) {
        return sys::Error{up.error().kind,
                          fmt::format("compose up (slot {}): {}", slot, up.error().message)};
    }
    auto containers = m_s.engine.list_containers(p.name);
    if (!containers) {
        return containers.error();
    }
    out.containers = std::move(*containers);
    return out;
}

sys::Result<void> Reconciler::up_shared(const config::Stack& stack,
                                        const runtime::ComposeProject& base,
                                        const model::Release& release,
                                        const std::vector<std::string>& shared) {
    auto p = base;
    p.name = shared_project(stack.project());
    p.only = shared;
    p.network = slot_network(stack.project());
    p.override_file = meta_dir(stack) / "override-shared.yaml";
    if (auto up = m_s.compose.up(p, pins_of(runnable(release.images), shared)); !up) {
        return sys::Error{up.error().kind, "compose up (shared): " + up.error().message};
    }
    return {};
}

std::optional<std::string> Reconciler::restore_shared(const config::Stack& stack,
                                                      model::Deployment& d, const std::string& slot,
                                                      const model::Deployment& serving_deployment) {
    const auto& serving = serving_deployment.release;
    auto services = services_at(stack, serving.revision, serving.tag);
    if (!services) {
        return "shared services not restored: " + services.error().message;
    }
    const auto shared = shared_services(*stack.blue_green, *services);
    if (shared.empty()) {
        return std::nullopt;
    }
    auto base = project(stack, slot_dir(stack, slot), serving.revision, serving.tag);
    if (!base) {
        return "shared services not restored: " + base.error().message;
    }
    if (auto up = up_shared(stack, *base, serving, shared); !up) {
        return "shared services not restored: " + up.error().message;
    }
    event(d, "rollback",
          fmt::format("shared services back to deployment {}'s release: {}", serving_deployment.id,
                      service_list(shared)));
    return std::nullopt;
}

sys::Result<runtime::Switched> Reconciler::switch_to(const config::Stack& stack,
                                                     model::Deployment& d,
                                                     const std::string& slot) {
    enter(d, "switch", fmt::format("traffic to slot {}", slot));
    auto switched = route_to(stack, d, slot, d.id);
    if (!switched) {
        event(d, "switch",
              "the proxy still sends traffic where it did: " + switched.error().message);
        return sys::Error{switched.error().kind, "switch: " + switched.error().message};
    }
    return switched;
}

CycleResult Reconciler::soak(const config::Stack& stack, model::Deployment& d,
                             const model::Slots& serving,
                             const std::optional<model::Slots>& before) {
    const auto& bg = *stack.blue_green;
    enter(d, "soak",
          fmt::format("slot {} through the proxy for {}", serving.active,
                      sys::format_duration(bg.soak)));
    config::Health soaking = stack.health;
    soaking.stable = bg.soak;
    soaking.timeout = bg.soak + bg.soak / 2 + std::chrono::seconds(1);
    const auto services = slot_service_names(bg);
    const GateTarget target{slot_project(stack.project(), serving.active), services,
                            pins_of(runnable(d.release.images), services)};
    const auto soaked = judged(gate(soaking, d, target));
    if (soaked.kind == Applied::Kind::Interrupted) {
        return {Outcome::Interrupted, d.id, "interrupted during the soak"};
    }
    if (soaked.healthy()) {
        return promote(stack, d);
    }
    const auto why = "soak: " + soaked.why;
    spdlog::warn("stack {}: deployment {} failed: {}", stack.name, d.id, why);
    if (soaked.verdict() && !reapplies_previous(d)) {
        m_s.store.mark_bad(stack.name, d.release.key(), why);
    }
    d.reason = soaked.verdict() ? why : why + " (transient: retried)";
    if (!before) {
        event(d, d.phase, d.reason);
        return finish(d, model::Status::Failed, d.reason + " (no earlier slot to switch back to)");
    }
    // Switch back: the old slot still runs (keep_old_for starts at the switch).
    event(d, "switch", fmt::format("traffic back to slot {}", before->active));
    const auto restored = route_to(stack, d, before->active, before->active_deployment);
    if (!restored) {
        return finish(d, model::Status::Failed,
                      fmt::format("{}; switching back to slot {} failed: {}", d.reason,
                                  before->active, restored.error().message));
    }
    model::Slots back = *before;
    back.idle_deployment = d.id;
    back.idle_stops_at = m_s.clock.now() + bg.drain;
    m_s.store.record_slots(stack.name, back);
    event(d, "rollback",
          fmt::format("traffic back on slot {} (deployment {}); slot {} stops after {}",
                      before->active, before->active_deployment, serving.active,
                      sys::format_duration(bg.drain)));
    return slot_rolled_back(stack, d, before->active, before->active_deployment);
}

sys::Result<runtime::Switched> Reconciler::route_to(const config::Stack& stack,
                                                    model::Deployment& d, const std::string& slot,
                                                    std::int64_t deployment) {
    if (m_s.proxy == nullptr) {
        return sys::Error::failed("no proxy is wired");
    }
    // Listed now, not when the slot came up: a container restarted during the gate has a new
    // address.
    const auto containers = m_s.engine.list_containers(slot_project(stack.project(), slot));
    if (!containers) {
        return containers.error();
    }
    auto routes = slot_routes(stack.name, *stack.blue_green, slot, deployment, *containers,
                              slot_network(stack.project()));
    if (!routes) {
        return routes.error();
    }
    // nginx: service runs in the shared project, beside the stack's other shared services.
    auto switched = m_s.proxy->route(stack.blue_green->proxy,
                                     runtime::ProxySite{shared_project(stack.project())}, *routes);
    if (switched) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(switched->took).count();
        event(d, "switch",
              fmt::format("traffic on slot {} (the proxy reloaded in {} ms)", slot, ms));
        spdlog::info("stack {}: deployment {}: traffic on slot {} ({} ms)", stack.name, d.id, slot,
                     ms);
    }
    return switched;
}

std::optional<CycleResult> Reconciler::switch_back(const config::Stack& stack,
                                                   model::Deployment& d) {
    const auto state = m_s.store.stack_state(stack.name).slots;
    if (!state || !state->idle_deployment || !state->idle_stops_at) {
        return std::nullopt;  // the idle slot holds nothing, or it was stopped
    }
    const auto held = m_s.store.deployment(*state->idle_deployment, false);
    if (!held || held->release != d.release) {
        return std::nullopt;
    }
    const auto& slots = *state;
    const auto idle = model::other_slot(slots.active);
    enter(d, "switch",
          fmt::format("slot {} still runs deployment {}'s release: switching back, no container "
                      "started",
                      idle, *slots.idle_deployment));
    auto switched = route_to(stack, d, idle, d.id);
    if (!switched) {
        event(d, "switch",
              fmt::format("switching back failed ({}); deploying to slot {} again",
                          switched.error().message, idle));
        return std::nullopt;
    }
    const auto& bg = *stack.blue_green;
    m_s.store.record_slots(stack.name, {idle, d.id, slots.active_deployment,
                                        m_s.clock.now() + std::max(bg.keep_old_for, bg.drain)});
    return promote(stack, d);
}

CycleResult Reconciler::slot_failed(const config::Stack& stack, model::Deployment& d,
                                    const std::string& slot, const Applied& failure) {
    // Traffic never left the serving slot: nothing to restore. The failed slot is stopped.
    spdlog::warn("stack {}: deployment {} failed in slot {}: {}", stack.name, d.id, slot,
                 failure.why);
    if (failure.kind == Applied::Kind::Interrupted) {
        return {Outcome::Interrupted, d.id, failure.why};
    }
    if (failure.verdict() && !reapplies_previous(d)) {
        m_s.store.mark_bad(stack.name, d.release.key(), failure.why);
    }
    d.reason = failure.verdict() ? failure.why : failure.why + " (transient: retried)";
    stop_slot(stack, slot);
    const auto slots = m_s.store.stack_state(stack.name).slots;
    if (!slots) {
        event(d, d.phase, d.reason);
        return finish(d, model::Status::Failed, d.reason + " (no earlier release serves)");
    }
    event(d, "rollback",
          fmt::format("{}; traffic stayed on slot {} (deployment {}); slot {} stopped", d.reason,
                      slots->active, slots->active_deployment, slot));
    return slot_rolled_back(stack, d, slots->active, slots->active_deployment);
}

CycleResult Reconciler::slot_rolled_back(const config::Stack& stack, model::Deployment& d,
                                         const std::string& slot, std::int64_t serving) {
    const auto restored = m_s.store.deployment(serving, false);
    auto failed = restored ? restore_shared(stack, d, slot, *restored)
                           : std::optional(fmt::format("no deployment {}", serving));
    if (!failed && !stack.hooks.on_rollback.empty()) {
        // E.g. restore the backup a pre-deploy hook made, on the serving release's files.
        failed = run_hooks(stack, d, "on_rollback", stack.hooks.on_rollback, slot_dir(stack, slot),
                           restored->release, slot);
    }
    if (failed) {
        return finish(d, model::Status::Failed,
                      fmt::format("{}; traffic is on slot {} (deployment {}), but {}", d.reason,
                                  slot, serving, *failed));
    }
    return finish(d, model::Status::RolledBack, d.reason);
}

sys::Result<std::vector<runtime::ContainerSummary>> Reconciler::serving_containers(
    const config::Stack& stack) {
    if (!blue_green(stack)) {
        return m_s.engine.list_containers(stack.project());
    }
    auto out = m_s.engine.list_containers(shared_project(stack.project()));
    const auto slots = m_s.store.stack_state(stack.name).slots;
    if (!out || !slots) {
        return out;
    }
    auto slot = m_s.engine.list_containers(slot_project(stack.project(), slots->active));
    if (!slot) {
        return slot.error();
    }
    out->insert(out->end(), slot->begin(), slot->end());
    return out;
}

void Reconciler::stop_slot(const config::Stack& stack, const std::string& slot) {
    const auto containers = m_s.engine.list_containers(slot_project(stack.project(), slot));
    if (!containers) {
        spdlog::warn("stack {}: slot {} not stopped: {}", stack.name, slot,
                     containers.error().message);
        return;
    }
    for (const auto& c : *containers) {
        if (c.state == "running" || c.state == "restarting") {
            if (auto stopped = m_s.engine.stop_container(c.id, std::chrono::seconds(10));
                !stopped) {
                spdlog::warn("stack {}: slot {}: {}", stack.name, slot, stopped.error().message);
            }
        }
    }
}

void Reconciler::stop_idle_slot(const config::Stack& stack) {
    if (!blue_green(stack)) {
        return;
    }
    auto slots = m_s.store.stack_state(stack.name).slots;
    if (!slots || !slots->idle_stops_at || *slots->idle_stops_at > m_s.clock.now()) {
        return;
    }
    const auto idle = model::other_slot(slots->active);
    const sys::LogScope scope(stack.name);
    spdlog::info("stack {}: stopping slot {} (keep_old_for is over)", stack.name, idle);
    stop_slot(stack, idle);
    slots->idle_stops_at.reset();
    m_s.store.record_slots(stack.name, *slots);
}

void Reconciler::recover_slot(const config::Stack& stack, model::Deployment& d,
                              std::string_view cause) {
    // The proxy's file is the truth: whether the switch happened decides what is finished.
    const auto before = m_s.store.stack_state(stack.name).slots;
    if (d.phase == "on_rollback") {
        // Traffic went back before the hooks began: what is left is the hooks' work.
        event(d, "recover", fmt::format("{} during the on_rollback hooks", cause));
        finish(d, model::Status::Failed,
               fmt::format("{}; interrupted during the on_rollback hooks (traffic is on slot {})",
                           d.reason.empty() ? std::string("rolled back") : d.reason,
                           before ? before->active : std::string("?")));
        return;
    }
    const auto routes = m_s.proxy != nullptr ? m_s.proxy->current(stack.blue_green->proxy)
                                             : sys::Result<std::optional<runtime::ProxyRoutes>>(
                                                   sys::Error::failed("no proxy is wired"));
    if (routes && *routes && (*routes)->deployment == d.id) {
        // Switched, maybe not recorded: record it, then soak again.
        model::Slots serving{(*routes)->slot, d.id, std::nullopt, std::nullopt};
        std::optional<model::Slots> old = before;
        if (before && before->active == (*routes)->slot) {
            // The switch was recorded: what served before is the idle slot.
            serving = *before;
            old = std::nullopt;
            if (before->idle_deployment) {
                old = model::Slots{model::other_slot(before->active), *before->idle_deployment,
                                   std::nullopt, std::nullopt};
            }
        } else if (before) {
            serving.idle_deployment = before->active_deployment;
            serving.idle_stops_at = m_s.clock.now() + stack.blue_green->keep_old_for;
        }
        m_s.store.record_slots(stack.name, serving);
        event(d, "recover",
              fmt::format("{} after traffic switched to slot {}; soaking again", cause,
                          serving.active));
        soak(stack, d, serving, old);
        return;
    }
    // Not switched: traffic stayed where it was. The release is tried again by the next poll.
    if (routes && *routes && before && (*routes)->slot != before->active) {
        model::Slots serving{(*routes)->slot, (*routes)->deployment, std::nullopt, std::nullopt};
        m_s.store.record_slots(stack.name, serving);
    }
    event(d, "recover",
          fmt::format("{} during {}, before the switch: traffic stayed {}", cause, d.phase,
                      before ? "on slot " + before->active : std::string("where it was")));
    if (before && (applied_yet(d) || d.phase == "switch")) {
        stop_slot(stack, model::other_slot(before->active));  // what it held is gone already
    }
    finish(d, model::Status::Failed,
           fmt::format("interrupted during {}, before the switch (transient: retried)", d.phase));
}

}  // namespace agentd::deploy
