#include "agent/deploy/blue_green.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

namespace agentd::deploy {

std::string slot_project(const std::string& project, const std::string& slot) {
    return project + "-" + slot;
}

std::string shared_project(const std::string& project) {
    return project + "-shared";
}

std::string slot_network(const std::string& project) {
    return "agentd-" + project;
}

std::optional<std::string> refuse_slots(const config::BlueGreen& blue_green,
                                        const std::vector<runtime::ComposeService>& services) {
    for (const auto& slot : blue_green.services) {
        const auto found = std::find_if(services.begin(), services.end(),
                                        [&](const auto& s) { return s.name == slot.name; });
        if (found == services.end()) {
            return fmt::format("blue_green: service {} is not in the compose file", slot.name);
        }
        const auto why = [&](const std::string& what) {
            return fmt::format(
                "blue_green: service {} {}, which its blue and green copies "
                "cannot both have; remove it (the proxy is how traffic reaches "
                "a slot)",
                slot.name, what);
        };
        if (!found->container_name.empty()) {
            return why(fmt::format("sets container_name \"{}\"", found->container_name));
        }
        if (found->publishes_ports) {
            return why("publishes a host port (ports:)");
        }
        if (!found->network_mode.empty() && found->network_mode != "bridge") {
            return why(fmt::format("uses network_mode \"{}\"", found->network_mode));
        }
    }
    return std::nullopt;
}

namespace {

/// `path` without "." and ".." parts and without a trailing separator.
std::filesystem::path normal_path(const std::string& path) {
    auto p = std::filesystem::path(path).lexically_normal();
    if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) {
        p = p.parent_path();
    }
    return p;
}

/// Whether `dir` is `above` or inside it (by their parts: "/srv/ng" is not above "/srv/nginx").
bool is_within(const std::filesystem::path& dir, const std::filesystem::path& above) {
    return std::mismatch(above.begin(), above.end(), dir.begin(), dir.end()).first == above.end();
}

}  // namespace

std::optional<std::string> refuse_proxy(const config::BlueGreen& blue_green,
                                        const std::vector<runtime::ComposeService>& services) {
    const auto& proxy = blue_green.proxy;
    if (proxy.nginx != config::NginxKind::Service) {
        return std::nullopt;
    }
    const auto found = std::find_if(services.begin(), services.end(),
                                    [&](const auto& s) { return s.name == proxy.service; });
    if (found == services.end()) {
        return fmt::format("blue_green.proxy: service {} (nginx) is not in the compose file",
                           proxy.service);
    }
    if (blue_green.is_slot_service(proxy.service)) {
        return fmt::format(
            "blue_green.proxy: service {} (nginx) is a slot service; nginx runs once, in the "
            "shared project",
            proxy.service);
    }
    if (!found->profiles.empty()) {
        return fmt::format(
            "blue_green.proxy: service {} (nginx) has a profile, so compose up does not start it",
            proxy.service);
    }
    const auto file = normal_path(proxy.upstream_file.string());
    const auto dir = file.parent_path();
    bool mounts_file = false;
    for (const auto& source : found->bind_sources) {
        const auto path = normal_path(source);
        if (!path.is_absolute()) {
            continue;
        }
        if (path == file) {
            mounts_file = true;
        } else if (is_within(dir, path)) {
            return std::nullopt;
        }
    }
    if (mounts_file) {
        return fmt::format(
            "blue_green.proxy: service {} (nginx) bind-mounts the upstream file {} itself; agentd "
            "replaces that file by a rename at each switch, and a mount of a single file keeps "
            "showing the container the file it was started with: bind-mount its directory {} "
            "instead",
            proxy.service, file.string(), dir.string());
    }
    return fmt::format(
        "blue_green.proxy: service {} (nginx) does not bind-mount the upstream file's directory "
        "{} (or one above it), so nginx cannot read the file agentd writes there",
        proxy.service, dir.string());
}

std::vector<std::string> shared_services(const config::BlueGreen& blue_green,
                                         const std::vector<runtime::ComposeService>& services) {
    std::vector<std::string> out;
    for (const auto& s : services) {
        if (!blue_green.is_slot_service(s.name) && s.profiles.empty()) {
            out.push_back(s.name);
        }
    }
    return out;
}

namespace {

// "/healthz?x=1" of "http://127.0.0.1:8080/healthz?x=1"; "/" when the URL has no path.
std::string path_of(const std::string& url) {
    const auto scheme = url.find("://");
    const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? "/" : url.substr(path);
}

}  // namespace

std::vector<config::HttpProbe> slot_probes(const config::BlueGreen& blue_green,
                                           const std::vector<config::HttpProbe>& probes,
                                           const std::vector<runtime::ContainerSummary>& slot,
                                           const std::string& network) {
    std::vector<config::HttpProbe> out;
    for (const auto& probe : probes) {
        for (const auto& service : blue_green.services) {
            for (const auto& c : slot) {
                const auto address = c.addresses.find(network);
                if (c.service != service.name || c.one_off || address == c.addresses.end()) {
                    continue;
                }
                out.push_back({fmt::format("http://{}:{}{}", address->second, service.port,
                                           path_of(probe.url)),
                               probe.status});
            }
        }
    }
    return out;
}

sys::Result<runtime::ProxyRoutes> slot_routes(
    const std::string& stack, const config::BlueGreen& blue_green, const std::string& slot,
    std::int64_t deployment, const std::vector<runtime::ContainerSummary>& slot_containers,
    const std::string& network) {
    runtime::ProxyRoutes routes;
    routes.stack = stack;
    routes.slot = slot;
    routes.deployment = deployment;
    for (const auto& service : blue_green.services) {
        auto& servers = routes.upstreams[stack + "_" + service.name];
        for (const auto& c : slot_containers) {
            const auto address = c.addresses.find(network);
            if (c.service == service.name && !c.one_off && c.state == "running" &&
                address != c.addresses.end()) {
                servers.push_back(fmt::format("{}:{}", address->second, service.port));
            }
        }
        if (servers.empty()) {
            return sys::Error::failed(
                fmt::format("slot {}: service {} has no running container "
                            "on network {}",
                            slot, service.name, network));
        }
    }
    return routes;
}

}  // namespace agentd::deploy
