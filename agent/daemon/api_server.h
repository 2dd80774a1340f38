#pragma once
// The HTTP server (libmicrohttpd, one thread per connection so that a long `sync --wait` does
// not hold up `status`): the API on a unix socket, and the monitoring routes on the optional
// TCP listener (api.listen, with TLS when cert_file and key_file are set). A server serves
// the one route table it is given: the TCP one never reaches the socket API's routes.

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "agent/config/config.h"
#include "agent/daemon/api_backend.h"
#include "agent/daemon/api_routes.h"
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
    /// The largest request body taken; a bigger one is answered 413 (at once when its
    /// Content-Length says so, without reading it).
    std::size_t max_body = 64 * 1024;
};

class ApiServer {
public:
    /// Answers one request; called on the connection's thread, so it must be thread-safe.
    using Handler = std::function<ApiReply(const ApiRequest&)>;
    /// What libmicrohttpd hands the request callback: the route table and the body limit.
    struct Context {
        Handler* handler = nullptr;
        std::size_t max_body = 0;
        const std::atomic<bool>* stopping = nullptr;  ///< stop() began: streams end
    };

    /// The socket API's routes (api_routes.h) over `backend`.
    explicit ApiServer(ApiBackend& backend, ApiLimits limits = {});
    /// Any route table, e.g. handle_monitoring_request's.
    explicit ApiServer(Handler handler, ApiLimits limits = {});
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Starts serving. When systemd passed a socket (LISTEN_FDS), serves that one; otherwise
    /// creates `socket_path` (its directory too) with mode 0660 from the start. A socket file
    /// already there is replaced only when nobody listens on it (connect() is refused); one
    /// that answers, or any other file, is an error. Failed with the reason when it cannot
    /// listen.
    sys::Result<void> start(const std::filesystem::path& socket_path);
    /// Starts serving on TCP at `listen` (port 0: a free one, see port()); with `tls`, HTTPS
    /// with the PEM certificate (chain) and key read from those files now. Failed, naming the
    /// address or file, when it cannot.
    struct TlsFiles {
        std::filesystem::path cert_file;
        std::filesystem::path key_file;
    };
    sys::Result<void> start_tcp(const config::Listen& listen,
                                const std::optional<TlsFiles>& tls = std::nullopt);
    /// The TCP port it listens on (after start_tcp), 0 otherwise.
    int port() const { return m_port; }
    /// Stops accepting, waits for the connection threads, and removes the socket it created.
    void stop();
    /// Where it listens, for logs: the path, or "systemd socket".
    const std::string& where() const { return m_where; }

private:
    sys::Result<int> listen_on_path(const std::filesystem::path& socket_path);
    sys::Result<void> start_daemon(int fd, unsigned int flags, bool per_ip_limit);

    Handler m_handler;
    ApiLimits m_limits;
    Context m_context;
    std::atomic<bool> m_stopping{false};
    std::string m_tls_cert;  // PEM text; libmicrohttpd reads it while it runs
    std::string m_tls_key;
    int m_port = 0;
    MHD_Daemon* m_daemon = nullptr;
    std::filesystem::path m_created;  // socket file to remove at stop; empty for systemd's
    std::string m_where;
};

}  // namespace agentd::daemon
