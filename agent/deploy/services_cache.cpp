#include "agent/deploy/services_cache.h"

#include <nlohmann/json.hpp>

#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

using nlohmann::json;

/// The entries of the cache file; none when it is absent, unreadable or of another format.
json load(const std::filesystem::path& file) {
    auto text = sys::read_file(file);
    if (!text) {
        return json::array();
    }
    auto j = json::parse(*text, nullptr, false);
    if (!j.is_object() || j.value("format", 0) != ServicesCache::k_format ||
        !j.contains("entries") || !j["entries"].is_array()) {
        return json::array();
    }
    return j["entries"];
}

void store(const std::filesystem::path& file, const json& entries) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    (void)sys::write_file_atomic(
        file, json{{"format", ServicesCache::k_format}, {"entries", entries}}.dump());
}

std::vector<std::string> strings(const json& j, const char* key) {
    std::vector<std::string> out;
    if (j.contains(key) && j[key].is_array()) {
        for (const auto& s : j[key]) {
            if (s.is_string()) {
                out.push_back(s.get<std::string>());
            }
        }
    }
    return out;
}

json to_json(const runtime::ComposeService& s) {
    return {{"name", s.name},
            {"image", s.image},
            {"build", s.build},
            {"restart", s.restart},
            {"profiles", s.profiles},
            {"container_name", s.container_name},
            {"publishes_ports", s.publishes_ports},
            {"network_mode", s.network_mode},
            {"build_context", s.build_context},
            {"build_dockerfile", s.build_dockerfile},
            {"build_contexts", s.build_contexts},
            {"bind_sources", s.bind_sources},
            {"env_files", s.env_files},
            {"files", s.files}};
}

runtime::ComposeService service_from(const json& j) {
    runtime::ComposeService s;
    s.name = j.value("name", "");
    s.image = j.value("image", "");
    s.build = j.value("build", false);
    s.restart = j.value("restart", "");
    s.profiles = strings(j, "profiles");
    s.container_name = j.value("container_name", "");
    s.publishes_ports = j.value("publishes_ports", false);
    s.network_mode = j.value("network_mode", "");
    s.build_context = j.value("build_context", "");
    s.build_dockerfile = j.value("build_dockerfile", "");
    s.build_contexts = strings(j, "build_contexts");
    s.bind_sources = strings(j, "bind_sources");
    s.env_files = strings(j, "env_files");
    s.files = strings(j, "files");
    return s;
}

json to_json(const StackInputs& inputs) {
    json build = json::object();
    for (const auto& [service, paths] : inputs.build) {
        build[service] = paths;
    }
    json mounted = json::object();
    for (const auto& [service, paths] : inputs.mounted) {
        mounted[service] = paths;
    }
    return {{"paths", inputs.paths},
            {"definitions", inputs.definitions},
            {"build", build},
            {"mounted", mounted},
            {"notes", inputs.notes}};
}

std::map<std::string, std::set<std::string>> path_map(const json& j, const char* key) {
    std::map<std::string, std::set<std::string>> out;
    if (j.contains(key) && j[key].is_object()) {
        for (const auto& [service, paths] : j[key].items()) {
            const auto list = strings(json{{"p", paths}}, "p");
            out[service] = {list.begin(), list.end()};
        }
    }
    return out;
}

StackInputs inputs_from(const json& j) {
    StackInputs inputs;
    const auto paths = strings(j, "paths");
    inputs.paths = {paths.begin(), paths.end()};
    const auto definitions = strings(j, "definitions");
    inputs.definitions = {definitions.begin(), definitions.end()};
    inputs.build = path_map(j, "build");
    inputs.mounted = path_map(j, "mounted");
    inputs.notes = strings(j, "notes");
    return inputs;
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
        for (const auto& s : entry.value("services", json::array())) {
            if (s.is_object()) {
                services.push_back(service_from(s));
            }
        }
        return sys::Result<std::vector<runtime::ComposeService>>(std::move(services));
    }
    return std::nullopt;
}

void ServicesCache::remember(const std::string& key,
                             const sys::Result<std::vector<runtime::ComposeService>>& verdict) {
    json entry{{"key", key}};
    if (verdict) {
        entry["services"] = json::array();
        for (const auto& s : *verdict) {
            entry["services"].push_back(to_json(s));
        }
    } else if (verdict.error().kind == sys::Error::Kind::InvalidInput) {
        entry["error"] = verdict.error().message;
    } else {
        return;  // a failure to run compose says nothing about the files
    }
    auto entries = json::array({entry});
    for (const auto& old : load(m_file)) {
        if (entries.size() < k_entries && old.is_object() && old.value("key", "") != key) {
            entries.push_back(old);
        }
    }
    store(m_file, entries);
}

std::optional<StackInputs> ServicesCache::inputs(const std::string& key) const {
    for (const auto& entry : load(m_file)) {
        if (entry.is_object() && entry.value("key", "") == key && entry.contains("inputs") &&
            entry["inputs"].is_object()) {
            return inputs_from(entry["inputs"]);
        }
    }
    return std::nullopt;
}

void ServicesCache::remember_inputs(const std::string& key, const StackInputs& inputs) {
    auto entries = load(m_file);
    bool found = false;
    for (auto& entry : entries) {
        if (entry.is_object() && entry.value("key", "") == key && entry.contains("services")) {
            entry["inputs"] = to_json(inputs);
            found = true;
        }
    }
    if (found) {
        store(m_file, entries);
    }
}

}  // namespace agentd::deploy
