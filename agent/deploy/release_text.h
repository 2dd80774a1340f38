#pragma once
// How a release is named in logs, events and `agentctl status`.

#include <string>

#include "agent/model/deployment.h"

namespace agentd::deploy {

/// The first 12 hex digits of a revision; "(dir)" for a `dir:` stack, which has none.
std::string short_rev(const std::string& revision);
/// "v1.2.0 web=sha256:0123456789ab" (tag or short revision, then each image's digest).
std::string describe(const model::Release& release);
/// The release as a person names it: its git tag, else its short revision.
std::string release_name(const model::Release& release);
/// What status says of a release marked bad: "release ... is marked bad; waiting for a new one".
std::string marked_bad(const model::Release& release);

}  // namespace agentd::deploy
