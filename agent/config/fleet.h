#pragma once
// `fleet:` of agent.yaml (etcd, this host's name, group and labels, slots, soak) and a stack's
// `rollout:` (its canary wave).

#include <optional>

#include "agent/config/config.h"
#include "agent/config/yaml_reader.h"

namespace agentd::config {

/// `fleet:`; `etcd.endpoints` is required.
Fleet read_fleet(Reader& reader, const Entry& entry);
/// A stack's `rollout:`.
std::optional<Rollout> read_rollout(Reader& reader, const Entry& entry);

/// True for a name that may be part of an etcd key (a host, a group, a label): 1-128 of
/// [A-Za-z0-9._-], not "." or "..".
bool is_fleet_name(std::string_view name);

/// True when every label of `selector` is among `labels` with the same value (an empty
/// selector matches every host).
bool matches(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels);

}  // namespace agentd::config
