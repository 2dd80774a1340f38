#include "agent/webhook/match.h"

#include <algorithm>
#include <optional>

#include "agent/sources/image_ref.h"
#include "agent/webhook/git_url.h"
#include "agent/webhook/text.h"

namespace agentd::webhook {

namespace {

// "registry/repository" as Docker normalises them: Docker Hub's aliases are one registry.
std::string image_key(std::string_view registry, std::string_view repository) {
    std::string host = ascii_lower(registry);
    if (host == "docker.io" || host == "index.docker.io") {
        host = std::string(sources::k_docker_hub_registry);
    }
    return host + "/" + ascii_lower(repository);
}

std::optional<std::string> image_key(std::string_view reference) {
    auto ref = sources::ImageRef::parse(ascii_lower(reference));
    if (!ref) {
        return std::nullopt;
    }
    return image_key(ref->registry, ref->repository);
}

bool names_repository(const Event& event, const Target& target) {
    if (target.git_url.empty()) {
        return false;
    }
    const auto key = git_url_key(target.git_url);
    if (!key) {
        return false;
    }
    return std::any_of(event.repository_urls.begin(), event.repository_urls.end(),
                       [&](const std::string& url) { return git_url_key(url) == key; });
}

bool ref_concerns(const std::string& ref, const Target& target) {
    const std::string_view r = ref;
    if (r.substr(0, k_heads.size()) == k_heads) {
        return target.follow == Target::Follow::Branch && r.substr(k_heads.size()) == target.branch;
    }
    if (r.substr(0, k_tags.size()) == k_tags) {
        return target.follow == Target::Follow::Tags;
    }
    return false;
}

bool names_image(const Event& event, const Target& target) {
    for (const std::string& image : event.images) {
        const auto key = image_key(image);
        if (!key) {
            continue;
        }
        for (const ImageRepository& used : target.images) {
            if (image_key(used.registry, used.repository) == *key) {
                return true;
            }
        }
    }
    return false;
}

bool concerns(const Event& event, const Target& target) {
    switch (event.kind) {
        case EventKind::Push:
        case EventKind::TagPush:
        case EventKind::Create:
            return names_repository(event, target) && ref_concerns(event.ref, target);
        case EventKind::Package:
            return names_image(event, target);
        case EventKind::Ping:
        case EventKind::Other:
            break;
    }
    return false;
}

}  // namespace

Target target_for(const config::Stack& stack, const std::vector<std::string>& images) {
    Target target;
    target.stack = stack.name;
    if (stack.git) {
        target.git_url = stack.git->url;
        target.follow = stack.git->tags ? Target::Follow::Tags : Target::Follow::Branch;
        target.branch = stack.git->branch;
    }
    for (const std::string& image : images) {
        auto ref = sources::ImageRef::parse(image);
        if (!ref) {
            continue;
        }
        const bool known =
            std::any_of(target.images.begin(), target.images.end(), [&](const ImageRepository& r) {
                return r.registry == ref->registry && r.repository == ref->repository;
            });
        if (!known) {
            target.images.push_back({ref->registry, ref->repository});
        }
    }
    return target;
}

std::vector<std::string> match(const Event& event, const std::vector<Target>& targets) {
    std::vector<std::string> stacks;
    for (const Target& target : targets) {
        if (concerns(event, target) &&
            std::find(stacks.begin(), stacks.end(), target.stack) == stacks.end()) {
            stacks.push_back(target.stack);
        }
    }
    return stacks;
}

}  // namespace agentd::webhook
