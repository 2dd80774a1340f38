#pragma once
// `notifications:` of agent.yaml: the receivers, their format, events and thresholds.

#include <vector>

#include "agent/config/config.h"
#include "agent/config/yaml_reader.h"

namespace agentd::config {

/// `notifications:` (its entry path is "notifications"). Each item needs exactly one of `url`
/// (http or https) and `url_file`.
std::vector<Notification> read_notifications(Reader& reader, const Entry& entry);

}  // namespace agentd::config
