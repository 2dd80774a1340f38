#pragma once
// The one place where the real implementations are constructed: SQLite, libgit2, the registry
// client, the Docker Engine, compose, curl. Everything else in daemon/ sees interfaces.

#include <memory>

#include "agent/daemon/runner.h"

namespace agentd::daemon {

/// Builds per-thread StackWorkers and store connections for the running daemon.
std::unique_ptr<Wiring> make_real_wiring();

}  // namespace agentd::daemon
