#pragma once
// The HTTP API on a unix socket: an accept thread and one thread per connection, so that a long
// `sync --wait` does not hold up `status`. Written on plain sockets (http_message.h) rather
// than on libmicrohttpd, whose library constructor initialises GnuTLS in every process that
// links it: about 1 MB of agentd's resident memory for TLS the API never speaks.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "agent/daemon/api_backend.h"
#include "agent/sys/result.h"

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
    /// Stops accepting, ends idle connections, waits for the connection threads, and removes
    /// the socket it created.
    void stop();
    /// Where it listens, for logs: the path, or "systemd socket".
    const std::string& where() const { return m_where; }

private:
    struct Connection {
        int fd = -1;
        std::thread thread;
        bool done = false;  // guarded by m_mutex
    };

    sys::Result<int> listen_on_path(const std::filesystem::path& socket_path);
    void accept_loop();
    void serve(Connection& connection);
    void reap_finished_locked(std::list<Connection>& finished);

    ApiBackend& m_backend;
    int m_listen_fd = -1;
    int m_wake_fd = -1;  // eventfd: stop() wakes the accept thread
    std::thread m_accept_thread;
    std::mutex m_mutex;
    std::list<Connection> m_connections;  // guarded by m_mutex
    std::atomic<bool> m_stopping{false};
    std::filesystem::path m_created;  // socket file to remove at stop; empty for systemd's
    std::string m_where;
};

}  // namespace agentd::daemon
