#include "agent/deploy/services_cache.h"

#include <nlohmann/json.hpp>

#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

nlohmann::json load(const std::filesystem::path& file) {
    auto text = sys::read_file(file);
    if (!text) {
        return nlohmann::json::array();
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    return j.is_array() ? j : nlohmann::json::array();
}

}  // namespace

std::optional<sys::Result<std::vector<runtime::ComposeService>>> ServicesCache::find(
    const std::string& key) const {
    for (const auto& entry : load(m_file)) {
        if (!entry.is_object() || entry.value("key", "") != key) {
            continue;
        }
        if (entry.contains("error")) {
            return sys::Result<std::vector<runtime::ComposeService>>(
                sys::Error::invalid(entry.value("error", "")));
        }
        std::vector<runtime::ComposeService> services;
        for (const auto& s : entry.value("services", nlohmann::json::array())) {
            services.push_back({s.value("name", ""), s.value("image", ""), s.value("build", false),
                                s.value("restart", "")});
        }
        return sys::Result<std::vector<runtime::ComposeService>>(std::move(services));
    }
    return std::nullopt;
}

void ServicesCache::remember(const std::string& key,
                             const sys::Result<std::vector<runtime::ComposeService>>& verdict) {
    nlohmann::json entry{{"key", key}};
    if (verdict) {
        entry["services"] = nlohmann::json::array();
        for (const auto& s : *verdict) {
            entry["services"].push_back(
                {{"name", s.name}, {"image", s.image}, {"build", s.build}, {"restart", s.restart}});
        }
    } else if (verdict.error().kind == sys::Error::Kind::InvalidInput) {
        entry["error"] = verdict.error().message;
    } else {
        return;  // a failure to run compose says nothing about the files
    }
    auto entries = nlohmann::json::array({entry});
    for (const auto& old : load(m_file)) {
        if (entries.size() < k_entries && old.is_object() && old.value("key", "") != key) {
            entries.push_back(old);
        }
    }
    std::filesystem::create_directories(m_file.parent_path());
    (void)sys::write_file_atomic(m_file, entries.dump());
}

}  // namespace agentd::deploy
