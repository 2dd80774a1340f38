// Step 1 of the pipeline, observe: which revision and which image digests the stack should run
// now. Only reads: git fetches, registry requests, and compose's `config` on a new revision.

#include <algorithm>

#include <fmt/format.h>

#include "agent/deploy/reconciler.h"
#include "agent/policy/tag_policy.h"
#include "agent/sources/image_ref.h"

namespace agentd::deploy {
namespace {

/// The policy a validated configuration describes (config/ compiled it once already).
sys::Result<policy::TagPolicy> to_policy(const config::TagPolicySpec& spec) {
    if (!spec.semver.empty()) {
        return policy::TagPolicy::semver(spec.semver);
    }
    auto order = policy::parse_regex_order(spec.order);
    if (!order) {
        return order.error();
    }
    return policy::TagPolicy::regex(spec.regex, *order);
}

/// The tag `image` ("name:tag@sha256:...") was recorded with, if any.
std::optional<std::string> tag_of(const std::string& image) {
    const auto ref = sources::ImageRef::parse(image);
    if (!ref || ref->tag.empty()) {
        return std::nullopt;
    }
    return ref->tag;
}

}  // namespace

Observation Reconciler::observe(const config::Stack& stack) {
    Observation o;
    const auto current = m_s.store.current(stack.name);
    if (stack.git && !observe_revision(stack, current, o)) {
        return o;
    }
    auto services = services_at(stack, o.revision, o.tag);
    if (!services) {
        if (services.error().kind == sys::Error::Kind::InvalidInput) {
            o.compose_error = services.error().message;
        } else {
            o.error = services.error().message;
        }
        return o;
    }
    o.services = std::move(*services);
    for (const auto& [service, spec] : stack.images) {
        const bool known =
            std::any_of(o.services.begin(), o.services.end(),
                        [&service = service](const auto& s) { return s.name == service; });
        if (!known) {
            o.error = fmt::format("images.{}: the compose files have no service \"{}\"", service,
                                  service);
            return o;
        }
    }
    for (const auto& service : o.services) {
        if (service.image.empty() || service.build) {
            continue;  // built on this host from the checkout: not tracked
        }
        if (!observe_image(stack, service, current, o)) {
            return o;
        }
    }
    return o;
}

/// The branch head, or the newest git tag the stack's tag policy allows.
bool Reconciler::observe_revision(const config::Stack& stack,
                                  const std::optional<model::Deployment>& current, Observation& o) {
    if (!stack.git->tags) {
        auto head = m_s.git.fetch(*stack.git);
        if (!head) {
            o.error = "git: " + head.error().message;
            return false;
        }
        o.revision = *head;
        return true;
    }
    auto tags = m_s.git.tags(*stack.git);
    if (!tags) {
        o.error = "git: " + tags.error().message;
        return false;
    }
    auto policy = to_policy(*stack.git->tags);
    if (!policy) {
        o.error = "git.tags: " + policy.error().message;
        return false;
    }
    std::vector<std::string> names;
    for (const auto& tag : *tags) {
        names.push_back(tag.name);
    }
    const auto running = current && !current->release.tag.empty()
                             ? std::optional(current->release.tag)
                             : std::nullopt;
    const auto selection = policy->select(names, running, stack.no_downgrade);
    if (!selection.selected) {
        o.error = fmt::format("git: no tag matches {} ({} tags)", policy->describe(), names.size());
        return false;
    }
    o.tag = *selection.selected;
    const auto tag =
        std::find_if(tags->begin(), tags->end(), [&](const auto& t) { return t.name == o.tag; });
    if (tag != tags->end()) {
        o.revision = tag->commit;
    } else {
        o.revision = current->release.revision;  // no_downgrade kept a tag the remote dropped
    }
    return true;
}

/// One service's image: its tag (as written, or chosen by the stack's policy for it) resolved
/// to a digest. A tag that does not exist yet is `missing` (the release waits for CI).
bool Reconciler::observe_image(const config::Stack& stack, const runtime::ComposeService& service,
                               const std::optional<model::Deployment>& current, Observation& o) {
    auto ref = sources::ImageRef::parse(service.image);
    if (!ref) {
        o.compose_error = fmt::format("service {}: {}", service.name, ref.error().message);
        return false;
    }
    if (!ref->digest.empty()) {
        o.pins[service.name] = service.image;  // written with its digest already
        return true;
    }
    if (const auto spec = stack.images.find(service.name); spec != stack.images.end()) {
        auto policy = to_policy(spec->second);
        auto tags = policy ? m_s.registry.list_tags(*ref)
                           : sys::Result<std::vector<std::string>>(policy.error());
        if (!tags) {
            o.error = fmt::format("registry: {}: {}", ref->familiar_name(), tags.error().message);
            return false;
        }
        std::optional<std::string> running;
        if (current && current->release.images.count(service.name)) {
            running = tag_of(current->release.images.at(service.name));
        }
        const auto selection = policy->select(*tags, running, stack.no_downgrade);
        if (!selection.selected) {
            o.error = fmt::format("registry: {}: no tag matches {} ({} tags)", ref->familiar_name(),
                                  policy->describe(), tags->size());
            return false;
        }
        ref->tag = *selection.selected;
    }
    auto digest = m_s.registry.resolve_digest(*ref);
    if (digest) {
        o.pins[service.name] = ref->familiar_name() + ":" + ref->tag + "@" + *digest;
    } else if (digest.error().is_not_found()) {
        o.missing.push_back(fmt::format("{}: {}", service.name, digest.error().message));
    } else {
        o.error = fmt::format("registry: {}: {}", service.image, digest.error().message);
        return false;
    }
    return true;
}

}  // namespace agentd::deploy
