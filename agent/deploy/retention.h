#pragma once
// Image retention (`keep_releases`): which releases stay restorable without a registry, and
// which pulled images no longer need to stay on the host. Pure; the reconciler asks the store
// and the engine.

#include <set>
#include <string>
#include <vector>

#include "agent/model/deployment.h"

namespace agentd::deploy {

/// The releases kept for rollback: the newest `keep` different releases among `history` (one
/// stack's deployments, newest first) that passed the gate, newest first.
std::vector<model::Release> kept_releases(const std::vector<model::Deployment>& history, int keep);

/// The images ("name@sha256:...", as pulled) that retention keeps for `stack`: those of its
/// kept releases (from `own`, the stack's deployments newest first), and those of every
/// deployment in `all` (every stack's) that may run again: another stack's that passed the
/// gate, any stack's waiting or in progress.
std::set<std::string> kept_images(const std::vector<model::Deployment>& own,
                                  const std::vector<model::Deployment>& all,
                                  const std::string& stack, int keep);

}  // namespace agentd::deploy
