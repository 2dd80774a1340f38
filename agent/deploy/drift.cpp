#include "agent/deploy/drift.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "agent/sources/image_ref.h"
#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

using nlohmann::json;

/// The same image by name and digest, whatever the spelling ("nginx" or
/// "docker.io/library/nginx"); text equality when either is not a reference.
bool same_image(const std::string& a, const std::string& b) {
    if (a == b) {
        return true;
    }
    const auto ra = sources::ImageRef::parse(a);
    const auto rb = sources::ImageRef::parse(b);
    return ra && rb && !ra->digest.empty() && ra->digest == rb->digest &&
           ra->registry == rb->registry && ra->repository == rb->repository;
}

bool stopped(const runtime::ContainerSummary& c) {
    return c.state == "exited" || c.state == "dead" || c.state == "created";
}

}  // namespace

std::vector<std::string> find_drift(const std::vector<ExpectedService>& expected,
                                    const std::vector<runtime::ContainerSummary>& containers) {
    std::vector<std::string> out;
    std::set<std::string> names;
    for (const auto& service : expected) {
        names.insert(service.name);
        bool any = false;
        for (const auto& c : containers) {
            if (c.one_off || c.service != service.name) {
                continue;
            }
            any = true;
            if (!service.image.empty() && !same_image(c.image, service.image)) {
                out.push_back(fmt::format("{}: container {} runs {}, not {}", service.name, c.name,
                                          c.image, service.image));
            } else if (!service.config_hash.empty() && c.config_hash != service.config_hash) {
                out.push_back(fmt::format(
                    "{}: container {} has another compose configuration than the release's",
                    service.name, c.name));
            } else if (stopped(c) &&
                       !(service.may_exit && c.state == "exited" && c.exit_code == 0)) {
                out.push_back(fmt::format(
                    "{}: container {} is {}{}", service.name, c.name, c.state,
                    c.state == "exited" ? fmt::format(" ({})", c.exit_code) : std::string()));
            }
        }
        if (!any) {
            out.push_back(fmt::format("{}: no container", service.name));
        }
    }
    for (const auto& c : containers) {
        if (!c.one_off && names.count(c.service) == 0) {
            out.push_back(
                fmt::format("container {} ({}) is not part of the release", c.name,
                            c.service.empty() ? "no service label" : "service " + c.service));
        }
    }
    return out;
}

std::optional<std::map<std::string, std::string>> ConfigHashes::find(
    std::int64_t deployment) const {
    const auto text = sys::read_file(m_file);
    if (!text) {
        return std::nullopt;
    }
    const auto j = json::parse(*text, nullptr, false);
    if (!j.is_object() || j.value("deployment", std::int64_t{0}) != deployment ||
        !j.contains("config_hashes") || !j["config_hashes"].is_object()) {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& [service, hash] : j["config_hashes"].items()) {
        if (hash.is_string()) {
            out[service] = hash.get<std::string>();
        }
    }
    return out;
}

void ConfigHashes::remember(std::int64_t deployment,
                            const std::vector<runtime::ContainerSummary>& containers) {
    json hashes = json::object();
    for (const auto& c : containers) {
        if (!c.one_off && !c.service.empty() && !c.config_hash.empty()) {
            hashes[c.service] = c.config_hash;
        }
    }
    std::error_code ec;
    std::filesystem::create_directories(m_file.parent_path(), ec);
    (void)sys::write_file_atomic(
        m_file, json{{"deployment", deployment}, {"config_hashes", hashes}}.dump());
}

}  // namespace agentd::deploy
