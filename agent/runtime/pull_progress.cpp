#include "agent/runtime/pull_progress.h"

#include <nlohmann/json.hpp>

namespace agentd::runtime {
namespace {

using nlohmann::json;

std::int64_t number_at(const json& detail, const char* name) {
    const auto it = detail.find(name);
    if (it == detail.end() || !it->is_number_integer()) {
        return -1;
    }
    return it->get<std::int64_t>();
}

}  // namespace

PullTracker::PullTracker(std::string reference) {
    m_progress.reference = std::move(reference);
}

bool PullTracker::take(std::string_view line) {
    const auto doc = json::parse(line, nullptr, false);
    if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string() ||
        !doc.contains("status") || !doc["status"].is_string()) {
        return false;
    }
    const auto status = doc["status"].get<std::string>();
    // "Pulling from NAME" carries the tag (or digest) as its id, not a layer's.
    if (status.rfind("Pulling from", 0) == 0) {
        return false;
    }
    const auto before = m_progress;
    auto& layer = m_layers[doc["id"].get<std::string>()];
    const auto detail_it = doc.find("progressDetail");
    const json detail =
        detail_it != doc.end() && detail_it->is_object() ? *detail_it : json::object();
    const auto current = number_at(detail, "current");
    const auto total = number_at(detail, "total");
    if (status == "Downloading") {
        if (total > 0) {
            layer.total = total;
        }
        if (current >= 0) {
            layer.current = current;
        }
    } else if (status == "Extracting") {
        // Extracting counts the same compressed bytes again: the download is over.
        if (total > 0 && layer.total == 0) {
            layer.total = total;
        }
        layer.downloaded = true;
    } else if (status == "Download complete" || status == "Verifying Checksum") {
        layer.downloaded = true;
    } else if (status == "Pull complete") {
        layer.downloaded = true;
        layer.done = true;
    } else if (status == "Already exists") {
        layer.done = true;
    }
    if (layer.downloaded) {
        layer.current = layer.total;
    }
    sum();
    return before.current != m_progress.current || before.total != m_progress.total ||
           before.layers != m_progress.layers || before.layers_done != m_progress.layers_done;
}

void PullTracker::finish() {
    for (auto& [id, layer] : m_layers) {
        layer.downloaded = true;
        layer.done = true;
        layer.current = layer.total;
    }
    sum();
    m_progress.done = true;
}

void PullTracker::sum() {
    m_progress.current = 0;
    m_progress.total = 0;
    m_progress.layers = static_cast<int>(m_layers.size());
    m_progress.layers_done = 0;
    for (const auto& [id, layer] : m_layers) {
        m_progress.current += layer.current;
        m_progress.total += layer.total;
        m_progress.layers_done += layer.done ? 1 : 0;
    }
}

}  // namespace agentd::runtime
