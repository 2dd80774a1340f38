#pragma once
// The service manager's side of agentd: systemd's sd_notify, watchdog and socket-activation
// protocols, through libsystemd (sd_notify(3), sd_watchdog_enabled(3), sd_listen_fds(3)).
// libsystemd's pages are file-backed and shared with every other systemd client on the host,
// so the resident memory it adds is not agentd's own: bench/ reports private memory beside RSS.

#include <chrono>
#include <optional>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::sys {

/// Sends `state` ("READY=1\nSTATUS=...") to the datagram socket named by $NOTIFY_SOCKET (a path,
/// or "@name" in the abstract namespace). Succeeds without sending when $NOTIFY_SOCKET is unset;
/// a $NOTIFY_SOCKET that names no socket is InvalidInput, a failed send Failed.
Result<void> notify_service_manager(std::string_view state);

/// $WATCHDOG_USEC when the watchdog applies to this process ($WATCHDOG_PID unset or ours);
/// zero when it is off or the variables are malformed.
std::chrono::microseconds service_watchdog_interval();

/// The listening AF_UNIX stream socket passed by socket activation (fd 3, $LISTEN_FDS >= 1,
/// $LISTEN_PID ours), made close-on-exec; nullopt when there is none. Unsets LISTEN_PID,
/// LISTEN_FDS and LISTEN_FDNAMES either way, so that no child takes the socket for its own.
std::optional<int> take_listening_unix_socket();

}  // namespace agentd::sys
