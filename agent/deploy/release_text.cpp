#include "agent/deploy/release_text.h"

#include <fmt/format.h>

namespace agentd::deploy {

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

std::string marked_bad(const model::Release& release) {
    return fmt::format("release {} is marked bad; waiting for a new one", describe(release));
}

std::string release_name(const model::Release& release) {
    if (!release.tag.empty()) {
        return release.tag;
    }
    return release.revision.empty() ? "the release" : short_rev(release.revision);
}

}  // namespace agentd::deploy
