#pragma once
// The HTTP API on a unix socket (libmicrohttpd, one thread per connection so that a long
// `sync --wait` does not hold up `status`).

#include <filesystem>
#include <string>

#include "agent/daemon/api_backend.h"
#include "agent/sys/result.h"

struct MHD_Daemon;

namespace agentd::daemon {

class ApiServer {
public:
    explicit ApiServer(ApiBackend& backend);
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Starts serving. When systemd passed a socket (LISTEN_FDS), serves that one; otherwise
    /// creates `socket_path` (its directory too), replacing a stale socket there, mode 0660.
    /// Failed with the reason when it cannot listen.
    sys::Result<void> start(const std::filesystem::path& socket_path);
    /// Stops accepting, waits for the connection threads, and removes the socket it created.
    void stop();
    /// Where it listens, for logs: the path, or "systemd socket".
    const std::string& where() const { return m_where; }

private:
    sys::Result<int> listen_on_path(const std::filesystem::path& socket_path);

    ApiBackend& m_backend;
    MHD_Daemon* m_daemon = nullptr;
    std::filesystem::path m_created;  // socket file to remove at stop; empty for systemd's
    std::string m_where;
};

}  // namespace agentd::daemon
