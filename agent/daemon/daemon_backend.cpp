#include "agent/daemon/daemon_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/daemon/event_stream.h"
#include "agent/deploy/approval.h"
#include "agent/deploy/release_text.h"
#include "agent/sys/log_context.h"

namespace agentd::daemon {

DaemonBackend::DaemonBackend(SharedConfig& config, std::unique_ptr<state::Store> store,
                             WorkQueue& queue, ReloadFunction reload, RegistryFactory make_registry,
                             VerifierFactory make_verifier, const UnrecordedErrors* unrecorded,
                             ProgressHub* progress, fleet::Admin* fleet)
    : m_config(config),
      m_store(std::move(store)),
      m_queue(queue),
      m_reload(std::move(reload)),
      m_make_registry(std::move(make_registry)),
      m_make_verifier(std::move(make_verifier)),
      m_unrecorded(unrecorded),
      m_progress(progress),
      m_fleet(fleet) {}

sys::Result<std::unique_ptr<ApiStream>> DaemonBackend::events(
    const std::optional<std::string>& stack) {
    if (stack && !known(*stack)) {
        return unknown_stack(*stack);
    }
    if (m_progress == nullptr) {
        return sys::Error::conflict("this agentd does not publish live progress");
    }
    return std::unique_ptr<ApiStream>(
        std::make_unique<EventStream>(m_progress->subscribe(stack), stack));
}

bool DaemonBackend::known(const std::string& stack) const {
    return m_config.get()->find_stack(stack) != nullptr;
}

namespace {

/// What the waiting deployment `d` of `stack` waits for, and until when.
WaitingRelease waiting_release(const config::Stack& stack, const model::Deployment& d,
                               const model::StackState& state) {
    // Waiting deployments recorded before reasons were told apart waited for their images.
    WaitingRelease w{d.id, d.reason.empty() ? model::k_waits_for_images : d.reason, d.started_at,
                     std::nullopt};
    if (w.reason == model::k_waits_for_images) {
        w.until = d.started_at + stack.image_wait;  // rejected then, if still missing
    } else if (w.reason == model::k_waits_for_window && stack.window) {
        // The first opening after the poll that found the window closed.
        w.until = stack.window->next_open(state.last_poll.at.value_or(d.started_at));
    }
    return w;
}

}  // namespace

sys::Result<std::vector<StackStatus>> DaemonBackend::status(
    const std::optional<std::string>& stack) {
    if (stack && !known(*stack)) {
        return unknown_stack(*stack);
    }
    const auto config = m_config.get();
    std::vector<StackStatus> out;
    std::lock_guard lock(m_store_mutex);
    for (const auto& s : config->stacks) {
        if (stack && s.name != *stack) {
            continue;
        }
        StackStatus status;
        status.name = s.name;
        status.stack_state = m_store->stack_state(s.name);
        if (m_unrecorded != nullptr) {
            status.stack_state.last_poll =
                m_unrecorded->last_poll(s.name, status.stack_state.last_poll);
        }
        status.current = m_store->current(s.name);
        const auto latest = m_store->latest(s.name);
        status.state = stack_state_name(status.stack_state, status.current, latest);
        if (latest && latest->status == model::Status::Waiting) {
            status.waiting = waiting_release(s, *latest, status.stack_state);
        }
        out.push_back(std::move(status));
    }
    return out;
}

sys::Result<std::vector<model::Deployment>> DaemonBackend::history(
    const std::optional<std::string>& stack, int limit) {
    if (stack && !known(*stack)) {
        return unknown_stack(*stack);
    }
    std::lock_guard lock(m_store_mutex);
    return m_store->history(stack.value_or(""), limit);
}

std::map<std::string, std::string> DaemonBackend::release_names(const std::string& stack) {
    constexpr int k_recent = 100;
    std::vector<model::Deployment> recent;
    {
        std::lock_guard lock(m_store_mutex);
        recent = m_store->history(stack, k_recent);
    }
    std::map<std::string, std::string> names;
    for (const auto& d : recent)
        names.try_emplace(d.release.key(), deploy::release_name(d.release));
    return names;
}

sys::Result<model::Deployment> DaemonBackend::show(std::int64_t id) {
    std::lock_guard lock(m_store_mutex);
    auto d = m_store->deployment(id, true);
    if (!d) {
        return sys::Error::not_found(fmt::format("unknown deployment {}", id));
    }
    return *d;
}

sys::Result<deploy::CycleResult> DaemonBackend::run_and_wait(Job job) {
    auto reply = std::make_shared<std::promise<deploy::CycleResult>>();
    auto result = reply->get_future();
    job.reply = reply;
    if (!m_queue.push(std::move(job))) {
        return sys::Error::conflict("agentd is stopping");
    }
    try {
        return result.get();
    } catch (const std::future_error&) {
        return sys::Error::conflict("agentd is stopping");
    }
}

sys::Result<std::optional<deploy::CycleResult>> DaemonBackend::sync(const std::string& stack,
                                                                    bool wait,
                                                                    const std::string& request) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: sync requested{}", stack, wait ? " (waiting)" : "");
    Job job{Job::Kind::Cycle, stack, model::Trigger::Manual, std::nullopt, nullptr, request,
            deploy::Urgency::Now};
    if (!wait) {
        if (!m_queue.push(std::move(job))) {
            return sys::Error::conflict("agentd is stopping");
        }
        return std::optional<deploy::CycleResult>{};
    }
    auto result = run_and_wait(std::move(job));
    if (!result) {
        return result.error();
    }
    return std::optional<deploy::CycleResult>{*result};
}

sys::Result<deploy::CycleResult> DaemonBackend::rollback(const std::string& stack,
                                                         std::optional<std::int64_t> to) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    if (to) {
        std::lock_guard lock(m_store_mutex);
        auto target = m_store->deployment(*to, false);
        if (!target || target->stack != stack) {
            return sys::Error::not_found(fmt::format("stack {} has no deployment {}", stack, *to));
        }
        if (!model::passed_gate(*target)) {
            return sys::Error::conflict(
                fmt::format("deployment {} is {}: only a release that "
                            "succeeded can be restored",
                            *to, model::status_text(*target)));
        }
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: rollback requested{}", stack,
                 to ? fmt::format(" to deployment {}", *to) : std::string());
    return run_and_wait(Job{Job::Kind::Rollback, stack, model::Trigger::Rollback, to, nullptr});
}

sys::Result<model::StackState> DaemonBackend::set_paused(const std::string& stack, bool paused) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    std::lock_guard lock(m_store_mutex);
    const auto before = m_store->stack_state(stack);
    m_store->set_control(stack, paused, paused ? before.pinned : std::nullopt);
    auto state = m_store->stack_state(stack);
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: {}", stack, paused ? "paused" : "resumed");
    if (!paused) {
        // Resuming polls at once instead of after the rest of the interval.
        m_queue.push(Job{Job::Kind::Cycle, stack, model::Trigger::Manual, std::nullopt, nullptr});
    }
    return state;
}

sys::Result<deploy::CycleResult> DaemonBackend::pin(const std::string& stack,
                                                    std::int64_t deployment) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    {
        // Refused here, with the status agentctl turns into its exit code; the worker checks
        // again when the job runs.
        std::lock_guard lock(m_store_mutex);
        auto target = m_store->deployment(deployment, false);
        if (!target || target->stack != stack) {
            return sys::Error::not_found(
                fmt::format("stack {} has no deployment {}", stack, deployment));
        }
        if (!model::passed_gate(*target)) {
            return sys::Error::conflict(
                fmt::format("deployment {} is {}: only a release that succeeded can be pinned",
                            deployment, model::status_text(*target)));
        }
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: pin at deployment {} requested", stack, deployment);
    return run_and_wait(Job{Job::Kind::Pin, stack, model::Trigger::Rollback, deployment, nullptr});
}

sys::Result<model::StackState> DaemonBackend::unpin(const std::string& stack) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    model::StackState state;
    {
        std::lock_guard lock(m_store_mutex);
        m_store->set_control(stack, m_store->stack_state(stack).paused, std::nullopt);
        state = m_store->stack_state(stack);
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: unpinned", stack);
    // The held candidate is deployed at once instead of after the rest of the interval.
    m_queue.push(Job{Job::Kind::Cycle, stack, model::Trigger::Manual, std::nullopt, nullptr});
    return state;
}

sys::Result<deploy::CycleResult> DaemonBackend::approve(const std::string& stack,
                                                        std::optional<std::int64_t> deployment) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    {
        // Refused here with 409 (agentctl's exit code 1); the worker checks again when the job
        // runs, since a poll may replace the candidate meanwhile.
        std::lock_guard lock(m_store_mutex);
        const auto latest = m_store->latest(stack);
        if (deployment && (!latest || *deployment != latest->id)) {
            const auto asked = m_store->deployment(*deployment, false);
            if (!asked || asked->stack != stack) {
                return sys::Error::not_found(
                    fmt::format("stack {} has no deployment {}", stack, *deployment));
            }
        }
        if (auto refused =
                deploy::approval_refused(stack, m_store->stack_state(stack), latest, deployment)) {
            return *refused;
        }
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: approval of {} given", stack,
                 deployment ? fmt::format("deployment {}", *deployment)
                            : std::string("the waiting release"));
    return run_and_wait(
        Job{Job::Kind::Approve, stack, model::Trigger::Manual, deployment, nullptr});
}

sys::Result<deploy::CycleResult> DaemonBackend::retry(const std::string& stack) {
    if (!known(stack)) {
        return unknown_stack(stack);
    }
    {
        std::lock_guard lock(m_store_mutex);
        m_store->clear_bad(stack);
    }
    const sys::LogScope scope(stack);
    spdlog::info("stack {}: retry requested: bad releases forgotten", stack);
    return run_and_wait(Job{Job::Kind::Cycle, stack, model::Trigger::Retry, std::nullopt, nullptr});
}

sys::Result<StackDiff> DaemonBackend::diff(const std::string& stack) {
    const auto config = m_config.get();
    const config::Stack* s = config->find_stack(stack);
    if (s == nullptr) {
        return unknown_stack(stack);
    }
    StackDiff out;
    out.stack = stack;
    model::StackState state;
    {
        std::lock_guard lock(m_store_mutex);
        out.current = m_store->current(stack);
        state = m_store->stack_state(stack);
    }
    out.note = state.candidate;
    out.candidate =
        deploy::observed_release(deploy::observed_release_file(config->state_dir, stack));
    const model::Release none;
    const model::Release& from = out.current ? out.current->release : none;
    out.pending = out.candidate && !state.candidate.empty() && !(*out.candidate == from);
    if (!out.pending) {
        return out;
    }
    out.services = deploy::compare_images(from.images, out.candidate->images);
    if (s->git && !out.candidate->revision.empty() && out.candidate->revision != from.revision) {
        constexpr std::size_t k_max_commits = 100;
        sources::LibGit2Source git(config->state_dir);
        auto commits = git.history(*s->git, from.revision, out.candidate->revision, k_max_commits,
                                   out.commits_truncated);
        if (!commits) {
            // The mirror is agentd's own: whatever went wrong, the request was fine (exit 1).
            return sys::Error::failed("git: " + commits.error().message);
        }
        out.commits = std::move(*commits);
        const std::string path = s->git->path == "." ? "" : s->git->path;
        auto patch = git.patch(*s->git, from.revision, out.candidate->revision, path);
        if (!patch) {
            return sys::Error::failed("git: " + patch.error().message);
        }
        out.compose_diff = std::move(*patch);
    }
    return out;
}

sys::Result<int> DaemonBackend::reload() {
    return m_reload();
}

namespace {

/// A registry's error as the API answers it: what the user can do about it.
sys::Error registry_error(const sys::Error& error) {
    switch (error.kind) {
        case sys::Error::Kind::NotFound:
        case sys::Error::Kind::Unavailable:
            return error;
        case sys::Error::Kind::InvalidInput:
            return sys::Error::invalid("image: " + error.message);
        case sys::Error::Kind::Unauthorized:
            return sys::Error::unauthorized(fmt::format(
                "{} (agentd takes registry credentials from `registries:` in its configuration, "
                "else from the Docker client config that `docker login` writes)",
                error.message));
        case sys::Error::Kind::Failed:
        case sys::Error::Kind::Conflict:
            break;
    }
    // Whatever else went wrong, it went wrong at the registry.
    return sys::Error::unavailable(error.message);
}

}  // namespace

sys::Result<std::vector<std::string>> DaemonBackend::tags(const sources::ImageRef& image) {
    const auto config = m_config.get();
    auto registry = m_make_registry(*config);
    auto tags = registry->list_tags(image);
    if (tags) {
        spdlog::debug("tags {}: {} listed", image.familiar_name(), tags->size());
        return std::move(*tags);
    }
    spdlog::info("tags {}: {}", image.familiar_name(), tags.error().message);
    return registry_error(tags.error());
}

// Runs on the API thread, as tags does: the registry client and the verifier are this
// request's own, so nothing is shared with the workers and nothing is cached.
sys::Result<VerifyVerdict> DaemonBackend::verify(const sources::ImageRef& image,
                                                 const config::ImageVerify& policy) {
    const auto config = m_config.get();
    auto registry = m_make_registry(*config);
    // A digest is checked to exist: a signature search for a digest the registry does not
    // have would only say "not signed".
    auto digest = registry->resolve_digest(image);
    if (!digest) {
        spdlog::info("verify {}: {}", image.familiar_name(), digest.error().message);
        return registry_error(digest.error());
    }
    auto verifier = m_make_verifier(*registry);
    auto verified = verifier->verify(image, *digest, policy);
    if (verified) {
        spdlog::info("verify {}: verified: {}", image.pinned(*digest), *verified);
        return VerifyVerdict{*digest, true, *verified};
    }
    const auto& error = verified.error();
    if (error.kind == sys::Error::Kind::InvalidInput) {
        spdlog::info("verify {}: not verified: {}", image.pinned(*digest), error.message);
        return VerifyVerdict{*digest, false, error.message};
    }
    // Undecided (a signature could not be read): an error, never a verdict.
    spdlog::info("verify {}: {}", image.pinned(*digest), error.message);
    return registry_error(error);
}

}  // namespace agentd::daemon
