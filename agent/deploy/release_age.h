#pragma once
// How old a release is, for `min_age`: the newest of its revision's commit time and the
// `created` time of each image that differs from what runs.

#include <map>
#include <optional>
#include <string>

#include "agent/config/config.h"
#include "agent/deploy/reconciler_steps.h"
#include "agent/sources/git.h"
#include "agent/sources/registry.h"
#include "agent/sys/clock.h"

namespace agentd::deploy {

/// The `created` times of images, read from the registry once per digest: a poll that finds
/// the same candidate again asks nothing.
class ImageAges {
public:
    explicit ImageAges(sources::Registry& registry) : m_registry(registry) {}
    /// The `created` of `pin`'s (name:tag@digest) image for this host's platform (its index's
    /// linux/<arch> manifest); nullopt when the image does not say, or says the Unix epoch as
    /// reproducible builds do. A registry that could not be read is asked again next time.
    std::optional<sys::TimePoint> created(const std::string& pin);

private:
    sources::Registry& m_registry;
    std::map<std::string, std::optional<sys::TimePoint>> m_by_digest;
};

/// When `observed` was made: the newest of its revision's commit time (when it differs from
/// `current`'s) and its changed images' `created`. nullopt when any of them is unknown: plan
/// then counts min_age from when agentd first saw the release.
std::optional<sys::TimePoint> released_at(const config::Stack& stack, const Observation& observed,
                                          const model::Release* current, sources::GitSource& git,
                                          ImageAges& images);

}  // namespace agentd::deploy
