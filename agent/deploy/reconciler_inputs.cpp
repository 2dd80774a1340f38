// The pipeline's questions about a stack's inputs (agent/deploy/inputs.h): does a new revision
// change anything this stack reads (plan), and which services must be built or recreated for
// the release to reach the containers (apply, rollback, recovery).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/reconciler.h"
#include "agent/deploy/services_cache.h"
#include "agent/runtime/compose_runner.h"

namespace agentd::deploy {

std::optional<StackInputs> Reconciler::inputs_at(const config::Stack& stack,
                                                 const std::string& revision,
                                                 const std::string& tag) {
    if (!stack.git) {
        return std::nullopt;
    }
    // services_at computes the inputs with the services when it runs compose, and caches both.
    if (auto services = services_at(stack, revision, tag); !services) {
        return std::nullopt;
    }
    const auto preview = m_state_dir / "preview" / stack.name;
    ServicesCache cache(meta_dir(stack) / "services.json");
    return cache.inputs(services_key(stack, preview / stack.git->path, revision, tag));
}

StackInputs Reconciler::collect_preview_inputs(
    const config::Stack& stack, const runtime::ComposeProject& project,
    const std::vector<runtime::ComposeService>& services) {
    InputsSource source;
    source.root = m_state_dir / "preview" / stack.name;
    source.project_dir = project.dir;
    if (auto files = runtime::compose_files(project)) {
        source.compose_files = std::move(*files);
    }
    source.env = project.env;
    auto inputs = collect_inputs(source, services);
    for (const auto& note : inputs.notes) {
        spdlog::debug("stack {}: inputs: {}", stack.name, note);
    }
    return inputs;
}

std::optional<InputChanges> Reconciler::input_changes(const config::Stack& stack,
                                                      const model::Release& from,
                                                      const model::Release& to) {
    if (!stack.git || from.revision.empty() || to.revision.empty()) {
        return std::nullopt;
    }
    if (from.revision == to.revision) {
        return InputChanges{};
    }
    const auto inputs = inputs_at(stack, to.revision, to.tag);
    if (!inputs) {
        return std::nullopt;
    }
    auto changes = compare_inputs(*inputs, [&](const std::vector<std::string>& paths) {
        return m_s.git.changed_paths(*stack.git, from.revision, to.revision, paths);
    });
    if (!changes) {
        spdlog::warn("stack {}: cannot compare {} with {}: {}", stack.name,
                     from.revision.substr(0, 12), to.revision.substr(0, 12),
                     changes.error().message);
        return std::nullopt;
    }
    return *changes;
}

bool Reconciler::reads_the_same(const config::Stack& stack, const model::Release& from,
                                const model::Release& to) {
    if (from.images != to.images || from.revision == to.revision) {
        return false;
    }
    const auto changes = input_changes(stack, from, to);
    return changes && !changes->changed;
}

std::optional<model::Release> Reconciler::running_release(const config::Stack& stack,
                                                          std::int64_t applying) {
    constexpr int k_looked_at = 50;
    for (const auto& d : m_s.store.history(stack.name, k_looked_at)) {
        if (d.id == applying) {
            continue;
        }
        if (model::passed_gate(d)) {
            return d.release;
        }
        if (d.status == model::Status::Failed && (d.phase == "gate" || d.phase == "post_deploy")) {
            return d.release;  // the gate or a smoke test failed, and the release stayed
        }
        // Anything else was never applied, or was rolled back to what came before it.
    }
    return std::nullopt;
}

runtime::UpOptions Reconciler::up_options(const config::Stack& stack, const model::Release* running,
                                          const model::Release& release, std::string& note) {
    if (running == nullptr) {
        return {};  // nothing of the stack runs yet: every container is created afresh
    }
    const auto changes = input_changes(stack, *running, release);
    if (!changes) {
        return {};
    }
    runtime::UpOptions options;
    options.rebuild = changes->rebuild;
    options.recreate = changes->recreate;
    if (!options.rebuild.empty() || !options.recreate.empty()) {
        note = describe(*changes);
        spdlog::info("stack {}: {}", stack.name, note);
    }
    return options;
}

}  // namespace agentd::deploy
