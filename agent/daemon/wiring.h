#pragma once
// The one place where the real implementations are constructed: SQLite, libgit2, the registry
// client, the Docker Engine, compose, curl. Everything else in daemon/ sees interfaces.

#include <memory>

#include "agent/daemon/agentd_metrics.h"
#include "agent/daemon/progress_hub.h"
#include "agent/daemon/runner.h"
#include "agent/sys/process_groups.h"

namespace agentd::daemon {

/// Builds per-thread StackWorkers and store connections for the running daemon. Every child
/// process they start is recorded in `groups`. Their pipelines and registry clients report to
/// `metrics` (null: to nobody), and their pipelines publish live progress into `progress`
/// (null: nowhere).
std::unique_ptr<Wiring> make_real_wiring(std::shared_ptr<sys::ProcessGroups> groups,
                                         AgentdMetrics* metrics = nullptr,
                                         ProgressHub* progress = nullptr);

}  // namespace agentd::daemon
