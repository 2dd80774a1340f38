#pragma once
// JSON shapes of SPEC section 6 (stable fields: agentctl --json and the HTTP API).

#include <nlohmann/json.hpp>

#include "agent/model/deployment.h"
#include "agent/model/tag_listing.h"

namespace agentd::model {

/// {"id","stack","status","revision","tag","images","trigger","started_at","finished_at",
///  "reason","previous"} (+ "events" when present). Times RFC 3339 UTC; tag null when empty.
nlohmann::json to_json(const Deployment& d, bool with_events = false);
/// Inverse of to_json; throws nlohmann::json::exception on a malformed document.
Deployment deployment_from_json(const nlohmann::json& j);
/// {"tags":[...],"matches":[...most preferred first...],"selected":"TAG" or null}; without a
/// policy (`matches` nullopt) only {"tags":[...]}, since nothing was matched or selected.
nlohmann::json to_json(const TagListing& listing);

}  // namespace agentd::model
