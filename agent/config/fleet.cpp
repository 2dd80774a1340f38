#include "agent/config/fleet.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "agent/sys/net.h"

namespace agentd::config {
namespace {

constexpr std::string_view k_fleet_keys[] = {"etcd",         "host", "group",    "labels",
                                             "max_updating", "soak", "lease_ttl"};
constexpr std::string_view k_etcd_keys[] = {"endpoints", "ca_file",  "cert_file",
                                            "key_file",  "username", "password_file"};
constexpr std::string_view k_rollout_keys[] = {"canary", "after"};

// "http(s)://host:port" and nothing more (the gateway's paths are agentd's); plain http only
// to loopback. nullopt when fine, else why not.
std::optional<std::string> endpoint_problem(const std::string& url) {
    const bool tls = url.starts_with("https://");
    if (!tls && !url.starts_with("http://"))
        return "expected an http:// or https:// URL";
    auto authority = std::string_view(url).substr(tls ? 8 : 7);
    if (authority.ends_with('/'))
        authority.remove_suffix(1);
    const auto host = sys::split_host_port(authority);
    if (!host)
        return "expected scheme://host:port with nothing after the port";
    if (!tls && !sys::is_loopback_host(host->host)) {
        return "plain HTTP is allowed only to loopback hosts: use https:// (with ca_file for a "
               "private CA)";
    }
    return std::nullopt;
}

std::map<std::string, std::string> read_labels(Reader& reader, const Entry& entry) {
    std::map<std::string, std::string> labels;
    if (entry.value.IsNull())
        return labels;
    if (!entry.value.IsMap()) {
        reader.report(entry, fmt::format("expected a map of label names to values, got {}",
                                         describe(entry.value)));
        return labels;
    }
    for (const auto& item : entry.value) {
        const auto name = item.first.Scalar();
        const Entry label{entry.path + "." + name, item.first, item.second};
        if (!is_fleet_name(name)) {
            reader.report(
                label,
                fmt::format("\"{}\" is not a label name (1-128 of letters, digits, ._-)", name));
            continue;
        }
        if (const auto value = reader.string(label, "a label value")) {
            if (!is_fleet_name(*value)) {
                reader.report(
                    label,
                    fmt::format("\"{}\" is not a label value (1-128 of letters, digits, ._-)",
                                *value));
                continue;
            }
            labels[name] = *value;
        }
    }
    return labels;
}

std::optional<std::string> read_name(Reader& reader, const Entry& entry, std::string_view what) {
    const auto name = reader.non_empty(entry, what);
    if (name && !is_fleet_name(*name)) {
        reader.report(
            entry,
            fmt::format("\"{}\" is not {}: use 1-128 letters, digits, \".\", \"_\" and \"-\"",
                        *name, what));
        return std::nullopt;
    }
    return name;
}

EtcdClient read_etcd(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_etcd_keys);
    EtcdClient etcd;
    if (!map.is_map())
        return etcd;
    if (const auto e = map.get("endpoints")) {
        for (const auto& item : reader.list(*e)) {
            const auto url = reader.non_empty(item, "a URL");
            if (!url)
                continue;
            if (const auto problem = endpoint_problem(*url)) {
                reader.report(item, fmt::format("\"{}\": {}", *url, *problem));
                continue;
            }
            etcd.endpoints.push_back(*url);
        }
        if (etcd.endpoints.empty() && reader.list(*e).empty()) {
            reader.report(*e, "needs at least one endpoint");
        }
    } else {
        reader.report(entry, "missing required key \"endpoints\"");
    }
    for (const auto& [key, field] :
         {std::pair{"ca_file", &etcd.ca_file}, std::pair{"cert_file", &etcd.cert_file},
          std::pair{"key_file", &etcd.key_file}}) {
        if (const auto e = map.get(key))
            *field = reader.absolute_path(*e).value_or("");
    }
    if (map.has("cert_file") != map.has("key_file")) {
        reader.report(
            entry, map.has("cert_file") ? "cert_file needs key_file" : "key_file needs cert_file");
    }
    if (const auto e = map.get("username"))
        etcd.username = reader.non_empty(*e).value_or("");
    if (const auto e = map.get("password_file")) {
        etcd.password_file = reader.non_empty(*e, "a path").value_or("");
    }
    if (map.has("username") != map.has("password_file")) {
        reader.report(entry, map.has("username") ? "username needs password_file"
                                                 : "password_file needs username");
    }
    return etcd;
}

}  // namespace

bool is_fleet_name(std::string_view name) {
    if (name.empty() || name.size() > 128 || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

bool matches(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
    return std::all_of(selector.begin(), selector.end(), [&](const auto& label) {
        const auto it = labels.find(label.first);
        return it != labels.end() && it->second == label.second;
    });
}

Fleet read_fleet(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_fleet_keys);
    Fleet fleet;
    if (!map.is_map())
        return fleet;
    if (const auto e = map.get("etcd")) {
        fleet.etcd = read_etcd(reader, *e);
    } else {
        reader.report(entry, "missing required key \"etcd\" (its endpoints)");
    }
    if (const auto e = map.get("host"))
        fleet.host = read_name(reader, *e, "a host name").value_or("");
    if (const auto e = map.get("group"))
        fleet.group = read_name(reader, *e, "a group name").value_or(fleet.group);
    if (const auto e = map.get("labels"))
        fleet.labels = read_labels(reader, *e);
    if (const auto e = map.get("max_updating")) {
        fleet.max_updating =
            reader.integer(*e, 1, 10000, "a number of hosts").value_or(fleet.max_updating);
    }
    if (const auto e = map.get("soak"))
        fleet.soak = reader.duration(*e, /*allow_zero=*/true).value_or(fleet.soak);
    if (const auto e = map.get("lease_ttl")) {
        if (const auto ttl = reader.duration(*e)) {
            if (*ttl < std::chrono::seconds(2) || *ttl > std::chrono::hours(1)) {
                reader.report(*e, "expected a lease TTL between 2s and 1h");
            } else {
                fleet.lease_ttl = *ttl;
            }
        }
    }
    return fleet;
}

std::optional<Rollout> read_rollout(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_rollout_keys);
    if (!map.is_map())
        return std::nullopt;
    Rollout rollout;
    if (const auto e = map.get("canary")) {
        rollout.canary = read_labels(reader, *e);
        if (rollout.canary.empty() && !e->value.IsMap())
            return std::nullopt;
    } else {
        reader.report(entry,
                      "missing required key \"canary\" (the labels of the hosts that go first)");
    }
    if (const auto e = map.get("after")) {
        rollout.after = reader.integer(*e, 0, 10000, "a number of hosts").value_or(rollout.after);
    }
    return rollout;
}

}  // namespace agentd::config
