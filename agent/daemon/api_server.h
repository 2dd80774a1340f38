#pragma once
// The HTTP API on a unix socket (libmicrohttpd, one thread per connection so that a long
// `sync --wait` does not hold up `status`).

#include <cstddef>
#include <filesystem>
#include <string>

#include "agent/daemon/api_backend.h"
#include "agent/sys/clock.h"
#include "agent/sys/result.h"

struct MHD_Daemon;

namespace agentd::daemon {

/// How much the API serves at once. Every connection is a thread; the socket is reachable by root
/// and the agentd group only, and a client that trickles bytes slower than the timeout keeps its
/// connection: these limits keep a stuck or careless client from exhausting threads, they are
/// not a defence against a hostile member of the group.
struct ApiLimits {
    /// Open connections at most; more wait in the listen backlog until one ends.
    std::size_t connections = 32;
    /// A connection that sends nothing for this long (idle, or a request cut off half way) is
    /// closed. Whole seconds (libmicrohttpd's unit), at least one.
    sys::Duration idle_timeout = std::chrono::seconds(30);
};

class ApiServer {
public:
    explicit ApiServer(ApiBackend& backend, ApiLimits limits = {});
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Starts serving. When systemd passed a socket (LISTEN_FDS), serves that one; otherwise
    /// creates `socket_path` (its directory too) with mode 0660 from the start. A socket file
    /// already there is replaced only when nobody listens on it (connect() is refused); one
    /// that answers, or any other file, is an error. Failed with the reason when it cannot
    /// listen.
    sys::Result<void> start(const std::filesystem::path& socket_path);
    /// Stops accepting, waits for the connection threads, and removes the socket it created.
    void stop();
    /// Where it listens, for logs: the path, or "systemd socket".
    const std::string& where() const { return m_where; }

private:
    sys::Result<int> listen_on_path(const std::filesystem::path& socket_path);

    ApiBackend& m_backend;
    ApiLimits m_limits;
    MHD_Daemon* m_daemon = nullptr;
    std::filesystem::path m_created;  // socket file to remove at stop; empty for systemd's
    std::string m_where;
};

}  // namespace agentd::daemon
