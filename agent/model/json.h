#pragma once
// JSON shapes of SPEC section 6 (stable fields: agentctl --json and the HTTP API).

#include <nlohmann/json.hpp>

#include "agent/model/deployment.h"

namespace agentd::model {

/// {"id","stack","status","revision","tag","images","trigger","started_at","finished_at",
///  "reason","previous"} (+ "events" when present). Times RFC 3339 UTC; tag null when empty.
nlohmann::json to_json(const Deployment& d, bool with_events = false);
/// Inverse of to_json; throws nlohmann::json::exception on a malformed document.
Deployment deployment_from_json(const nlohmann::json& j);

}  // namespace agentd::model
