#include "agent/deploy/release_diff.h"

#include <spdlog/spdlog.h>

#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

using nlohmann::json;

json or_null(const std::string& text) {
    return text.empty() ? json(nullptr) : json(text);
}

json version_json(const ImageVersion& v) {
    return json{{"image", v.name}, {"tag", or_null(v.tag)}, {"digest", or_null(v.digest)}};
}

}  // namespace

ImageVersion split_image(const std::string& recorded) {
    ImageVersion v;
    const auto digest_at = recorded.find('@');
    std::string name = recorded.substr(0, digest_at);
    if (digest_at != std::string::npos) {
        v.digest = recorded.substr(digest_at + 1);
    }
    // A ':' after the last '/' starts the tag; one before it is a registry's port.
    const auto slash = name.rfind('/');
    const auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        v.tag = name.substr(colon + 1);
        name.resize(colon);
    }
    v.name = name;
    return v;
}

ServiceChanges compare_images(const std::map<std::string, std::string>& from,
                              const std::map<std::string, std::string>& to) {
    ServiceChanges out;
    for (const auto& [service, image] : to) {
        const auto before = from.find(service);
        if (before == from.end()) {
            out.added.push_back(service);
        } else if (before->second == image) {
            out.same.push_back(service);
        } else {
            out.changed.push_back({service, split_image(before->second), split_image(image)});
        }
    }
    for (const auto& [service, image] : from) {
        if (!to.contains(service)) {
            out.removed.push_back(service);
        }
    }
    return out;
}

json to_json(const ServiceChanges& changes, const std::map<std::string, std::string>& from,
             const std::map<std::string, std::string>& to) {
    json changed = json::array();
    for (const auto& c : changes.changed) {
        changed.push_back(json{
            {"service", c.service}, {"from", version_json(c.from)}, {"to", version_json(c.to)}});
    }
    const auto listed = [](const std::vector<std::string>& services,
                           const std::map<std::string, std::string>& images) {
        json out = json::array();
        for (const auto& service : services) {
            json entry = version_json(split_image(images.at(service)));
            entry["service"] = service;
            out.push_back(entry);
        }
        return out;
    };
    return json{{"changed", changed},
                {"added", listed(changes.added, to)},
                {"removed", listed(changes.removed, from)}};
}

std::filesystem::path observed_release_file(const std::filesystem::path& state_dir,
                                            const std::string& stack) {
    return state_dir / "meta" / stack / "observed.json";
}

namespace {

std::string release_text(const model::Release& release) {
    return json{{"revision", release.revision}, {"tag", release.tag}, {"images", release.images}}
        .dump();
}

}  // namespace

void remember_observed(const std::filesystem::path& file, const model::Release& release) {
    const std::string text = release_text(release);
    if (auto old = sys::read_file(file); old && *old == text) {
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (auto written = sys::write_file_atomic(file, text); !written) {
        spdlog::warn("{}: {}", file.string(), written.error().message);
    }
}

std::optional<model::Release> observed_release(const std::filesystem::path& file) {
    auto text = sys::read_file(file);
    if (!text) {
        return std::nullopt;
    }
    const json doc = json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return std::nullopt;
    }
    try {
        model::Release release;
        release.revision = doc.value("revision", "");
        release.tag = doc.value("tag", "");
        release.images = doc.value("images", std::map<std::string, std::string>{});
        return release;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

}  // namespace agentd::deploy
