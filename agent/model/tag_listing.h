#pragma once
// A repository's tags and what a tag policy makes of them: the answer of `agentctl tags` and
// `agentctl policy test` (SPEC section 6). Plain data; JSON mapping in model/json.h.

#include <optional>
#include <string>
#include <vector>

namespace agentd::model {

struct TagListing {
    /// Every tag listed by the registry (or given on the command line), in listing order.
    std::vector<std::string> tags;
    /// The tags the policy accepts, most preferred first; nullopt when no policy was given.
    std::optional<std::vector<std::string>> matches;
    /// The tag the policy selects; nullopt without a policy or without a match.
    std::optional<std::string> selected;
};

}  // namespace agentd::model
