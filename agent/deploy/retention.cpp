#include "agent/deploy/retention.h"

#include <algorithm>

#include "agent/deploy/reconciler.h"

namespace agentd::deploy {

std::vector<model::Release> kept_releases(const std::vector<model::Deployment>& history, int keep) {
    std::vector<model::Release> out;
    for (const auto& d : history) {
        if (static_cast<int>(out.size()) >= keep) {
            break;
        }
        if (model::passed_gate(d) && std::find(out.begin(), out.end(), d.release) == out.end()) {
            out.push_back(d.release);
        }
    }
    return out;
}

std::set<std::string> kept_images(const std::vector<model::Deployment>& own,
                                  const std::vector<model::Deployment>& all,
                                  const std::string& stack, int keep) {
    std::set<std::string> out;
    const auto add = [&](const model::Release& r) {
        for (const auto& [service, image] : r.images) {
            out.insert(runnable(image));
        }
    };
    for (const auto& r : kept_releases(own, keep)) {
        add(r);
    }
    for (const auto& d : all) {
        if (d.status == model::Status::Waiting || d.status == model::Status::InProgress ||
            (d.stack != stack && model::passed_gate(d))) {
            add(d.release);
        }
    }
    return out;
}

}  // namespace agentd::deploy
