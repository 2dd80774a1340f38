#pragma once
// The service manager's side of agentd (systemd's sd_notify, watchdog and socket-activation
// protocols), spoken directly: each is a datagram or a few environment variables, documented
// in sd_notify(3), sd_watchdog_enabled(3) and sd_listen_fds(3). libsystemd would load six
// libraries (itself, gcrypt, gpg-error, lz4, lzma, cap) that nothing else in agentd needs, about
// 0.75 MB of resident memory for these few lines.

#include <chrono>
#include <optional>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::sys {

/// Sends `state` ("READY=1\nSTATUS=...") to the datagram socket named by $NOTIFY_SOCKET (a path,
/// or "@name" in the abstract namespace). Succeeds without sending when $NOTIFY_SOCKET is unset.
Result<void> notify_service_manager(std::string_view state);

/// $WATCHDOG_USEC when the watchdog applies to this process ($WATCHDOG_PID unset or ours);
/// zero when it is off or the variables are malformed.
std::chrono::microseconds service_watchdog_interval();

/// The listening AF_UNIX stream socket passed by socket activation (fd 3, $LISTEN_FDS >= 1,
/// $LISTEN_PID ours), made close-on-exec; nullopt when there is none. Unsets LISTEN_PID,
/// LISTEN_FDS and LISTEN_FDNAMES either way, so that no child takes the socket for its own.
std::optional<int> take_listening_unix_socket();

}  // namespace agentd::sys
