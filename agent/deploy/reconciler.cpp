#include "agent/deploy/reconciler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/deploy/services_cache.h"
#include "agent/sources/image_ref.h"
#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

std::string short_rev(const std::string& revision) {
    return revision.empty() ? "(dir)" : revision.substr(0, 12);
}

std::string describe(const model::Release& release) {
    std::string out = release.tag.empty() ? short_rev(release.revision) : release.tag;
    for (const auto& [service, image] : release.images) {
        const auto at = image.find("@sha256:");
        out += fmt::format(" {}={}", service,
                           at == std::string::npos ? image : image.substr(at + 1, 19));
    }
    return out;
}

/// The release as a person names it: its git tag, else its short revision.
std::string release_name(const model::Release& release) {
    if (!release.tag.empty()) {
        return release.tag;
    }
    return release.revision.empty() ? "the release" : short_rev(release.revision);
}

std::vector<std::string> service_names(const std::vector<runtime::ComposeService>& services) {
    std::vector<std::string> names;
    for (const auto& s : services) {
        names.push_back(s.name);
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
    : m_s(std::move(services)), m_state_dir(std::move(state_dir)), m_stop(stop) {}

// One cycle, as SPEC section 1 tells it.
CycleResult Reconciler::reconcile(const config::Stack& stack, model::Trigger trigger) {
    const auto state = m_s.store.stack_state(stack.name);
    if (state.paused || state.pinned) {
        return {Outcome::Paused, {}, state.pinned ? "pinned" : "paused"};
    }
    // 1. observe: the branch head, its services, a digest for every image.
    const Observation observation = observe(stack);
    if (!observation.error.empty()) {
        record_poll(stack, observation.error, state.candidate);
        return {Outcome::PollError, {}, observation.error};
    }
    // 2. plan: what should run, and whether that is already the case.
    const Plan next = plan(stack, observation);
    switch (next.kind) {
        case Plan::Kind::Noop:
            record_poll(stack, "", next.why, observation.revision);
            return {Outcome::Noop,
                    {},
                    !next.why.empty()    ? next.why
                    : !next.note.empty() ? next.note
                                         : "up to date"};
        case Plan::Kind::Wait:
            record_poll(stack, "", next.why, observation.revision);
            return wait(stack, next, trigger);
        case Plan::Kind::Reject:
            // 3. verify failed: compose refused the files; running containers stay untouched.
            record_poll(stack, "", "", observation.revision);
            return reject(stack, next.release, next.why, trigger);
        case Plan::Kind::Deploy:
            record_poll(stack, "", "", observation.revision);
            break;
    }
    // 4-8. pull, apply, gate, promote or roll back; every transition recorded first.
    model::Deployment d;
    if (const auto latest = m_s.store.latest(stack.name);
        latest && latest->status == model::Status::Waiting &&
        latest->release.revision == next.release.revision) {
        d = *latest;  // the release that waited for its images now has them all
    }
    d.stack = stack.name;
    d.release = next.release;
    d.trigger = trigger;
    return deploy(stack, std::move(d));
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
        if (target->status != model::Status::Succeeded &&
            target->status != model::Status::Superseded) {
            return {Outcome::Failed,
                    {},
                    fmt::format("deployment {} is {}: only releases that passed the gate can be "
                                "restored",
                                *to, model::to_string(target->status))};
        }
    } else {
        for (const auto& d : m_s.store.history(stack.name, 1000)) {
            if (d.status == model::Status::Superseded &&
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

void Reconciler::recover(const config::Stack& stack) {
    for (auto d : m_s.store.unfinished(stack.name)) {
        spdlog::info("stack {}: deployment {} was interrupted in {}; finishing it", stack.name,
                     d.id, d.phase);
        if (d.phase == "rollback") {
            roll_back(stack, d, d.reason.empty() ? "interrupted during rollback" : d.reason);
            continue;
        }
        event(d, "recover",
              fmt::format("agentd restarted during {}; applying and gating again", d.phase));
        // What ran before this deployment is what its files replace (again, if it got that far).
        const auto previous = d.previous ? m_s.store.deployment(*d.previous, false) : std::nullopt;
        std::string note;
        const auto options =
            up_options(stack, previous ? &previous->release : nullptr, d.release, note);
        if (!note.empty()) {
            event(d, "apply", note);
        }
        const auto target = apply(stack, d.release, options);
        if (!target) {
            roll_back(stack, d, "apply: " + target.error().message);
            continue;
        }
        const auto result = gate(stack, *target);
        if (result.passed()) {
            promote(stack, d);
        } else if (result.verdict == GateResult::Verdict::Failed) {
            roll_back(stack, d, "gate: " + result.summary());
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

Plan Reconciler::plan(const config::Stack& stack, const Observation& o) {
    Plan p;
    p.release.revision = o.revision;
    p.release.tag = o.tag;
    p.release.images = o.pins;
    if (!o.compose_error.empty()) {
        p.kind =
            m_s.store.is_bad(stack.name, p.release.key()) ? Plan::Kind::Noop : Plan::Kind::Reject;
        p.why = p.kind == Plan::Kind::Noop ? fmt::format("revision {} was rejected: {}",
                                                         short_rev(o.revision), o.compose_error)
                                           : "compose: " + o.compose_error;
        return p;
    }
    if (const auto current = m_s.store.current(stack.name);
        current && current->release == p.release) {
        return p;  // Noop: this is what runs
    }
    if (m_s.store.is_bad(stack.name, p.release.key())) {
        p.why = fmt::format("release {} is marked bad; waiting for a new one", describe(p.release));
        return p;
    }
    // A commit that changes nothing this stack reads is not a new release for it: the stack
    // stays on what runs (or on the bad release it equals) and records the revision as seen.
    if (const auto current = m_s.store.current(stack.name);
        current && reads_the_same(stack, current->release, p.release)) {
        p.note = fmt::format("{} changes nothing this stack reads; staying on {}",
                             short_rev(o.revision), release_name(current->release));
        return p;
    }
    if (const auto latest = m_s.store.latest(stack.name);
        latest && m_s.store.is_bad(stack.name, latest->release.key()) &&
        reads_the_same(stack, latest->release, p.release)) {
        p.why = fmt::format(
            "release {} is marked bad and {} changes nothing this stack reads; "
            "waiting for a new one",
            describe(latest->release), short_rev(o.revision));
        return p;
    }
    if (!o.missing.empty()) {
        p.kind = Plan::Kind::Wait;
        p.missing = fmt::format("{}", fmt::join(o.missing, "; "));
        // Recorded as the stack's candidate: says which release waits for which image tags.
        p.why = fmt::format("{} waits for images: {}", release_name(p.release), p.missing);
        return p;
    }
    p.kind = Plan::Kind::Deploy;
    return p;
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
    d.previous = [&]() -> std::optional<std::int64_t> {
        const auto current = m_s.store.current(stack.name);
        return current ? std::optional(current->id) : std::nullopt;
    }();
    d.id = m_s.store.create_deployment(d);
    event(d, "verify", why);
    m_s.store.mark_bad(stack.name, release.key(), why);
    spdlog::warn("stack {}: rejected {}: {}", stack.name, short_rev(release.revision), why);
    return finish(d, model::Status::Rejected, why);
}

CycleResult Reconciler::wait(const config::Stack& stack, const Plan& p, model::Trigger trigger) {
    auto latest = m_s.store.latest(stack.name);
    if (latest && latest->status == model::Status::Waiting &&
        latest->release.revision == p.release.revision) {
        if (m_s.clock.now() - latest->started_at < stack.image_wait) {
            return {Outcome::Waiting, latest->id, p.why};
        }
        const auto why = fmt::format("images still missing after {}: {}",
                                     sys::format_duration(stack.image_wait), p.missing);
        m_s.store.mark_bad(stack.name, p.release.key(), why);
        auto result = finish(*latest, model::Status::Rejected, why);
        result.outcome = Outcome::Rejected;
        return result;
    }
    model::Deployment d;
    d.stack = stack.name;
    d.release = p.release;
    d.trigger = trigger;
    d.status = model::Status::Waiting;
    d.started_at = m_s.clock.now();
    d.phase = "plan";
    d.id = m_s.store.create_deployment(d);
    event(d, "plan", p.why);
    spdlog::info("stack {}: {}", stack.name, p.why);
    return {Outcome::Waiting, d.id, p.why};
}

CycleResult Reconciler::deploy(const config::Stack& stack, model::Deployment d) {
    const auto current = m_s.store.current(stack.name);
    d.previous = current ? std::optional(current->id) : std::nullopt;
    d.status = model::Status::InProgress;
    d.started_at = m_s.clock.now();
    if (d.id == 0) {
        d.phase = "plan";
        d.id = m_s.store.create_deployment(d);
    } else {
        m_s.store.update_deployment(d);
    }
    spdlog::info("stack {}: deployment {}: deploying {}", stack.name, d.id, describe(d.release));
    event(d, "plan",
          "deploying " + describe(d.release) +
              (current ? fmt::format(" (replacing deployment {})", current->id) : ""));
    // 4. pull every image by digest; nothing runs differently yet.
    if (!pull(stack, d)) {
        return {Outcome::Failed, d.id, d.reason};
    }
    if (m_stop.load()) {
        return {Outcome::Interrupted, d.id, "stopped before apply; finished at the next start"};
    }
    // 6. apply: check out the revision and `compose up` with the digests pinned, building and
    // recreating the services whose build or bind-mounted inputs changed.
    std::string note;
    const auto running = running_release(stack, d.id);
    const auto options = up_options(stack, running ? &*running : nullptr, d.release, note);
    enter(d, "apply", note.empty() ? "compose up" : "compose up; " + note);
    const auto target = apply(stack, d.release, options);
    if (!target) {
        return roll_back(stack, d, "apply: " + target.error().message);
    }
    // 7. gate
    enter(d, "gate",
          fmt::format("waiting up to {} for {} stable", sys::format_duration(stack.health.timeout),
                      sys::format_duration(stack.health.stable)));
    const auto result = gate(stack, *target);
    if (result.verdict == GateResult::Verdict::Interrupted) {
        return {Outcome::Interrupted, d.id, "interrupted during the gate"};
    }
    // 8. promote, or roll back to the last good release.
    if (result.passed()) {
        return promote(stack, d);
    }
    return roll_back(stack, d, "gate: " + result.summary());
}

bool Reconciler::pull(const config::Stack& stack, model::Deployment& d) {
    enter(d, "pull", fmt::format("{} image(s)", d.release.images.size()));
    for (const auto& [service, image] : d.release.images) {
        auto pulled = ensure_image(image);
        if (!pulled) {
            const auto why =
                fmt::format("pull {} ({}): {}", image, service, pulled.error().message);
            spdlog::warn("stack {}: deployment {}: {}", stack.name, d.id, why);
            finish(d, model::Status::Failed, why);
            return false;
        }
        if (*pulled) {
            event(d, "pull", fmt::format("pulled {}", image));
        }
    }
    return true;
}

sys::Result<GateTarget> Reconciler::apply(const config::Stack& stack, const model::Release& release,
                                          const runtime::UpOptions& options) {
    if (stack.git) {
        if (auto checked = m_s.git.checkout(*stack.git, release.revision, stack_dir(stack));
            !checked) {
            return sys::Error::failed("git checkout: " + checked.error().message);
        }
    }
    auto project = this->project(stack, project_dir(stack), release.revision, release.tag);
    if (!project) {
        return project.error();
    }
    const auto pins = runnable(release.images);
    if (auto up = m_s.compose.up(*project, pins, options); !up) {
        return sys::Error::failed("compose up: " + up.error().message);
    }
    GateTarget target;
    target.project = stack.name;
    target.pins = pins;
    auto services = services_at(stack, release.revision, release.tag);
    if (services) {
        target.services = service_names(*services);
    } else {
        for (const auto& [service, image] : release.images) {
            target.services.push_back(service);
        }
    }
    return target;
}

GateResult Reconciler::gate(const config::Stack& stack, const GateTarget& target) {
    HealthGate gate(m_s.engine, m_s.http, m_s.clock, m_stop);
    return gate.run(target, stack.health);
}

CycleResult Reconciler::promote(const config::Stack& stack, model::Deployment& d) {
    if (d.previous) {
        if (auto previous = m_s.store.deployment(*d.previous, false);
            previous && previous->status == model::Status::Succeeded) {
            previous->status = model::Status::Superseded;
            m_s.store.update_deployment(*previous);
            model::Event e{m_s.clock.now(), "promote",
                           fmt::format("superseded by deployment {}", d.id)};
            m_s.store.add_event(previous->id, e);
        }
    }
    spdlog::info("stack {}: deployment {} succeeded", stack.name, d.id);
    d.phase = "promote";
    return finish(d, model::Status::Succeeded, d.reason);  // a restore keeps "restore of N"
}

CycleResult Reconciler::roll_back(const config::Stack& stack, model::Deployment& d,
                                  const std::string& why) {
    spdlog::warn("stack {}: deployment {} failed: {}", stack.name, d.id, why);
    m_s.store.mark_bad(stack.name, d.release.key(), why);
    d.reason = why;
    if (stack.on_failure == config::OnFailure::Stop) {
        event(d, "gate", why);
        return finish(d, model::Status::Failed, why + " (on_failure: stop, left running)");
    }
    const auto previous = d.previous ? m_s.store.deployment(*d.previous, false) : std::nullopt;
    if (!previous) {
        event(d, "gate", why);
        return finish(d, model::Status::Failed, why + " (no earlier release to roll back to)");
    }
    enter(d, "rollback",
          fmt::format("{}; restoring deployment {} ({})", why, previous->id,
                      describe(previous->release)));
    for (const auto& [service, image] : previous->release.images) {
        (void)ensure_image(image);  // kept locally since it ran; compose up reports the rest
    }
    // The candidate's files are what the restored ones replace.
    std::string note;
    const auto options = up_options(stack, &d.release, previous->release, note);
    if (!note.empty()) {
        event(d, "rollback", note);
    }
    const auto target = apply(stack, previous->release, options);
    if (!target) {
        return finish(d, model::Status::Failed,
                      fmt::format("{}; rollback to deployment {} failed: {}", why, previous->id,
                                  target.error().message));
    }
    const auto result = gate(stack, *target);
    if (result.verdict == GateResult::Verdict::Interrupted) {
        return {Outcome::Interrupted, d.id, "interrupted during rollback"};
    }
    if (!result.passed()) {
        return finish(d, model::Status::Failed,
                      fmt::format("{}; rollback to deployment {} did not pass the gate: {}", why,
                                  previous->id, result.summary()));
    }
    event(d, "rollback", fmt::format("deployment {} restored and healthy", previous->id));
    spdlog::info("stack {}: deployment {} rolled back to {}", stack.name, d.id, previous->id);
    return finish(d, model::Status::RolledBack, why);
}

CycleResult Reconciler::finish(model::Deployment& d, model::Status status,
                               const std::string& reason) {
    d.status = status;
    d.reason = reason;
    d.finished_at = m_s.clock.now();
    m_s.store.update_deployment(d);
    event(d, "record", model::to_string(status) + (reason.empty() ? "" : ": " + reason));
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
    auto project = this->project(stack, dir, revision, tag);
    if (!project) {
        return project.error();
    }
    const auto key = services_key(stack, *project, revision, tag);
    ServicesCache cache(stack_dir(stack) / ".agentd" / "services.json");
    if (auto known = cache.find(key)) {
        return *known;
    }
    if (stack.git) {
        if (auto checked = m_s.git.checkout(*stack.git, revision, preview); !checked) {
            return checked.error().is_not_found() ? sys::Error::invalid(checked.error().message)
                                                  : checked.error();
        }
    }
    auto services = m_s.compose.services(*project);
    cache.remember(key, services);
    if (services && stack.git) {
        cache.remember_inputs(key, collect_preview_inputs(stack, *project, *services));
    }
    return services;
}

std::string Reconciler::services_key(const config::Stack& stack,
                                     const runtime::ComposeProject& project,
                                     const std::string& revision, const std::string& tag) const {
    std::string key_text = revision + "\n" + tag + "\n";
    for (const auto& [name, value] : project.env) {
        key_text += name + "=" + value + "\n";
    }
    for (const auto& file : project.files) {
        key_text += file + "\n";
    }
    if (!stack.git) {
        key_text += directory_fingerprint(project.dir);  // files on the host have no revision
    }
    return sys::sha256_hex(key_text);
}

sys::Result<runtime::ComposeProject> Reconciler::project(const config::Stack& stack,
                                                         const std::filesystem::path& dir,
                                                         const std::string& revision,
                                                         const std::string& tag) {
    runtime::ComposeProject p;
    p.name = stack.name;
    p.dir = dir;
    p.files = stack.compose_files;
    p.override_file = stack_dir(stack) / ".agentd" / "override.yaml";
    if (stack.env_file) {
        auto text = sys::read_file(*stack.env_file);
        if (!text) {
            return sys::Error::failed("env_file " + stack.env_file->string() + ": " +
                                      text.error().message);
        }
        auto values = sys::parse_env_file(*text);
        if (!values) {
            return sys::Error::failed("env_file " + stack.env_file->string() + ": " +
                                      values.error().message);
        }
        for (auto& [name, value] : *values) {
            p.env[name] = value;
        }
    }
    p.env["AGENTD_COMMIT"] = revision;
    p.env["AGENTD_TAG"] = tag;
    p.env["AGENTD_VERSION"] = !tag.empty() && tag[0] == 'v' ? tag.substr(1) : tag;
    return p;
}

sys::Result<bool> Reconciler::ensure_image(const std::string& image) {
    const auto reference = runnable(image);
    if (const auto present = m_s.engine.has_image(reference); present && *present) {
        return false;
    }
    const auto ref = sources::ImageRef::parse(reference);
    const auto credentials = ref && m_s.credentials ? m_s.credentials(ref->registry) : std::nullopt;
    if (auto pulled = m_s.engine.pull(reference, credentials); !pulled) {
        return pulled.error();
    }
    return true;
}

void Reconciler::record_poll(const config::Stack& stack, const std::string& error,
                             const std::string& candidate, const std::string& revision) {
    model::LastPoll poll;
    poll.revision = revision;
    poll.at = m_s.clock.now();
    poll.result = error.empty() ? "ok" : "error";
    poll.error = error;
    m_s.store.record_poll(stack.name, poll, candidate);
}

void Reconciler::event(model::Deployment& d, const std::string& phase, const std::string& message) {
    m_s.store.add_event(d.id, {m_s.clock.now(), phase, message});
}

void Reconciler::enter(model::Deployment& d, const std::string& phase, const std::string& message) {
    d.phase = phase;
    m_s.store.update_deployment(d);
    event(d, phase, message);
}

std::filesystem::path Reconciler::stack_dir(const config::Stack& stack) const {
    return m_state_dir / "stacks" / stack.name;
}

}  // namespace agentd::deploy
