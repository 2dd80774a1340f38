#pragma once
// Human renderings of the API's JSON documents (SPEC section 6). Pure: `now` is given, so
// relative times are tested.

#include <string>

#include <nlohmann/json.hpp>

#include "agent/sys/clock.h"

namespace agentd::ctl {

/// STACK STATE RELEASE DEPLOYED LAST POLL NOTES, one row per stack of {"stacks":[...]}.
std::string render_status(const nlohmann::json& doc, sys::TimePoint now);
/// ID STACK STATUS RELEASE TRIGGER STARTED TOOK REASON of {"deployments":[...]}.
std::string render_history(const nlohmann::json& doc, sys::TimePoint now);
/// One deployment: its fields, images per service, reason and events timeline.
std::string render_deployment(const nlohmann::json& deployment, sys::TimePoint now);
/// "shop: succeeded, deployment 7: message" for {"outcome","deployment","message"}.
std::string render_cycle(const std::string& stack, const nlohmann::json& result);
/// A tag listing {"tags","matches","selected"} (`tags`, `policy test`): a TAG MATCH table with
/// yes / no / selected per tag, then "selected: TAG" or "no tag matches <policy>". Without
/// "matches" (no policy): one tag per line.
std::string render_tags(const nlohmann::json& doc, const std::string& policy);
/// A verification {"image","digest","verified","message","keys","identity","issuer",
/// "trusted_root"}: the image, its digest, the verdict, and what verified it or why not (the
/// message without its leading "image REF@DIGEST: "), then the keys (with their algorithms) or
/// the identity, issuer and trusted root asked for.
std::string render_verify(const nlohmann::json& doc);
/// What the next deployment would change (`diff`, GET /v1/stacks/NAME/diff): the revision
/// range with each commit's subject, the services whose image changes (tag and digest, old ->
/// new), added and removed, then the compose file diff; or "STACK: nothing to deploy".
std::string render_diff(const nlohmann::json& doc);
/// The fleet's rollout state (`fleet status`, GET /v1/fleet): a header naming the group, this
/// host and max_updating, then per stack its halt, the hosts updating and queued (release,
/// since when) and the hosts done with each release.
std::string render_fleet(const nlohmann::json& doc, sys::TimePoint now);
/// A fleet release ({"release", "name"}): its name when agentd knows it, else its key.
std::string fleet_release_label(const nlohmann::json& j);
/// "v2.3.1 (0123456789ab)", "0123456789ab", or "-" for a deployment's release.
std::string release_label(const nlohmann::json& deployment);

}  // namespace agentd::ctl
