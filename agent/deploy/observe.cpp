// Step 1 of the pipeline, observe: which revision and which image digests the stack should run
// now. Only reads: git fetches, registry requests, and compose's `config` on a new revision.

#include <algorithm>

#include <fmt/format.h>

#include "agent/deploy/reconciler.h"
#include "agent/policy/tag_policy.h"
#include "agent/sources/image_ref.h"

namespace agentd::deploy {
namespace {

/// The policy config/ compiled when the file was read.
sys::Result<const policy::TagPolicy*> compiled(const config::TagPolicySpec& spec) {
    if (!spec.policy) {
        return sys::Error::invalid("the tag policy was not compiled (a configuration bug)");
    }
    return &*spec.policy;
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

sys::Result<Observation> Reconciler::observe(const config::Stack& stack, sources::AskedAt asked) {
    Observation o;
    const auto current = m_s.store.current(stack.name);
    if (stack.git) {
        if (auto found = observe_revision(stack, current, asked, o); !found) {
            return found.error();
        }
    }
    auto services = services_at(stack, o.revision, o.tag);
    if (!services) {
        if (services.error().kind != sys::Error::Kind::InvalidInput) {
            return services.error();  // compose could not say (killed, timed out): ask again
        }
        // An env file of the release (missing, not decryptable) names itself; the rest is
        // compose's verdict on the files.
        const auto& why = services.error().message;
        o.refused = sys::Error::invalid(why.starts_with("env file ") ? why : "compose: " + why);
        return o;
    }
    o.services = std::move(*services);
    for (const auto& [service, spec] : stack.images) {
        const bool known =
            std::any_of(o.services.begin(), o.services.end(),
                        [&service = service](const auto& s) { return s.name == service; });
        if (!known) {
            return sys::Error::invalid(fmt::format(
                "images.{}: the compose files have no service \"{}\"", service, service));
        }
    }
    // Each image's tag (as written, or chosen by its policy), then every tag's digest at once:
    // the registry client asks for them together.
    std::vector<const runtime::ComposeService*> resolving;
    std::vector<sources::ImageRef> refs;
    for (const auto& service : o.services) {
        if (service.image.empty() || service.build) {
            continue;  // built on this host from the checkout: not tracked
        }
        auto ref = image_to_resolve(stack, service, current, o);
        if (!ref) {
            return ref.error();
        }
        if (o.refused) {
            return o;
        }
        if (*ref) {
            resolving.push_back(&service);
            refs.push_back(std::move(**ref));
        }
    }
    auto digests = m_s.registry.resolve_digests(refs);
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const auto& service = *resolving[i];
        const auto& ref = refs[i];
        auto& digest = digests[i];
        if (digest) {
            o.pins[service.name] = ref.familiar_name() + ":" + ref.tag + "@" + *digest;
        } else if (digest.error().is_not_found()) {
            // The tag does not exist yet: the release waits for CI.
            o.missing.push_back(fmt::format("{}: {}", service.name, digest.error().message));
        } else {
            return sys::Error{digest.error().kind, fmt::format("registry: {}: {}", service.image,
                                                               digest.error().message)};
        }
    }
    return o;
}

/// The branch head, or the newest git tag the stack's tag policy allows.
sys::Result<void> Reconciler::observe_revision(const config::Stack& stack,
                                               const std::optional<model::Deployment>& current,
                                               sources::AskedAt asked, Observation& o) {
    if (!stack.git->tags) {
        auto head = m_s.git.fetch(*stack.git, asked);
        if (!head) {
            return sys::Error{head.error().kind, "git: " + head.error().message};
        }
        o.revision = *head;
        return {};
    }
    auto tags = m_s.git.tags(*stack.git, asked);
    if (!tags) {
        return sys::Error{tags.error().kind, "git: " + tags.error().message};
    }
    auto policy = compiled(*stack.git->tags);
    if (!policy) {
        return sys::Error::invalid("git.tags: " + policy.error().message);
    }
    std::vector<std::string> names;
    for (const auto& tag : *tags) {
        names.push_back(tag.name);
    }
    const auto running = current && !current->release.tag.empty()
                             ? std::optional(current->release.tag)
                             : std::nullopt;
    const auto selection = (*policy)->select(names, running, stack.no_downgrade);
    if (!selection.selected) {
        return sys::Error::not_found(fmt::format("git: no tag matches {} ({} tags)",
                                                 (*policy)->describe(), names.size()));
    }
    o.tag = *selection.selected;
    const auto tag =
        std::find_if(tags->begin(), tags->end(), [&](const auto& t) { return t.name == o.tag; });
    if (tag != tags->end()) {
        o.revision = tag->commit;
    } else {
        o.revision = current->release.revision;  // no_downgrade kept a tag the remote dropped
    }
    return {};
}

/// One service's image: its tag, as written or chosen by the stack's policy for it. An invalid
/// reference makes the release `refused`.
sys::Result<std::optional<sources::ImageRef>> Reconciler::image_to_resolve(
    const config::Stack& stack, const runtime::ComposeService& service,
    const std::optional<model::Deployment>& current, Observation& o) {
    auto ref = sources::ImageRef::parse(service.image);
    if (!ref) {
        o.refused = sys::Error::invalid(
            fmt::format("compose: service {}: {}", service.name, ref.error().message));
        return std::optional<sources::ImageRef>{};
    }
    if (!ref->digest.empty()) {
        o.pins[service.name] = service.image;  // written with its digest already
        return std::optional<sources::ImageRef>{};
    }
    if (const auto spec = stack.images.find(service.name); spec != stack.images.end()) {
        auto policy = compiled(spec->second);
        if (!policy) {
            return sys::Error::invalid("images." + service.name + ": " + policy.error().message);
        }
        auto tags = m_s.registry.list_tags(*ref);
        if (!tags) {
            return sys::Error{tags.error().kind, fmt::format("registry: {}: {}",
                                                             ref->familiar_name(),
                                                             tags.error().message)};
        }
        std::optional<std::string> running;
        if (current && current->release.images.count(service.name)) {
            running = tag_of(current->release.images.at(service.name));
        }
        const auto selection = (*policy)->select(*tags, running, stack.no_downgrade);
        if (!selection.selected) {
            return sys::Error::not_found(
                fmt::format("registry: {}: no tag matches {} ({} tags)", ref->familiar_name(),
                            (*policy)->describe(), tags->size()));
        }
        ref->tag = *selection.selected;
    }
    return std::optional(std::move(*ref));
}

}  // namespace agentd::deploy
