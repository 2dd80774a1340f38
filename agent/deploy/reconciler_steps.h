#pragma once
// Values passed between the steps of the pipeline (internal to deploy/).

#include <map>
#include <string>
#include <vector>

#include "agent/model/deployment.h"
#include "agent/runtime/compose.h"

namespace agentd::deploy {

/// What observe found: the desired revision, its services, and a digest for every image.
struct Observation {
    std::string revision;
    std::string tag;
    std::vector<runtime::ComposeService> services;
    std::string compose_error;                ///< compose refused the files (-> rejected)
    std::map<std::string, std::string> pins;  ///< service -> ref@digest
    std::vector<std::string> missing;         ///< "web: 127.0.0.1:5000/web:2.0 not found"
    std::string error;                        ///< poll error: nothing can be decided
};

/// What plan decided.
struct Plan {
    enum class Kind { Noop, Wait, Reject, Deploy };
    Kind kind = Kind::Noop;
    model::Release release;
    std::string why;  ///< for Noop/Wait/Reject
    /// For Noop: said in the cycle's message but not recorded as a candidate (nothing is
    /// pending), e.g. that the new revision changes nothing the stack reads.
    std::string note;
    std::string missing;  ///< for Wait: the images not found yet, "web: tag 2.0 not found in ..."
};

}  // namespace agentd::deploy
