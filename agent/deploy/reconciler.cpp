#include "agent/deploy/reconciler.h"

#include "agent/deploy/blue_green.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/approval.h"
#include "agent/deploy/blue_green.h"
#include "agent/deploy/env_files.h"
#include "agent/deploy/release_diff.h"
#include "agent/deploy/release_text.h"
#include "agent/deploy/services_cache.h"
#include "agent/sources/image_ref.h"
#include "agent/sys/files.h"
#include "agent/sys/log_context.h"

namespace agentd::deploy {
namespace {

/// The services `compose up` starts: those without a profile (hooks have one).
std::vector<std::string> started_by_up(const std::vector<runtime::ComposeService>& services) {
    std::vector<std::string> names;
    for (const auto& s : services) {
        if (s.profiles.empty()) {
            names.push_back(s.name);
        }
    }
    return names;
}

/// The names and contents of the regular files directly in `dir` (compose files, .env).
std::string directory_fingerprint(const std::filesystem::path& dir) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file(ec) && entry.file_size(ec) < (1u << 20)) {
            auto text = sys::read_file(entry.path());
            files[entry.path().filename().string()] = text ? *text : "";
        }
    }
    std::string out;
    for (const auto& [name, text] : files) {
        out += name + "\n" + sys::sha256_hex(text) + "\n";
    }
    return out;
}

}  // namespace

std::string runnable(const std::string& image) {
    const auto ref = sources::ImageRef::parse(image);
    if (!ref || ref->digest.empty()) {
        return image;
    }
    return ref->pinned(ref->digest);
}

std::map<std::string, std::string> runnable(const std::map<std::string, std::string>& images) {
    std::map<std::string, std::string> out;
    for (const auto& [service, image] : images) {
        out[service] = runnable(image);
    }
    return out;
}

std::string to_string(Outcome o) {
    switch (o) {
        case Outcome::Noop:
            return "noop";
        case Outcome::Paused:
            return "paused";
        case Outcome::PollError:
            return "poll_error";
        case Outcome::Waiting:
            return "waiting";
        case Outcome::Rejected:
            return "rejected";
        case Outcome::Succeeded:
            return "succeeded";
        case Outcome::RolledBack:
            return "rolled_back";
        case Outcome::Failed:
            return "failed";
        case Outcome::Interrupted:
            return "interrupted";
    }
    return "unknown";
}

Reconciler::Reconciler(Services services, std::filesystem::path state_dir,
                       const std::atomic<bool>& stop)
    : m_s(std::move(services)),
      m_observer(m_s.observer != nullptr ? *m_s.observer : m_no_observer),
      m_state_dir(std::move(state_dir)),
      m_stop(stop),
      m_image_ages(m_s.registry) {}

CycleResult Reconciler::reconcile(const config::Stack& stack, model::Trigger trigger,
                                  Urgency urgency, sources::AskedAt asked) {
    // keep_old_for belongs to the release that switched (a rollback pauses the stack, and its
    // old slot still stops on time).
    stop_idle_slot(stack);
    const auto state = m_s.store.stack_state(stack.name);
    if (state.paused) {
        return {Outcome::Paused, {}, state.pinned ? "paused and pinned" : "paused"};
    }
    // A pinned stack still observes, so that status shows what it would deploy, but it
    // deploys nothing (not even a waiting or rejected record) until `agentctl unpin`.
    PollRecord poll{"", state.candidate};
    poll.drift_before = state.last_poll.drift;
    auto result = cycle(stack, trigger, urgency, asked, poll, state.pinned);
    // 8. record: the poll's outcome, once, whatever the cycle did.
    record_poll(stack, poll);
    return result;
}

// One cycle, as SPEC section 1 tells it.
CycleResult Reconciler::cycle(const config::Stack& stack, model::Trigger trigger, Urgency urgency,
                              sources::AskedAt asked, PollRecord& poll,
                              std::optional<std::int64_t> pinned) {
    // 1. observe: the branch head (or newest allowed tag), its services, a digest per image.
    const auto observe_start = m_s.clock.now();
    auto observed = observe(stack, asked);
    m_observer.observed(stack.name,
                        std::chrono::duration_cast<sys::Duration>(m_s.clock.now() - observe_start),
                        observed.ok());
    if (!observed) {
        poll.error = observed.error().message;
        return {Outcome::PollError, {}, poll.error};
    }
    poll.revision = observed->revision;
    // For `agentctl diff`: what the next deployment would be, as this poll saw it.
    remember_observed(observed_release_file(m_state_dir, stack.name), observed->release());
    // 2. plan: what should run, and whether that is already the case.
    const Known what_is_known = known(stack, *observed);
    Plan next = plan(stack, *observed, what_is_known, m_s.clock.now());
    if (pinned) {
        next = hold(std::move(next), *pinned);
    }
    // A new release deploys by itself only inside the deployment window, once min_age old.
    std::vector<Note> notes;
    next = timed(stack, std::move(next), *observed, what_is_known, urgency, notes);
    poll.candidate = next.why;
    switch (next.kind) {
        case Plan::Kind::Noop:
            // Nothing new to deploy: the containers should still be the current release's.
            return keep_current(stack, what_is_known, urgency, poll,
                                {Outcome::Noop,
                                 {},
                                 !next.why.empty()    ? next.why
                                 : !next.note.empty() ? next.note
                                                      : "up to date"});
        case Plan::Kind::Wait: {
            auto waiting = wait(stack, next, trigger);
            waiting.drift = look_for_drift(stack, what_is_known, poll);  // reported, not healed
            return waiting;
        }
        case Plan::Kind::GiveUp:
            return give_up(stack, next);
        case Plan::Kind::Deploy:
            break;
    }
    // 3. verify: compose accepts the files, git.verify's signatures are good and every image
    // carries the signatures its policy asks for; a rejected release is remembered, nothing
    // touched.
    const auto verdict = verify(stack, *observed);
    if (!verdict) {
        poll.error = "verify: " + verdict.error().message;
        return {Outcome::PollError, {}, poll.error};
    }
    if (!verdict->accepted) {
        return not_current_note(stack, next.release,
                                reject(stack, next.release, verdict->why, trigger), poll);
    }
    for (const auto& signed_by : verdict->verified) {
        notes.push_back({"verify", signed_by});
    }
    // 4-7. pull, apply, gate, promote or roll back; every transition recorded first.
    model::Deployment d;
    if (next.waiting) {
        d = m_s.store.deployment(*next.waiting, false).value_or(d);  // its images arrived
    }
    d.stack = stack.name;
    d.release = next.release;
    d.trigger = trigger;
    if (next.approval) {
        // approval: manual: pulled now, applied by `agentctl approve`.
        auto result = await_approval(stack, std::move(d), notes);
        if (result.outcome == Outcome::Waiting) {
            poll.candidate = result.message;
            return result;
        }
        return not_current_note(stack, next.release, std::move(result), poll);
    }
    // With `fleet:`, the release starts only in this host's turn (a rollout slot free, the
    // release not halted, its canary wave done); until then it waits, verified and pulled.
    if (m_s.fleet != nullptr) {
        if (auto held = wait_for_turn(stack, d, notes)) {
            poll.candidate = held->message;
            return *held;
        }
        auto result = deploy(with_soak(stack, m_s.fleet->soak()), std::move(d), notes);
        end_turn(stack, next.release, result);
        return not_current_note(stack, next.release, std::move(result), poll);
    }
    return not_current_note(stack, next.release, deploy(stack, std::move(d), notes), poll);
}

Plan Reconciler::timed(const config::Stack& stack, Plan next, const Observation& observation,
                       const Known& known, Urgency urgency, std::vector<Note>& notes) {
    if (next.kind != Plan::Kind::Deploy ||
        (stack.min_age == sys::Duration::zero() && !stack.window)) {
        return next;
    }
    // The release's age is read (the commit, image configs by digest, once each) only when a
    // new release is about to deploy: a poll that finds nothing new asks nothing more.
    const auto released =
        stack.min_age > sys::Duration::zero()
            ? released_at(stack, observation, known.current ? &known.current->release : nullptr,
                          m_s.git, m_image_ages)
            : std::nullopt;
    Plan held = schedule(stack, next, known, released, m_s.clock.now());
    if (held.kind == Plan::Kind::Deploy || urgency == Urgency::Scheduled) {
        return held;
    }
    notes.push_back({held.reason, held.why + "; deployed now because an admin asked "
                                             "(`agentctl sync`)"});
    return next;
}

CycleResult Reconciler::not_current_note(const config::Stack& stack, const model::Release& release,
                                         CycleResult result, PollRecord& poll) {
    if (result.outcome != Outcome::Succeeded && result.outcome != Outcome::Interrupted) {
        poll.candidate =
            m_s.store.is_bad(stack.name, release.key())
                ? marked_bad(release)
                : fmt::format("{} failed ({}); tried again at the next poll", release_name(release),
                              deploy::to_string(result.outcome));
    }
    return result;
}

CycleResult Reconciler::rollback(const config::Stack& stack, std::optional<std::int64_t> to) {
    const auto current = m_s.store.current(stack.name);
    std::optional<model::Deployment> target;
    if (to) {
        target = m_s.store.deployment(*to, false);
        if (!target || target->stack != stack.name) {
            return {
                Outcome::Failed, {}, fmt::format("no deployment {} of stack {}", *to, stack.name)};
        }
        if (!model::passed_gate(*target)) {
            return {Outcome::Failed,
                    {},
                    fmt::format("deployment {} is {}: only releases that passed the gate can be "
                                "restored",
                                *to, model::status_text(*target))};
        }
    } else {
        for (const auto& d : m_s.store.history(stack.name, 1000)) {
            if (d.status == model::Status::Superseded && model::passed_gate(d) &&
                (!current || d.release.key() != current->release.key())) {
                target = d;
                break;
            }
        }
        if (!target) {
            return {Outcome::Failed, {}, "no earlier succeeded release to roll back to"};
        }
    }
    model::Deployment d;
    d.stack = stack.name;
    d.release = target->release;
    d.trigger = model::Trigger::Rollback;
    d.reason = fmt::format("restore of deployment {}", target->id);
    return deploy(stack, std::move(d));
}

CycleResult Reconciler::pin(const config::Stack& stack, std::int64_t to) {
    const auto target = m_s.store.deployment(to, false);
    if (!target || target->stack != stack.name) {
        return {Outcome::Failed, {}, fmt::format("no deployment {} of stack {}", to, stack.name)};
    }
    if (!model::passed_gate(*target)) {
        return {Outcome::Failed,
                {},
                fmt::format("deployment {} is {}: only a release that passed the gate can be "
                            "pinned",
                            to, model::status_text(*target))};
    }
    const auto current = m_s.store.current(stack.name);
    CycleResult result;
    if (current && current->release == target->release) {
        // What runs already: hold it, nothing to deploy.
        result = {Outcome::Noop, current->id,
                  fmt::format("deployment {} runs {} already", current->id,
                              release_name(current->release))};
    } else {
        // Restore it through the gate as `rollback --to` does; held only once it is current.
        result = rollback(stack, to);
        if (result.outcome != Outcome::Succeeded) {
            result.message += result.message.empty() ? "" : "; ";
            result.message += "not pinned";
            return result;
        }
    }
    const auto state = m_s.store.stack_state(stack.name);
    m_s.store.set_control(stack.name, state.paused, result.deployment);
    const sys::LogScope scope(stack.name);
    spdlog::info("stack {}: pinned at deployment {}", stack.name, *result.deployment);
    result.message +=
        fmt::format("; stack pinned at deployment {} until `agentctl unpin`", *result.deployment);
    return result;
}

CycleResult Reconciler::approve(const config::Stack& stack, std::optional<std::int64_t> which) {
    auto waiting = m_s.store.latest(stack.name);
    if (auto refused =
            approval_refused(stack.name, m_s.store.stack_state(stack.name), waiting, which)) {
        return {Outcome::Failed, {}, refused->message};
    }
    model::Deployment d = std::move(*waiting);
    d.trigger = model::Trigger::Manual;
    d.reason.clear();
    event(d, "approval", "approved with `agentctl approve`");
    if (const auto now = m_s.clock.now(); stack.window && !stack.window->contains(now)) {
        event(d, model::k_waits_for_window,
              fmt::format("outside the deployment window {} (it opens {}): deployed now because "
                          "an admin asked (`agentctl approve`)",
                          stack.window->describe(),
                          stack.window->local_text(stack.window->next_open(now))));
    }
    const auto release = release_name(d.release);
    auto result = deploy(stack, std::move(d));
    if (result.outcome == Outcome::Succeeded) {
        result.message = fmt::format("{} approved and deployed", release);
    }
    return result;
}

void Reconciler::recover(const config::Stack& stack, std::string_view cause) {
    for (auto d : m_s.store.unfinished(stack.name)) {
        const sys::LogScope scope(stack.name, d.id);
        spdlog::info("stack {}: deployment {} was interrupted in {}; finishing it", stack.name,
                     d.id, d.phase);
        if (blue_green(stack)) {
            recover_slot(stack, d, cause);
            continue;
        }
        if (d.phase == "rollback" || d.phase == "on_rollback") {
            event(d, "recover", fmt::format("{} during the rollback; restoring again", cause));
            restore(stack, d);
            continue;
        }
        if (runs_hooks(d) && !stack.hooks.pre_deploy.empty() && !applied_yet(d)) {
            // Its pre-deploy hooks may not all have run: nothing was applied, so the release
            // is tried again, hooks first, by the next poll.
            event(d, "recover", fmt::format("{} during {}, before apply", cause, d.phase));
            finish(d, model::Status::Failed,
                   fmt::format("interrupted during {} (transient: retried)", d.phase));
            continue;
        }
        event(d, "recover", fmt::format("{} during {}; applying and gating again", cause, d.phase));
        if (auto pulled = pull(stack, d); !pulled) {
            finish(d, model::Status::Failed, pulled.error().message);
            continue;
        }
        // What ran before this deployment is what its files replace (again, if it got that far).
        const auto previous = d.previous ? m_s.store.deployment(*d.previous, false) : std::nullopt;
        const Applied applied =
            apply_gate_and_check(stack, d, previous ? &previous->release : nullptr);
        if (applied.healthy()) {
            promote(stack, d);
        } else if (applied.kind != Applied::Kind::Interrupted) {
            roll_back(stack, d, applied);
        }
    }
}

std::filesystem::path Reconciler::project_dir(const config::Stack& stack) const {
    if (stack.dir) {
        return *stack.dir;
    }
    return stack_dir(stack) / stack.git->path;
}

// --- the steps --------------------------------------------------------------------------

Known Reconciler::known(const config::Stack& stack, const Observation& observation) {
    Known k;
    k.current = m_s.store.current(stack.name);
    k.latest = m_s.store.latest(stack.name);
    const auto release = observation.release();
    k.bad = m_s.store.is_bad(stack.name, release.key());
    if (k.bad || observation.refused) {
        return k;
    }
    k.reads_as_current = k.current && reads_the_same(stack, k.current->release, release);
    k.reads_as_bad_latest = !k.reads_as_current && k.latest &&
                            m_s.store.is_bad(stack.name, k.latest->release.key()) &&
                            reads_the_same(stack, k.latest->release, release);
    return k;
}

sys::Result<Verdict> Reconciler::verify(const config::Stack& stack,
                                        const Observation& observation) {
    if (observation.refused) {
        return Verdict::reject(observation.refused->message);
    }
    auto git = verify_git(stack, observation);
    if (!git || !git->accepted) {
        return git;
    }
    if (auto hooks = verify_hooks(stack, observation); !hooks.accepted) {
        return hooks;
    }
    if (auto slots = verify_slots(stack, observation); !slots.accepted) {
        return slots;
    }
    auto images = verify_images(stack, observation);
    if (!images || !images->accepted) {
        return images;
    }
    git->verified.insert(git->verified.end(), images->verified.begin(), images->verified.end());
    return git;
}

sys::Result<Verdict> Reconciler::verify_git(const config::Stack& stack,
                                            const Observation& observation) {
    Verdict verdict = Verdict::accept();
    if (!stack.git || !stack.git->verify) {
        return verdict;
    }
    // git.verify: the tag and/or the commit observed carry a good signature by a trusted key.
    // A bad or missing signature is a verdict; a check that could not be made is a poll error.
    using Mode = config::GitVerify::Mode;
    const auto mode = stack.git->verify->mode;
    auto judge = [&](const sys::Result<trust::GitSignature>& signature,
                     const std::string& subject) -> std::optional<sys::Result<Verdict>> {
        if (!signature) {
            if (signature.error().kind == sys::Error::Kind::InvalidInput) {
                return Verdict::reject("signature: " + signature.error().message);
            }
            return signature.error();
        }
        verdict.verified.push_back(
            fmt::format("{}: signed by {} ({} key {})", subject, signature->signer,
                        trust::method_name(signature->method), signature->key));
        return std::nullopt;
    };
    if (mode == Mode::Tag || mode == Mode::TagAndHead) {
        if (observation.tag.empty()) {
            return Verdict::reject(
                "signature: git.verify wants a signed tag, and the release "
                "has no tag (git.tags is not set)");
        }
        const auto signature =
            m_s.git_verifier.verify_tag(*stack.git, observation.tag, observation.revision);
        if (auto end = judge(signature, "tag " + observation.tag)) {
            return std::move(*end);
        }
    }
    if (mode == Mode::Head || mode == Mode::TagAndHead) {
        const auto signature = m_s.git_verifier.verify_commit(*stack.git, observation.revision);
        if (auto end = judge(signature, "commit " + observation.revision.substr(0, 12))) {
            return std::move(*end);
        }
    }
    return verdict;
}

Verdict Reconciler::verify_hooks(const config::Stack& stack, const Observation& observation) {
    // A hook service must be one `up` leaves alone, or it would run with every deployment as
    // a long-lived service too: the compose idiom is a profile (`profiles: [hooks]`). A service
    // compose's config did not list (v2 leaves out those of profiles not enabled) is left to
    // `compose run`, which says when it does not exist.
    for (const auto* hooks :
         {&stack.hooks.pre_deploy, &stack.hooks.post_deploy, &stack.hooks.on_rollback}) {
        for (const auto& hook : *hooks) {
            for (const auto& service : observation.services) {
                if (service.name == hook.service && service.profiles.empty()) {
                    return Verdict::reject(fmt::format(
                        "hooks: service {} has no profile, so `compose up` would start it with "
                        "the other services; give it one (profiles: [hooks])",
                        hook.service));
                }
            }
        }
    }
    return Verdict::accept();
}

sys::Result<Verdict> Reconciler::verify_images(const config::Stack& stack,
                                               const Observation& observation) {
    // Every image whose policy asks for signatures, by the digest that will be pulled: what
    // runs is what was verified.
    Verdict verdict = Verdict::accept();
    for (const auto& [service, image] : observation.pins) {
        const config::ImageVerify* policy = stack.verify_for(service);
        if (policy == nullptr) {
            continue;
        }
        const auto ref = sources::ImageRef::parse(image);
        if (!ref || ref->digest.empty()) {
            return Verdict::reject(
                fmt::format("service {}: image {} has no digest to verify", service, image));
        }
        auto verified = m_s.verifier.verify(*ref, ref->digest, *policy);
        if (!verified) {
            if (verified.error().kind == sys::Error::Kind::InvalidInput) {
                return Verdict::reject(
                    fmt::format("service {}: {}", service, verified.error().message));
            }
            return sys::Error{verified.error().kind,
                              fmt::format("service {}: {}", service, verified.error().message)};
        }
        verdict.verified.push_back(fmt::format("service {}: {}", service, *verified));
    }
    return verdict;
}

CycleResult Reconciler::deploy(const config::Stack& stack, model::Deployment d,
                               const std::vector<Note>& notes) {
    const auto current = m_s.store.current(stack.name);
    d.previous = current ? std::optional(current->id) : std::nullopt;
    if (d.status == model::Status::Waiting) {
        d.reason.clear();  // what it waited for (its images, its turn) is over
    }
    d.status = model::Status::InProgress;
    d.started_at = m_s.clock.now();
    if (d.id == 0) {
        d.phase = "plan";
        d.id = create(d);
    } else {
        m_s.store.update_deployment(d);
    }
    // Every record from here to the verdict is about this deployment too.
    const sys::LogScope scope(stack.name, d.id);
    spdlog::info("stack {}: deployment {}: deploying {}", stack.name, d.id, describe(d.release));
    event(d, "plan",
          "deploying " + describe(d.release) +
              (current ? fmt::format(" (replacing deployment {})", current->id) : ""));
    for (const auto& note : notes) {
        event(d, note.phase, note.text);
    }
    // At most so many deployments at once on this host; the other stacks' polls go on.
    const auto room = make_room(d);
    if (!room) {
        return {Outcome::Interrupted, d.id,
                "stopped while waiting for its turn on this host; finished at the next start"};
    }
    // A blue-green stack whose idle slot still runs this release (a rollback inside
    // keep_old_for) only switches back: nothing to pull, no hook, no container started.
    if (blue_green(stack)) {
        if (auto back = switch_back(stack, d)) {
            return *back;
        }
    }
    // 4. pull every image by digest; nothing runs differently yet. A failed pull is transient:
    // the release is not marked bad and the next poll tries it again.
    if (auto pulled = pull(stack, d); !pulled) {
        spdlog::warn("stack {}: deployment {}: {}", stack.name, d.id, pulled.error().message);
        return finish(d, model::Status::Failed, pulled.error().message);
    }
    if (m_stop.load()) {
        return {Outcome::Interrupted, d.id, "stopped before apply; finished at the next start"};
    }
    // 5. pre-deploy hooks (a migration, a backup), on the release's own files in the preview
    // checkout: what runs is untouched, and a failure rejects the release.
    if (runs_hooks(d) && !stack.hooks.pre_deploy.empty()) {
        if (auto failed = pre_deploy(stack, d)) {
            m_s.store.mark_bad(stack.name, d.release.key(), *failed);
            spdlog::warn("stack {}: deployment {}: {}", stack.name, d.id, *failed);
            return finish(d, model::Status::Rejected, *failed);
        }
    }
    if (blue_green(stack)) {
        return deploy_slot(stack, d);
    }
    // 6-7. apply (check out, `compose up` with the digests pinned, building and recreating the
    // services whose build or bind-mounted inputs changed), gate, then post-deploy hooks.
    const auto running = running_release(stack, d.id);
    const Applied applied = apply_gate_and_check(stack, d, running ? &*running : nullptr);
    if (applied.kind == Applied::Kind::Interrupted) {
        return {Outcome::Interrupted, d.id, applied.why};
    }
    // 8. promote, or roll back to the last good release.
    if (applied.healthy()) {
        return promote(stack, d);
    }
    return roll_back(stack, d, applied);
}

std::optional<Reconciler::Room> Reconciler::make_room(model::Deployment& d) {
    DeployLimit* limit = m_s.deploy_limit;
    if (limit == nullptr || limit->try_acquire()) {
        return std::optional<Room>(std::in_place, limit);
    }
    event(
        d, "plan",
        fmt::format("waits for its turn on this host: {} other deployments run (the most at once)",
                    limit->most()));
    if (!limit->acquire()) {
        return std::nullopt;
    }
    return std::optional<Room>(std::in_place, limit);
}

sys::Result<void> Reconciler::pull(const config::Stack&, model::Deployment& d) {
    enter(d, "pull", fmt::format("{} image(s)", d.release.images.size()));
    for (const auto& [service, image] : d.release.images) {
        auto pulled = ensure_image(d, image);
        if (!pulled) {
            return sys::Error::failed(
                fmt::format("pull {} ({}): {}", image, service, pulled.error().message));
        }
        if (*pulled) {
            event(d, "pull", fmt::format("pulled {}", image));
        }
    }
    return {};
}

Applied Reconciler::apply_and_gate(const config::Stack& stack, model::Deployment& d,
                                   const model::Release& release, const model::Release* replaces,
                                   bool record_phases) {
    std::string note;
    const auto options = up_options(stack, replaces, release, note);
    if (record_phases) {
        enter(d, "apply", note.empty() ? "compose up" : "compose up; " + note);
    } else if (!note.empty()) {
        event(d, d.phase, note);
    }
    const auto target = apply(stack, release, options);
    if (!target) {
        const auto kind = target.error().kind == sys::Error::Kind::InvalidInput
                              ? Applied::Kind::Refused
                              : Applied::Kind::Failed;
        return {kind, "apply: " + target.error().message};
    }
    if (record_phases) {
        enter(d, "gate",
              fmt::format("waiting up to {} for {} stable",
                          sys::format_duration(stack.health.timeout),
                          sys::format_duration(stack.health.stable)));
    }
    return judged(gate(stack.health, d, *target));
}

Applied Reconciler::judged(const GateResult& result) {
    switch (result.verdict) {
        case GateResult::Verdict::Passed:
            return {Applied::Kind::Healthy, ""};
        case GateResult::Verdict::Interrupted:
            return {Applied::Kind::Interrupted, "interrupted during the gate"};
        case GateResult::Verdict::Inconclusive:  // the engine stopped or restarted: transient
            return {Applied::Kind::Failed, "gate: " + result.summary()};
        case GateResult::Verdict::Failed:
            break;
    }
    return {Applied::Kind::Unhealthy, "gate: " + result.summary()};
}

Applied Reconciler::apply_gate_and_check(const config::Stack& stack, model::Deployment& d,
                                         const model::Release* replaces) {
    Applied applied = apply_and_gate(stack, d, d.release, replaces, true);
    if (applied.healthy() && runs_hooks(d) && !stack.hooks.post_deploy.empty()) {
        // A failing smoke test is a verdict on the release, as a failed gate is.
        if (auto failed = run_hooks(stack, d, "post_deploy", stack.hooks.post_deploy,
                                    project_dir(stack), d.release)) {
            return {Applied::Kind::Unhealthy, *failed};
        }
    }
    return applied;
}

std::optional<std::string> Reconciler::pre_deploy(const config::Stack& stack,
                                                  model::Deployment& d) {
    auto dir = project_dir(stack);
    if (stack.git) {
        const auto preview = m_state_dir / "preview" / stack.name;
        if (auto checked = m_s.git.checkout(*stack.git, d.release.revision, preview); !checked) {
            return "pre_deploy: git checkout: " + checked.error().message;
        }
        dir = preview / stack.git->path;
    }
    return run_hooks(stack, d, "pre_deploy", stack.hooks.pre_deploy, dir, d.release,
                     blue_green(stack) ? model::next_slot(m_s.store.stack_state(stack.name).slots)
                                       : std::string());
}

std::optional<std::string> Reconciler::run_hooks(const config::Stack& stack, model::Deployment& d,
                                                 const std::string& phase,
                                                 const std::vector<config::Hook>& hooks,
                                                 const std::filesystem::path& dir,
                                                 const model::Release& release,
                                                 const std::string& slot) {
    auto project = this->project(stack, dir, release.revision, release.tag);
    if (!project) {
        return fmt::format("{}: {}", phase, project.error().message);
    }
    if (blue_green(stack)) {
        // A smoke test finds the slot's services as <service>-${AGENTD_SLOT}.
        project->env["AGENTD_SLOT"] = slot;
        // Beside the shared services (the database a migration changes), on their network.
        if (auto made = m_s.engine.ensure_network(slot_network(stack.project())); !made) {
            return fmt::format("{}: {}", phase, made.error().message);
        }
        project->name = shared_project(stack.project());
        project->network = slot_network(stack.project());
        project->override_file = meta_dir(stack) / "override-hooks.yaml";
    }
    const auto pins = runnable(release.images);
    for (const auto& hook : hooks) {
        enter(d, phase,
              fmt::format("running hook {} (timeout {})", hook.service,
                          sys::format_duration(hook.timeout)));
        auto ran = m_s.compose.run_once(*project, pins, hook.service, hook.timeout);
        if (!ran) {
            const auto why =
                fmt::format("{} hook {} failed: {}", phase, hook.service, ran.error().message);
            event(d, phase, why);
            remove_left_behind(stack, d, phase, hook.service);
            return why;
        }
        event(d, phase,
              fmt::format("hook {} succeeded{}{}", hook.service, ran->empty() ? "" : "; output:\n",
                          *ran));
    }
    return std::nullopt;
}

void Reconciler::remove_left_behind(const config::Stack& stack, model::Deployment& d,
                                    const std::string& phase, const std::string& service) {
    // A compose killed at the hook's timeout leaves its one-off container running.
    const auto containers = m_s.engine.project_containers(
        blue_green(stack) ? shared_project(stack.project()) : stack.project());
    if (!containers) {
        event(d, phase, "hook containers not checked: " + containers.error().message);
        return;
    }
    for (const auto& c : *containers) {
        if (c.one_off && c.service == service) {
            const auto removed = m_s.engine.remove_container(c.id);
            event(d, phase,
                  removed
                      ? fmt::format("removed hook container {}", c.name)
                      : fmt::format("hook container {} left: {}", c.name, removed.error().message));
        }
    }
}

bool Reconciler::runs_hooks(const model::Deployment& d) {
    // A restore (`agentctl rollback`, `pin`) or a heal (drift) brings back a release that ran
    // before: its migrations ran then, and a rollback never runs hooks of the release it leaves.
    return d.trigger != model::Trigger::Rollback && d.trigger != model::Trigger::Drift;
}

bool Reconciler::applied_yet(const model::Deployment& d) {
    return d.phase == "apply" || d.phase == "gate" || d.phase == "post_deploy";
}

sys::Result<GateTarget> Reconciler::apply(const config::Stack& stack, const model::Release& release,
                                          const runtime::UpOptions& options) {
    if (stack.git) {
        if (auto checked = m_s.git.checkout(*stack.git, release.revision, stack_dir(stack));
            !checked) {
            return sys::Error{checked.error().kind, "git checkout: " + checked.error().message};
        }
    }
    auto project = this->project(stack, project_dir(stack), release.revision, release.tag);
    if (!project) {
        return project.error();
    }
    const auto pins = runnable(release.images);
    if (auto up = m_s.compose.up(*project, pins, options); !up) {
        return sys::Error{up.error().kind, "compose up: " + up.error().message};
    }
    GateTarget target;
    target.project = stack.project();
    target.pins = pins;
    auto services = services_at(stack, release.revision, release.tag);
    if (services) {
        target.services = started_by_up(*services);
    } else {
        for (const auto& [service, image] : release.images) {
            target.services.push_back(service);
        }
    }
    return target;
}

GateResult Reconciler::gate(const config::Health& health, const model::Deployment& d,
                            const GateTarget& target) {
    HealthGate gate(m_s.engine, m_s.http, m_s.clock, m_stop);
    gate.on_sample([&](const GateSample& sample) { m_observer.gate_sample(d, sample); });
    const auto start = m_s.clock.now();
    auto result = gate.run(target, health);
    m_observer.gated(d.stack, result,
                     std::chrono::duration_cast<sys::Duration>(m_s.clock.now() - start));
    return result;
}

CycleResult Reconciler::promote(const config::Stack& stack, model::Deployment& d) {
    spdlog::info("stack {}: deployment {} succeeded", stack.name, d.id);
    d.phase = "promote";
    settle(d, model::Status::Succeeded, d.reason);  // a restore keeps "restore of N"
    const auto recorded = record_event(d);
    m_s.store.promote(
        d, recorded,
        {m_s.clock.now(), "promote", fmt::format("superseded by deployment {}", d.id)});
    m_observer.recorded(d, recorded);
    m_observer.finished(d);
    // What drift compares with from now on, then the images no kept release needs.
    remember_config_hashes(stack, d);
    retain(stack, d);
    return {Outcome::Succeeded, d.id, "deployed"};
}

CycleResult Reconciler::roll_back(const config::Stack& stack, model::Deployment& d,
                                  const Applied& failure) {
    spdlog::warn("stack {}: deployment {} failed: {}", stack.name, d.id, failure.why);
    // A heal (drift) re-applies the current release: it passed the gate before, so it is not
    // marked bad, and there is nothing earlier to restore.
    const bool reapplied = reapplies_previous(d);
    if (failure.verdict() && !reapplied) {
        m_s.store.mark_bad(stack.name, d.release.key(), failure.why);
    }
    // A transient failure is not a verdict: the release is tried again at the next poll.
    d.reason = failure.verdict() ? failure.why : failure.why + " (transient: retried)";
    if (reapplied) {
        event(d, d.phase, d.reason);
        return finish(
            d, model::Status::Failed,
            d.reason + " (it re-applied the current release: nothing earlier to restore)");
    }
    if (stack.on_failure == config::OnFailure::Stop) {
        event(d, d.phase, d.reason);
        return finish(d, model::Status::Failed, d.reason + " (on_failure: stop, left running)");
    }
    return restore(stack, d);
}

bool Reconciler::reapplies_previous(const model::Deployment& d) {
    const auto previous = d.previous ? m_s.store.deployment(*d.previous, false) : std::nullopt;
    return previous && previous->release == d.release;
}

CycleResult Reconciler::restore(const config::Stack& stack, model::Deployment& d) {
    const auto why = d.reason.empty() ? std::string("interrupted") : d.reason;
    const auto previous = d.previous ? m_s.store.deployment(*d.previous, false) : std::nullopt;
    if (!previous) {
        event(d, d.phase, why);
        return finish(d, model::Status::Failed, why + " (no earlier release to roll back to)");
    }
    enter(d, "rollback",
          fmt::format("{}; restoring deployment {} ({})", why, previous->id,
                      describe(previous->release)));
    for (const auto& [service, image] : previous->release.images) {
        (void)ensure_image(d, image);  // kept locally since it ran; compose up reports the rest
    }
    // The candidate's files are what the restored ones replace.
    const Applied restored = apply_and_gate(stack, d, previous->release, &d.release, false);
    switch (restored.kind) {
        case Applied::Kind::Healthy:
            break;
        case Applied::Kind::Interrupted:
            return {Outcome::Interrupted, d.id, "interrupted during rollback"};
        default:
            return finish(d, model::Status::Failed,
                          fmt::format("{}; rollback to deployment {} failed: {}", why, previous->id,
                                      restored.why));
    }
    event(d, "rollback", fmt::format("deployment {} restored and healthy", previous->id));
    spdlog::info("stack {}: deployment {} rolled back to {}", stack.name, d.id, previous->id);
    if (!stack.hooks.on_rollback.empty()) {
        // E.g. restore the backup a pre-deploy hook made, on the restored release's files.
        if (auto failed = run_hooks(stack, d, "on_rollback", stack.hooks.on_rollback,
                                    project_dir(stack), previous->release)) {
            return finish(d, model::Status::Failed,
                          fmt::format("{}; rolled back to deployment {}, but {}", why, previous->id,
                                      *failed));
        }
    }
    return finish(d, model::Status::RolledBack, why);
}

CycleResult Reconciler::reject(const config::Stack& stack, const model::Release& release,
                               const std::string& why, model::Trigger trigger) {
    model::Deployment d;
    d.stack = stack.name;
    d.release = release;
    d.trigger = trigger;
    d.status = model::Status::Rejected;
    d.started_at = m_s.clock.now();
    d.phase = "verify";
    const auto current = m_s.store.current(stack.name);
    d.previous = current ? std::optional(current->id) : std::nullopt;
    d.id = create(d);
    event(d, "verify", why);
    m_s.store.mark_bad(stack.name, release.key(), why);
    spdlog::warn("stack {}: rejected {}: {}", stack.name, release_name(release), why);
    return finish(d, model::Status::Rejected, why);
}

CycleResult Reconciler::wait(const config::Stack& stack, const Plan& p, model::Trigger trigger) {
    if (p.waiting) {
        // It waits on, maybe for something else now (its images arrived, the window closed).
        auto d = m_s.store.deployment(*p.waiting, false);
        if (d && (d->reason != p.reason || d->release != p.release)) {
            d->reason = p.reason;
            d->release = p.release;
            m_s.store.update_deployment(*d);
            event(*d, "plan", p.why);
            spdlog::info("stack {}: {}", stack.name, p.why);
        }
        return {Outcome::Waiting, p.waiting, p.why};
    }
    model::Deployment d;
    d.stack = stack.name;
    d.release = p.release;
    d.trigger = trigger;
    d.status = model::Status::Waiting;
    d.reason = p.reason;
    d.started_at = m_s.clock.now();
    d.phase = "plan";
    d.id = create(d);
    event(d, "plan", p.why);
    spdlog::info("stack {}: {}", stack.name, p.why);
    return {Outcome::Waiting, d.id, p.why};
}

CycleResult Reconciler::await_approval(const config::Stack& stack, model::Deployment d,
                                       const std::vector<Note>& notes) {
    const auto current = m_s.store.current(stack.name);
    d.previous = current ? std::optional(current->id) : std::nullopt;
    d.status = model::Status::Waiting;
    d.reason = model::k_waits_for_approval;
    d.started_at = m_s.clock.now();  // since when it waits for approval
    d.phase = "plan";
    if (d.id == 0) {
        d.id = create(d);
    } else {
        m_s.store.update_deployment(d);
    }
    const sys::LogScope scope(stack.name, d.id);
    event(d, "plan", describe(d.release) + ": approval is manual; pulled, then held for approval");
    for (const auto& note : notes) {
        event(d, note.phase, note.text);
    }
    // Pulled now, so that an approved release starts without waiting for the registry.
    if (auto pulled = pull(stack, d); !pulled) {
        spdlog::warn("stack {}: deployment {}: {}", stack.name, d.id, pulled.error().message);
        return finish(d, model::Status::Failed, pulled.error().message);
    }
    const auto why = fmt::format("{} waits for approval (`agentctl approve {} {}`)",
                                 release_name(d.release), stack.name, d.id);
    enter(d, "approval", why);
    spdlog::info("stack {}: {}", stack.name, why);
    return {Outcome::Waiting, d.id, why};
}

CycleResult Reconciler::give_up(const config::Stack& stack, const Plan& p) {
    auto waiting = m_s.store.deployment(*p.waiting, false);
    m_s.store.mark_bad(stack.name, p.release.key(), p.why);
    spdlog::warn("stack {}: {}: {}", stack.name, release_name(p.release), p.why);
    if (!waiting) {
        return {Outcome::Rejected, p.waiting, p.why};
    }
    return finish(*waiting, model::Status::Rejected, p.why);
}

std::int64_t Reconciler::create(const model::Deployment& d) {
    const auto id = m_s.store.create_deployment(d);
    // A stack has at most one waiting deployment, its newest: a release that waited (for its
    // images or for approval) and was overtaken by a newer deployment will not be deployed.
    constexpr int k_looked_at = 20;
    for (auto older : m_s.store.history(d.stack, k_looked_at)) {
        if (older.id < id && older.status == model::Status::Waiting) {
            settle(older, model::Status::Superseded,
                   fmt::format("superseded by deployment {} before it was deployed", id));
            const auto recorded = record_event(older);
            m_s.store.record(older, recorded);
            m_observer.recorded(older, recorded);
        }
    }
    return id;
}

void Reconciler::settle(model::Deployment& d, model::Status status, const std::string& reason) {
    d.status = status;
    d.reason = reason;
    d.finished_at = m_s.clock.now();
}

model::Event Reconciler::record_event(const model::Deployment& d) const {
    return {m_s.clock.now(), "record",
            model::to_string(d.status) + (d.reason.empty() ? "" : ": " + d.reason)};
}

CycleResult Reconciler::finish(model::Deployment& d, model::Status status,
                               const std::string& reason) {
    settle(d, status, reason);
    const auto recorded = record_event(d);
    m_s.store.record(d, recorded);
    m_observer.recorded(d, recorded);
    m_observer.finished(d);
    switch (status) {
        case model::Status::Succeeded:
            return {Outcome::Succeeded, d.id, "deployed"};
        case model::Status::RolledBack:
            return {Outcome::RolledBack, d.id, reason};
        case model::Status::Rejected:
            return {Outcome::Rejected, d.id, reason};
        default:
            return {Outcome::Failed, d.id, reason};
    }
}

// --- helpers ------------------------------------------------------------------------------

/// The services of the stack at `revision`, from compose's own `config` output. Cached on disk
/// per (revision, environment) so that a poll that finds nothing new starts no process.
sys::Result<std::vector<runtime::ComposeService>> Reconciler::services_at(
    const config::Stack& stack, const std::string& revision, const std::string& tag) {
    const auto preview = m_state_dir / "preview" / stack.name;
    const auto dir = stack.git ? preview / stack.git->path : *stack.dir;
    // The key says nothing of the env files' values (secrets): the revision fixes the
    // repository's, a digest of the stored bytes the host's.
    const auto key = services_key(stack, dir, revision, tag);
    ServicesCache cache(meta_dir(stack) / "services.json");
    if (auto known = cache.find(key)) {
        return *known;
    }
    if (stack.git) {
        if (auto checked = m_s.git.checkout(*stack.git, revision, preview); !checked) {
            return checked.error().is_not_found() ? sys::Error::invalid(checked.error().message)
                                                  : checked.error();
        }
    }
    // The env files are read from the revision's checkout (their problems are a verdict on it:
    // remembered like compose's, with a message that names the file, never a value).
    auto project = this->project(stack, dir, revision, tag);
    if (!project) {
        cache.remember(key, project.error());
        return project.error();
    }
    auto services = m_s.compose.services(*project);
    cache.remember(key, services);
    if (services && stack.git) {
        cache.remember_inputs(key, collect_preview_inputs(stack, *project, *services));
    }
    return services;
}

std::string Reconciler::services_key(const config::Stack& stack, const std::filesystem::path& dir,
                                     const std::string& revision, const std::string& tag) const {
    std::string key_text = revision + "\n" + tag + "\n";
    key_text += env_files_fingerprint(stack, dir);
    for (const auto& file : stack.compose_files) {
        key_text += file + "\n";
    }
    if (!stack.git) {
        key_text += directory_fingerprint(dir);  // files on the host have no revision
    }
    return sys::sha256_hex(key_text);
}

sys::Result<runtime::ComposeProject> Reconciler::project(const config::Stack& stack,
                                                         const std::filesystem::path& dir,
                                                         const std::string& revision,
                                                         const std::string& tag) {
    runtime::ComposeProject p;
    p.name = stack.project();
    p.dir = dir;
    p.files = stack.compose_files;
    p.override_file = meta_dir(stack) / "override.yaml";
    auto values = read_env_files(stack, dir);
    if (!values) {
        return values.error();
    }
    p.env = std::move(*values);
    p.env["AGENTD_COMMIT"] = revision;
    p.env["AGENTD_TAG"] = tag;
    p.env["AGENTD_VERSION"] = !tag.empty() && tag[0] == 'v' ? tag.substr(1) : tag;
    return p;
}

sys::Result<bool> Reconciler::ensure_image(const model::Deployment& d, const std::string& image) {
    const auto reference = runnable(image);
    if (const auto present = m_s.engine.has_image(reference); present && *present) {
        return false;
    }
    const auto ref = sources::ImageRef::parse(reference);
    const auto credentials = ref && m_s.credentials ? m_s.credentials(ref->registry) : std::nullopt;
    const auto progress = [&](const runtime::PullProgress& pull) { m_observer.pulling(d, pull); };
    if (auto pulled = m_s.engine.pull(reference, credentials, progress); !pulled) {
        return pulled.error();
    }
    m_s.store.remember_pull(d.stack, reference);  // image retention may remove it later
    return true;
}

void Reconciler::record_poll(const config::Stack& stack, const PollRecord& poll) {
    model::LastPoll last;
    last.revision = poll.revision;
    last.drift = poll.drift;
    last.at = m_s.clock.now();
    last.result = poll.error.empty() ? "ok" : "error";
    last.error = poll.error;
    m_s.store.record_poll(stack.name, last, poll.candidate);
}

void Reconciler::event(model::Deployment& d, const std::string& phase, const std::string& message) {
    const model::Event e{m_s.clock.now(), phase, message};
    m_s.store.add_event(d.id, e);
    m_observer.recorded(d, e);
}

void Reconciler::enter(model::Deployment& d, const std::string& phase, const std::string& message) {
    d.phase = phase;
    const model::Event e{m_s.clock.now(), phase, message};
    m_s.store.record(d, e);
    m_observer.recorded(d, e);
}

std::filesystem::path Reconciler::stack_dir(const config::Stack& stack) const {
    return m_state_dir / "stacks" / stack.name;
}

std::filesystem::path Reconciler::meta_dir(const config::Stack& stack) const {
    return m_state_dir / "meta" / stack.name;
}

}  // namespace agentd::deploy
