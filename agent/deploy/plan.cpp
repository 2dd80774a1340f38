// Step 2 of the pipeline, plan: a pure decision over what observe found and what the store
// knows. No I/O: the reconciler reads the store before and acts after.

#include <fmt/format.h>

#include "agent/deploy/reconciler_steps.h"
#include "agent/deploy/release_text.h"

namespace agentd::deploy {

model::Release Observation::release() const {
    model::Release r;
    r.revision = revision;
    r.tag = tag;
    r.images = pins;
    return r;
}

Plan plan(const config::Stack& stack, const Observation& o, const Known& known,
          sys::TimePoint now) {
    Plan p;
    p.release = o.release();
    if (known.bad) {
        p.why = o.refused ? fmt::format("{} was rejected: {}", release_name(p.release),
                                        o.refused->message)
                          : marked_bad(p.release);
        return p;
    }
    if (o.refused) {
        p.kind = Plan::Kind::Deploy;  // verify rejects it, and it is remembered as bad
        return p;
    }
    if (known.current && known.current->release == p.release) {
        return p;  // this is what runs
    }
    // A commit that changes nothing this stack reads is not a new release for it: the stack
    // stays on what runs (or on the bad release it equals) and records the revision as seen.
    if (known.current && known.reads_as_current) {
        p.note = fmt::format("{} changes nothing this stack reads; staying on {}",
                             short_rev(o.revision), release_name(known.current->release));
        return p;
    }
    if (known.latest && known.reads_as_bad_latest) {
        p.why = fmt::format(
            "release {} is marked bad and {} changes nothing this stack reads; "
            "waiting for a new one",
            describe(known.latest->release), short_rev(o.revision));
        return p;
    }
    const auto& latest = known.latest;
    if (latest && latest->status == model::Status::Waiting &&
        latest->release.revision == p.release.revision) {
        p.waiting = latest->id;
    }
    const bool manual = stack.approval == config::Approval::Manual;
    if (manual && latest && model::waits_for_approval(*latest) && latest->release == p.release) {
        // Verified and pulled already: it goes on waiting until `agentctl approve`.
        p.kind = Plan::Kind::Wait;
        p.reason = model::k_waits_for_approval;
        p.waiting = latest->id;
        p.why = fmt::format("{} waits for approval (`agentctl approve {} {}`)",
                            release_name(p.release), stack.name, latest->id);
        return p;
    }
    if (!o.missing.empty()) {
        p.missing = fmt::format("{}", fmt::join(o.missing, "; "));
        if (p.waiting && now - latest->started_at >= stack.image_wait) {
            p.kind = Plan::Kind::GiveUp;
            p.why = fmt::format("images still missing after {}: {}",
                                sys::format_duration(stack.image_wait), p.missing);
            return p;
        }
        p.kind = Plan::Kind::Wait;
        p.reason = model::k_waits_for_images;
        // Recorded as the stack's candidate: says which release waits for which image tags.
        p.why = fmt::format("{} waits for images: {}", release_name(p.release), p.missing);
        return p;
    }
    p.kind = Plan::Kind::Deploy;
    p.approval = manual;
    return p;
}

Plan schedule(const config::Stack& stack, Plan p, const Known& known,
              std::optional<sys::TimePoint> released_at, sys::TimePoint now) {
    if (p.kind != Plan::Kind::Deploy || p.approval) {
        return p;
    }
    const auto in = [&](sys::TimePoint then) {
        return sys::format_duration(std::chrono::ceil<std::chrono::seconds>(then - now));
    };
    if (stack.min_age > sys::Duration::zero()) {
        const bool seen_before = p.waiting && known.latest && known.latest->id == *p.waiting;
        const auto born = released_at.value_or(seen_before ? known.latest->started_at : now);
        if (const auto old_enough = born + stack.min_age; now < old_enough) {
            p.kind = Plan::Kind::Wait;
            p.reason = model::k_waits_for_min_age;
            p.why = fmt::format("{} waits until it is {} old (in {}{})", release_name(p.release),
                                sys::format_duration(stack.min_age), in(old_enough),
                                released_at ? "" : "; its age counts from when it was first seen");
            return p;
        }
    }
    if (stack.window && !stack.window->contains(now)) {
        p.kind = Plan::Kind::Wait;
        p.reason = model::k_waits_for_window;
        const auto opens = stack.window->next_open(now);
        p.why = fmt::format("{} waits for the deployment window {} (opens in {}, {})",
                            release_name(p.release), stack.window->describe(), in(opens),
                            stack.window->local_text(opens));
    }
    return p;
}

Plan hold(Plan p, std::int64_t pinned) {
    if (p.kind == Plan::Kind::Noop) {
        return p;
    }
    const std::string what = p.kind == Plan::Kind::Deploy ? describe(p.release) + " is new" : p.why;
    p.why = fmt::format("{}; not deployed: stack pinned at deployment {} (`agentctl unpin`)", what,
                        pinned);
    p.kind = Plan::Kind::Noop;
    p.waiting.reset();
    return p;
}

}  // namespace agentd::deploy
