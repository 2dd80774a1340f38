#include "agent/daemon/api_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/daemon/api_routes.h"
#include "agent/sys/files.h"
#include "agent/sys/service_manager.h"

namespace agentd::daemon {
namespace {

struct RequestContext {
    std::string body;
    bool too_large = false;
};

MHD_Result collect_query(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto& query = *static_cast<std::map<std::string, std::string>*>(cls);
    if (key != nullptr) {
        query[key] = value != nullptr ? value : "";
    }
    return MHD_YES;
}

MHD_Result collect_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto& headers = *static_cast<std::map<std::string, std::string>*>(cls);
    if (key != nullptr) {
        headers[key] = value != nullptr ? value : "";
    }
    return MHD_YES;
}

std::string peer_address(MHD_Connection* connection) {
    const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == nullptr || info->client_addr == nullptr) {
        return "";
    }
    char text[INET6_ADDRSTRLEN] = {};
    const sockaddr* address = info->client_addr;
    if (address->sa_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                    sizeof text);
    } else if (address->sa_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                    sizeof text);
    }
    return text;
}

MHD_Result send_text(MHD_Connection* connection, int status, std::string text,
                     const char* content_type) {
    MHD_Response* response =
        MHD_create_response_from_buffer(text.size(), text.data(), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) {
        return MHD_NO;
    }
    MHD_add_response_header(response, "Content-Type", content_type);
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(status), response);
    MHD_destroy_response(response);
    return queued;
}

/// A streamed answer being sent: what libmicrohttpd's content reader reads from.
struct StreamContext {
    std::shared_ptr<ApiStream> stream;
    const std::atomic<bool>* stopping = nullptr;
    std::string pending;
    std::size_t sent = 0;  // of pending
};

/// How long the reader waits for the stream before looking at `stopping` again.
constexpr auto k_stream_poll = std::chrono::milliseconds(250);

/// libmicrohttpd's content reader (called on the connection's own thread, which may block):
/// the stream's next bytes, waiting for them; the end of the stream when it is over or the
/// server stops. Never 0, which would have libmicrohttpd call again at once.
ssize_t read_stream(void* cls, std::uint64_t /*pos*/, char* buffer, std::size_t max) {
    auto& context = *static_cast<StreamContext*>(cls);
    while (context.sent == context.pending.size()) {
        if (context.stopping->load()) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        std::optional<std::string> next;
        try {
            next = context.stream->next(k_stream_poll);
        } catch (const std::exception& e) {
            spdlog::warn("api: event stream: {}", e.what());
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (!next) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        context.pending = std::move(*next);
        context.sent = 0;
    }
    const std::size_t n = std::min(max, context.pending.size() - context.sent);
    std::memcpy(buffer, context.pending.data() + context.sent, n);
    context.sent += n;
    return static_cast<ssize_t>(n);
}

void free_stream(void* cls) {
    delete static_cast<StreamContext*>(cls);  // unsubscribes: the client went away or it ended
}

MHD_Result send_stream(MHD_Connection* connection, int status, std::shared_ptr<ApiStream> stream,
                       const char* content_type, const std::atomic<bool>* stopping) {
    auto* context = new StreamContext{std::move(stream), stopping, {}, 0};
    MHD_Response* response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream,
                                                               context, free_stream);
    if (response == nullptr) {
        delete context;
        return MHD_NO;
    }
    MHD_add_response_header(response, "Content-Type", content_type);
    MHD_add_response_header(response, "Cache-Control", "no-cache");
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(status), response);
    MHD_destroy_response(response);
    return queued;
}

MHD_Result send_json(MHD_Connection* connection, int status, const nlohmann::json& body) {
    // Replace invalid UTF-8 (from a file or a remote) instead of throwing.
    std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return send_text(connection, status, std::move(text), "application/json");
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* upload_data,
                      std::size_t* upload_data_size, void** con_cls) {
    const auto& server = *static_cast<const ApiServer::Context*>(cls);
    if (*con_cls == nullptr) {
        *con_cls = new RequestContext();
        // A body announced bigger than the limit is refused before any of it is read.
        const char* length =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
        if (length != nullptr) {
            char* end = nullptr;
            errno = 0;
            const unsigned long long announced = std::strtoull(length, &end, 10);
            if (errno == ERANGE || announced > server.max_body) {
                return send_json(connection, 413, {{"error", "request body too large"}});
            }
        }
        return MHD_YES;
    }
    auto& context = *static_cast<RequestContext*>(*con_cls);
    if (*upload_data_size != 0) {
        if (context.body.size() + *upload_data_size > server.max_body) {
            context.too_large = true;
        } else {
            context.body.append(upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (context.too_large) {
        return send_json(connection, 413, {{"error", "request body too large"}});
    }
    ApiRequest request;
    request.method = method;
    request.path = url;
    request.body = std::move(context.body);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_query, &request.query);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &request.headers);
    request.peer = peer_address(connection);
    const auto& handler = *server.handler;
    ApiReply reply;
    try {
        reply = handler(request);
    } catch (const std::exception& e) {
        spdlog::error("api: {} {}: {}", request.method, request.path, e.what());
        reply = {500, {{"error", e.what()}}, "", "", nullptr};
    }
    spdlog::debug("api: {} {} -> {}", request.method, request.path, reply.status);
    if (reply.stream) {
        return send_stream(connection, reply.status, std::move(reply.stream),
                           reply.content_type.c_str(), server.stopping);
    }
    if (!reply.content_type.empty()) {
        return send_text(connection, reply.status, std::move(reply.text),
                         reply.content_type.c_str());
    }
    return send_json(connection, reply.status, reply.body);
}

void on_completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<RequestContext*>(*con_cls);
    *con_cls = nullptr;
}

void on_mhd_log(void*, const char* format, va_list args) {
    char buffer[512];
    std::vsnprintf(buffer, sizeof buffer, format, args);
    std::string line = buffer;
    while (!line.empty() && line.back() == '\n') {
        line.pop_back();
    }
    spdlog::warn("api: {}", line);
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

ApiServer::ApiServer(ApiBackend& backend, ApiLimits limits)
    : m_handler([&backend](const ApiRequest& request) { return handle_request(backend, request); }),
      m_limits(limits) {}

ApiServer::ApiServer(Handler handler, ApiLimits limits)
    : m_handler(std::move(handler)), m_limits(limits) {}

ApiServer::~ApiServer() {
    stop();
}

sys::Result<int> ApiServer::listen_on_path(const std::filesystem::path& socket_path) {
    const std::string path = socket_path.string();
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        return sys::Error::invalid(fmt::format("api socket {}: path empty or too long", path));
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    std::error_code ec;
    if (socket_path.has_parent_path()) {
        std::filesystem::create_directories(socket_path.parent_path(), ec);
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        // Only a socket nobody listens on is replaced: a stale one from a killed agentd. One that
        // answers belongs to a running agentd (or something else): never take it over.
        if (!S_ISSOCK(st.st_mode)) {
            return sys::Error::failed(
                fmt::format("api socket {}: exists and is not a socket; not replacing it", path));
        }
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0) {
            return sys::Error::failed(fmt::format("api socket: {}", errno_text()));
        }
        const int connected =
            ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
        const int error = errno;
        ::close(probe);
        if (connected == 0) {
            return sys::Error::failed(fmt::format(
                "api socket {}: another process is listening on it (is another agentd running?)",
                path));
        }
        if (error != ECONNREFUSED) {
            return sys::Error::failed(
                fmt::format("api socket {}: cannot tell whether it is in "
                            "use: {}; not replacing it",
                            path, std::strerror(error)));
        }
        ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sys::Error::failed(fmt::format("api socket: {}", errno_text()));
    }
    // bind() creates the file with the socket's own mode less the umask: set 0660 on the socket
    // first, so the file is never more open than that (a chmod after bind would leave a moment
    // at 0777 less the umask). Unlike changing the process-wide umask, this touches nothing but
    // this socket. A umask that took the group's bits away is undone after bind: that only
    // widens a file that was narrower all along.
    struct stat created {};
    if (::fchmod(fd, 0660) != 0 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::lstat(path.c_str(), &created) != 0 ||
        ((created.st_mode & 07777) != 0660 && ::chmod(path.c_str(), 0660) != 0) ||
        ::listen(fd, 64) != 0) {
        const std::string reason = errno_text();
        ::close(fd);
        return sys::Error::failed(fmt::format("api socket {}: {}", path, reason));
    }
    m_created = socket_path;
    return fd;
}

sys::Result<void> ApiServer::start(const std::filesystem::path& socket_path) {
    if (m_daemon != nullptr) {
        return sys::Error::failed("api server already started");
    }
    int fd = -1;
    if (const auto passed = sys::take_listening_unix_socket()) {
        fd = *passed;
        m_where = "systemd socket";
    } else {
        auto listening = listen_on_path(socket_path);
        if (!listening) {
            return listening.error();
        }
        fd = *listening;
        m_where = socket_path.string();
    }
    return start_daemon(fd, 0, false);
}

sys::Result<void> ApiServer::start_daemon(int fd, unsigned int flags, bool per_ip_limit) {
    // At the connection limit libmicrohttpd stops accepting (the listening socket is left out of
    // its poll), so a new client waits in the backlog until a connection ends or times out; the
    // timeout closes a connection that sends nothing (an idle keep-alive, a request that stops
    // half way). A handler that runs long (`sync --wait`) is not idle. The per-IP limit applies
    // on TCP only: a unix socket's peers have no address.
    const unsigned int per_ip =
        per_ip_limit ? static_cast<unsigned int>(std::max<std::size_t>(1, m_limits.connections / 4))
                     : 0;
    const auto timeout = static_cast<unsigned int>(std::max<long long>(
        1, std::chrono::duration_cast<std::chrono::seconds>(m_limits.idle_timeout).count()));
    m_context.handler = &m_handler;
    m_context.max_body = m_limits.max_body;
    m_context.stopping = &m_stopping;
    m_stopping = false;
    const unsigned int mode =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | flags;
    if ((flags & MHD_USE_TLS) != 0) {
        m_daemon = MHD_start_daemon(
            mode, 0, nullptr, nullptr, on_request, &m_context, MHD_OPTION_EXTERNAL_LOGGER,
            on_mhd_log, nullptr, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, nullptr, MHD_OPTION_CONNECTION_LIMIT,
            static_cast<unsigned int>(m_limits.connections), MHD_OPTION_CONNECTION_TIMEOUT, timeout,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_HTTPS_MEM_CERT,
            m_tls_cert.c_str(), MHD_OPTION_HTTPS_MEM_KEY, m_tls_key.c_str(), MHD_OPTION_END);
    } else {
        m_daemon = MHD_start_daemon(
            mode, 0, nullptr, nullptr, on_request, &m_context, MHD_OPTION_EXTERNAL_LOGGER,
            on_mhd_log, nullptr, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, nullptr, MHD_OPTION_CONNECTION_LIMIT,
            static_cast<unsigned int>(m_limits.connections), MHD_OPTION_CONNECTION_TIMEOUT, timeout,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
    }
    if (m_daemon == nullptr) {
        ::close(fd);
        stop();
        return sys::Error::failed(fmt::format("api on {}: libmicrohttpd did not start", m_where));
    }
    return {};
}

sys::Result<void> ApiServer::start_tcp(const config::Listen& listen,
                                       const std::optional<TlsFiles>& tls) {
    if (m_daemon != nullptr) {
        return sys::Error::failed("api server already started");
    }
    const bool v6 = listen.host.find(':') != std::string::npos;
    m_where = v6 ? fmt::format("[{}]:{}", listen.host, listen.port)
                 : fmt::format("{}:{}", listen.host, listen.port);
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            return sys::Error::failed(
                fmt::format("api.listen {}: this libmicrohttpd has no TLS support", m_where));
        }
        auto cert = sys::read_file(tls->cert_file);
        if (!cert) {
            return sys::Error::failed(
                fmt::format("api.cert_file {}: {}", tls->cert_file.string(), cert.error().message));
        }
        auto key = sys::read_file(tls->key_file);
        if (!key) {
            return sys::Error::failed(
                fmt::format("api.key_file {}: {}", tls->key_file.string(), key.error().message));
        }
        m_tls_cert = std::move(*cert);
        m_tls_key = std::move(*key);
    }
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sys::Error::failed(fmt::format("api.listen {}: {}", m_where, errno_text()));
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (v6) {
        auto& a = reinterpret_cast<sockaddr_in6&>(address);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<std::uint16_t>(listen.port));
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        if (::inet_pton(AF_INET6, listen.host.c_str(), &a.sin6_addr) != 1) {
            ::close(fd);
            return sys::Error::invalid(fmt::format("api.listen {}: not an IPv6 address", m_where));
        }
        length = sizeof a;
    } else {
        auto& a = reinterpret_cast<sockaddr_in&>(address);
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(listen.port));
        if (::inet_pton(AF_INET, listen.host.c_str(), &a.sin_addr) != 1) {
            ::close(fd);
            return sys::Error::invalid(fmt::format("api.listen {}: not an IPv4 address", m_where));
        }
        length = sizeof a;
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 64) != 0) {
        const std::string reason = errno_text();
        ::close(fd);
        return sys::Error::failed(fmt::format("api.listen {}: {}", m_where, reason));
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) == 0) {
        m_port = ntohs(v6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                          : reinterpret_cast<sockaddr_in&>(bound).sin_port);
    }
    if (listen.port == 0) {
        m_where = v6 ? fmt::format("[{}]:{}", listen.host, m_port)
                     : fmt::format("{}:{}", listen.host, m_port);
    }
    if (tls) {
        m_where = "https://" + m_where;
    }
    return start_daemon(fd, tls ? MHD_USE_TLS : 0, true);
}

void ApiServer::stop() {
    // Streamed answers (GET /v1/events) end within a poll of their reader, so that stopping
    // the daemon does not wait for the clients following them.
    m_stopping = true;
    if (m_daemon != nullptr) {
        MHD_stop_daemon(m_daemon);
        m_daemon = nullptr;
    }
    m_port = 0;
    if (!m_created.empty()) {
        std::error_code ec;
        std::filesystem::remove(m_created, ec);
        m_created.clear();
    }
}

}  // namespace agentd::daemon
