#pragma once
// `agentd [--config FILE] [--once] [--check-config] [--log-level L]` (SPEC section 7).

namespace agentd::daemon {

/// Exit codes: 0 done; 1 a failure at start (lock, store, API) or, with --once, a cycle that
/// ended failed or could not poll; 2 a usage or configuration error.
int run_agentd(int argc, char** argv);

}  // namespace agentd::daemon
