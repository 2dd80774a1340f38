#include "agent/deploy/release_age.h"

#include <spdlog/spdlog.h>

#include "agent/sources/image_ref.h"
#include "agent/sources/registry_answers.h"

namespace agentd::deploy {
namespace {

/// The platform whose manifest an index is read for: the host's, as Docker pulls it.
constexpr std::string_view k_os = "linux";
#if defined(__aarch64__)
constexpr std::string_view k_architecture = "arm64";
#elif defined(__arm__)
constexpr std::string_view k_architecture = "arm";
#else
constexpr std::string_view k_architecture = "amd64";
#endif
constexpr std::size_t k_max_config_size = 4u << 20;
constexpr std::size_t k_max_remembered = 4096;

}  // namespace

std::optional<sys::TimePoint> ImageAges::created(const std::string& pin) {
    auto ref = sources::ImageRef::parse(pin);
    if (!ref || ref->digest.empty()) {
        return std::nullopt;
    }
    if (const auto known = m_by_digest.find(ref->digest); known != m_by_digest.end()) {
        return known->second;
    }
    if (m_by_digest.size() >= k_max_remembered) {
        m_by_digest.clear();  // a long-lived agentd sees new digests for ever
    }
    const std::string image_digest = ref->digest;
    // The pinned manifest, then (for an index) the platform's, then its config blob.
    for (int depth = 0; depth < 2; ++depth) {
        auto manifest = m_registry.get_manifest(*ref);
        if (!manifest) {
            spdlog::debug("min_age: {}: {}", pin, manifest.error().message);
            return std::nullopt;  // not remembered: asked again at the next poll
        }
        auto step = sources::parse_manifest_step(manifest->body, k_os, k_architecture);
        if (!step) {
            spdlog::info("min_age: {}: {}; its age is counted from when it was first seen", pin,
                         step.error().message);
            break;
        }
        if (step->index) {
            ref->digest = step->digest;
            continue;
        }
        auto config = m_registry.get_blob(*ref, step->digest, k_max_config_size);
        if (!config) {
            spdlog::debug("min_age: {}: {}", pin, config.error().message);
            return std::nullopt;
        }
        return m_by_digest[image_digest] = sources::parse_image_created(*config);
    }
    return m_by_digest[image_digest] = std::nullopt;
}

std::optional<sys::TimePoint> released_at(const config::Stack& stack, const Observation& observed,
                                          const model::Release* current, sources::GitSource& git,
                                          ImageAges& images) {
    std::optional<sys::TimePoint> newest;
    bool unknown = false;
    const auto consider = [&](std::optional<sys::TimePoint> t) {
        if (!t) {
            unknown = true;
        } else if (!newest || *t > *newest) {
            newest = t;
        }
    };
    if (stack.git && !observed.revision.empty() &&
        (current == nullptr || current->revision != observed.revision)) {
        auto committed = git.commit_time(*stack.git, observed.revision);
        consider(committed ? std::optional(*committed) : std::nullopt);
    }
    for (const auto& [service, pin] : observed.pins) {
        const auto running = current != nullptr
                                 ? current->images.find(service)
                                 : std::map<std::string, std::string>::const_iterator();
        if (current != nullptr && running != current->images.end() && running->second == pin) {
            continue;
        }
        consider(images.created(pin));
    }
    return unknown ? std::nullopt : newest;
}

}  // namespace agentd::deploy
