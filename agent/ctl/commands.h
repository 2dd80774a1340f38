#pragma once
// agentctl (SPEC section 6): the command table over the daemon's HTTP API.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::ctl {

/// Exit codes of SPEC section 6.
constexpr int k_exit_ok = 0;
constexpr int k_exit_failed = 1;       ///< the operation failed (rollback not passing the gate)
constexpr int k_exit_usage = 2;        ///< usage or config error, unknown stack
constexpr int k_exit_unreachable = 3;  ///< agentd not reachable

constexpr const char* k_default_socket = "/run/agentd/api.sock";

/// What a command needs from outside: streams, the HTTP client, the clock, the environment.
struct CtlContext {
    std::ostream& out;
    std::ostream& err;
    sys::HttpClient& http;
    sys::Clock& clock;
    std::optional<std::string> env_socket;  ///< $AGENTD_SOCKET
    /// A second client for following live progress while `http` asks for the cycle
    /// (`sync STACK --wait`); null: that command shows only its outcome.
    sys::HttpClient* stream_http = nullptr;
    /// `out` is a terminal: live progress is shown with pull lines rewritten in place.
    bool terminal = false;
};

/// Runs agentctl with `args` (without the program name); returns the exit code.
int run_agentctl(const std::vector<std::string>& args, CtlContext& context);
/// main(): the real streams, curl, clock and environment.
int run_agentctl(int argc, char** argv);

/// 1 for the outcomes that mean the operation failed (rolled_back, failed, rejected,
/// poll_error, interrupted), else 0.
int exit_code_for_outcome(const std::string& outcome);
/// Exit code for an API error status: 400, 404, 405 -> 2; anything else -> 1.
int exit_code_for_status(long status);

}  // namespace agentd::ctl
