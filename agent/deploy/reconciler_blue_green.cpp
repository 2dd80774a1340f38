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
    // The other slot still runs this very release: a rollback to it is a switch, no container
    // is started.
    if (slots && slots->idle_deployment && slots->idle_stops_at) {
        const auto idle = m_s.store.deployment(*slots->idle_deployment, false);
        if (idle && idle->release == d.release) {
            if (auto back = switch_back(stack, d, *slots)) {
                return *back;
            }
        }
    }
    const std::string slot = slots ? model::other_slot(slots->active) : "blue";
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
    config::Health own = stack.health;
    own.http = slot_probes(bg, stack.health.http, *applied, slot_network(stack.name));
    const GateTarget target{slot_project(stack.name, slot), services,
                            pins_of(runnable(d.release.images), services)};
    if (const auto gated = judged(gate(own, d, target)); !gated.healthy()) {
        return slot_failed(stack, d, slot, gated);
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

sys::Result<std::vector<runtime::ContainerSummary>> Reconciler::apply_slot(
    const config::Stack& stack, model::Deployment& d, const model::Release& release,
    const std::string& slot) {
    const auto& bg = *stack.blue_green;
    const auto network = slot_network(stack.name);
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
    const auto shared = shared_services(bg, *services);
    if (!shared.empty()) {
        auto p = *base;
        p.name = shared_project(stack.name);
        p.only = shared;
        p.network = network;
        p.override_file = meta_dir(stack) / "override-shared.yaml";
        if (auto up = m_s.compose.up(p, pins_of(pins, shared)); !up) {
            return sys::Error{up.error().kind, "compose up (shared): " + up.error().message};
        }
        event(d, d.phase, fmt::format("shared services up: {}", service_list(shared)));
    }
    auto p = *base;
    p.name = slot_project(stack.name, slot);
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
    return m_s.engine.list_containers(p.name);
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
    const GateTarget target{slot_project(stack.name, serving.active), services,
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
    if (soaked.verdict()) {
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
    return finish(d, model::Status::RolledBack, d.reason);
}

sys::Result<runtime::Switched> Reconciler::route_to(const config::Stack& stack,
                                                    model::Deployment& d, const std::string& slot,
                                                    std::int64_t deployment) {
    if (m_s.proxy == nullptr) {
        return sys::Error::failed("no proxy is wired");
    }
    // Listed now, not when the slot came up: a container restarted during the gate has a new
    // address.
    const auto containers = m_s.engine.list_containers(slot_project(stack.name, slot));
    if (!containers) {
        return containers.error();
    }
    auto routes = slot_routes(stack.name, *stack.blue_green, slot, deployment, *containers,
                              slot_network(stack.name));
    if (!routes) {
        return routes.error();
    }
    // nginx: service runs in the shared project, beside the stack's other shared services.
    auto switched = m_s.proxy->route(stack.blue_green->proxy,
                                     runtime::ProxySite{shared_project(stack.name)}, *routes);
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

std::optional<CycleResult> Reconciler::switch_back(const config::Stack& stack, model::Deployment& d,
                                                   const model::Slots& slots) {
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
    if (failure.verdict()) {
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
    return finish(d, model::Status::RolledBack, d.reason);
}

void Reconciler::stop_slot(const config::Stack& stack, const std::string& slot) {
    const auto containers = m_s.engine.list_containers(slot_project(stack.name, slot));
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
    if (before && (d.phase == "apply" || d.phase == "gate" || d.phase == "switch")) {
        stop_slot(stack, model::other_slot(before->active));  // what it held is gone already
    }
    finish(d, model::Status::Failed,
           fmt::format("interrupted during {}, before the switch (transient: retried)", d.phase));
}

}  // namespace agentd::deploy
