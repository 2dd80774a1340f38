// Upkeep of what runs, between deployments: drift (the containers compared with the current
// release at every poll that deploys nothing, healed when configured) and image retention
// (after each promotion).

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/drift.h"
#include "agent/deploy/reconciler.h"
#include "agent/deploy/retention.h"
#include "agent/sys/log_context.h"

namespace agentd::deploy {
namespace {

/// How far back retention looks for the releases it keeps and the images others may need.
constexpr int k_retention_history = 1000;

}  // namespace

CycleResult Reconciler::keep_current(const config::Stack& stack, const Known& known,
                                     Urgency urgency, PollRecord& poll, CycleResult noop) {
    noop.drift = look_for_drift(stack, known, poll);
    if (!noop.drift || noop.drift->empty()) {
        return noop;
    }
    const auto& current = *known.current;
    if (stack.drift == config::Drift::Warn) {
        noop.message = "drifted from deployment " + std::to_string(current.id) + ": " + *noop.drift;
        return noop;
    }
    // drift: heal. A heal that failed is not tried again by every poll, only by an admin's
    // `agentctl sync` (or once the containers change again and a new release deploys).
    const auto& latest = known.latest;
    if (urgency == Urgency::Scheduled && latest && latest->trigger == model::Trigger::Drift &&
        latest->release == current.release &&
        (latest->status == model::Status::Failed || latest->status == model::Status::RolledBack)) {
        noop.message = fmt::format(
            "drifted from deployment {}: {}; deployment {} failed to heal it, so it is not tried "
            "again until `agentctl sync {}`",
            current.id, *noop.drift, latest->id, stack.name);
        return noop;
    }
    model::Deployment d;
    d.stack = stack.name;
    d.release = current.release;
    d.trigger = model::Trigger::Drift;
    auto result = deploy(stack, std::move(d),
                         {{"drift", fmt::format("the containers differ from deployment {}: {}",
                                                current.id, *noop.drift)}});
    result.drift = noop.drift;  // found, whether healed or not: notified, then resolved
    if (result.outcome == Outcome::Succeeded) {
        poll.drift.clear();
        result.message = "healed drift: " + *noop.drift;
    }
    return result;
}

std::optional<std::string> Reconciler::look_for_drift(const config::Stack& stack,
                                                      const Known& known, PollRecord& poll) {
    if (!known.current || !runs_current(stack, *known.current)) {
        return std::nullopt;
    }
    const auto& current = *known.current;
    // The services `up` started (cached per revision: no process on a poll).
    const auto services = services_at(stack, current.release.revision, current.release.tag);
    if (!services) {
        return std::nullopt;
    }
    const auto containers = serving_containers(stack);
    if (!containers) {
        spdlog::warn("stack {}: drift not checked: {}", stack.name, containers.error().message);
        return std::nullopt;
    }
    ConfigHashes hashes(meta_dir(stack) / "containers.json");
    const auto recorded = hashes.find(current.id);
    std::vector<ExpectedService> expected;
    for (const auto& s : *services) {
        if (!s.profiles.empty()) {
            continue;  // hooks: run by `compose run`, never by `up`
        }
        ExpectedService e;
        e.name = s.name;
        if (const auto image = current.release.images.find(s.name);
            image != current.release.images.end()) {
            e.image = runnable(image->second);
        }
        if (recorded) {
            const auto hash = recorded->find(s.name);
            e.config_hash = hash != recorded->end() ? hash->second : "";
        }
        e.may_exit = s.restart.empty() || s.restart == "no";
        expected.push_back(std::move(e));
    }
    const auto found = find_drift(expected, *containers);
    if (!recorded && found.empty()) {
        // Promoted by an agentd that did not record the hashes (or the file was lost): the
        // containers run the release's images, so their configuration is taken as the release's.
        hashes.remember(current.id, *containers);
    }
    poll.drift = fmt::format("{}", fmt::join(found, "; "));
    if (poll.drift != poll.drift_before) {  // logged when it begins, changes or ends
        const sys::LogScope scope(stack.name);
        if (!found.empty()) {
            spdlog::warn("stack {}: drifted from deployment {}: {}", stack.name, current.id,
                         poll.drift);
        } else {
            spdlog::info("stack {}: the containers match deployment {} again", stack.name,
                         current.id);
        }
    }
    return poll.drift;
}

bool Reconciler::runs_current(const config::Stack& stack, const model::Deployment& current) {
    constexpr int k_looked_at = 20;
    for (const auto& d : m_s.store.history(stack.name, k_looked_at)) {
        if (d.id <= current.id) {
            break;
        }
        if (d.status == model::Status::InProgress) {
            return false;
        }
        if (d.trigger == model::Trigger::Drift && d.release == current.release) {
            continue;  // a heal that failed re-applied the current release itself
        }
        if (d.status == model::Status::Failed &&
            (applied_yet(d) || d.phase == "rollback" || d.phase == "on_rollback")) {
            return false;  // applied, then left (on_failure: stop) or not restored
        }
    }
    return true;
}

void Reconciler::remember_config_hashes(const config::Stack& stack, const model::Deployment& d) {
    const auto containers = serving_containers(stack);
    if (!containers) {
        spdlog::warn("stack {}: deployment {}: container configuration not recorded for drift: {}",
                     stack.name, d.id, containers.error().message);
        return;
    }
    ConfigHashes(meta_dir(stack) / "containers.json").remember(d.id, *containers);
}

void Reconciler::retain(const config::Stack& stack, model::Deployment& d) {
    const auto own = m_s.store.history(stack.name, k_retention_history);
    const auto keep = kept_images(own, m_s.store.history("", k_retention_history), stack.name,
                                  stack.keep_releases);
    std::vector<std::string> removed;
    for (const auto& pulled : m_s.store.pulled_images()) {
        if (pulled.stack != stack.name || keep.count(pulled.reference) > 0) {
            continue;
        }
        const auto removal = m_s.engine.remove_image(pulled.reference);
        if (!removal) {
            event(d, "retention",
                  fmt::format("{} not removed: {}", pulled.reference, removal.error().message));
            continue;
        }
        switch (*removal) {
            case runtime::ImageRemoval::Removed:
                removed.push_back(pulled.reference);
                m_s.store.forget_pull(pulled.reference);
                break;
            case runtime::ImageRemoval::Gone:
                m_s.store.forget_pull(pulled.reference);
                break;
            case runtime::ImageRemoval::InUse:  // tried again after the next promotion
                break;
        }
    }
    if (!removed.empty()) {
        event(d, "retention",
              fmt::format("removed {} image(s) no kept release names (keep_releases: {}): {}",
                          removed.size(), stack.keep_releases, fmt::join(removed, ", ")));
    }
    // How many kept releases a rollback can restore without a registry.
    const auto kept = kept_releases(own, stack.keep_releases);
    int offline = 0;
    for (const auto& release : kept) {
        bool all_here = true;
        for (const auto& [service, image] : release.images) {
            const auto present = m_s.engine.has_image(runnable(image));
            all_here = all_here && present && *present;
        }
        offline += all_here ? 1 : 0;
    }
    m_s.store.record_retention(stack.name, static_cast<int>(kept.size()), offline);
}

}  // namespace agentd::deploy
