#include "agent/daemon/api_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/daemon/api_routes.h"
#include "agent/daemon/http_message.h"
#include "agent/sys/service_manager.h"

namespace agentd::daemon {
namespace {

// API requests are small JSON objects; anything bigger is refused before it is parsed.
constexpr std::size_t k_max_body = 64 * 1024;
constexpr std::size_t k_max_head = 16 * 1024;
// A refused body is read (and dropped) up to this much, so that the client, still sending,
// gets to read the 413 instead of a broken pipe.
constexpr std::size_t k_max_drained = 1024 * 1024;
// Connections at once; agentctl opens one per command. More get a 503 at once.
constexpr std::size_t k_max_connections = 64;
// A client has this long for each read or write: one that stalls does not keep a thread.
constexpr int k_io_timeout_seconds = 30;

std::string errno_text() {
    return std::strerror(errno);
}

/// Writes all of `data`; false when the peer went away or stalled.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool send_json(int fd, int status, const nlohmann::json& body) {
    // Replace invalid UTF-8 (from a file or a remote) instead of throwing.
    const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return write_all(fd, format_response(status, text + "\n"));
}

enum class HeadRead { Complete, Closed, TooLarge };

/// Reads into `buffer` until it holds the end of the head ("\r\n\r\n"), whose offset goes to
/// `head_length`. Closed when the peer closed or stalled first. Bytes after the head (the
/// body's start) stay in `buffer`.
HeadRead read_head(int fd, std::string& buffer, std::size_t& head_length) {
    char chunk[4096];
    for (;;) {
        if (const auto end = buffer.find("\r\n\r\n"); end != std::string::npos) {
            head_length = end;
            return HeadRead::Complete;
        }
        if (buffer.size() > k_max_head) {
            return HeadRead::TooLarge;
        }
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return HeadRead::Closed;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

/// Reads until `body` holds `length` bytes; false when the peer closed or stalled first.
bool read_body(int fd, std::string& body, std::size_t length) {
    char chunk[4096];
    while (body.size() < length) {
        const auto n = ::recv(fd, chunk, std::min(sizeof chunk, length - body.size()), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        body.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
}

void drain(int fd, std::size_t limit) {
    char chunk[4096];
    std::size_t read = 0;
    while (read < limit) {
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            return;
        }
        read += static_cast<std::size_t>(n);
    }
}

void set_timeouts(int fd) {
    timeval timeout{};
    timeout.tv_sec = k_io_timeout_seconds;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

/// Reads one request from `fd`, answers it through `backend`, and returns.
void handle_connection(int fd, ApiBackend& backend) {
    set_timeouts(fd);
    std::string buffer;
    std::size_t head_length = 0;
    switch (read_head(fd, buffer, head_length)) {
        case HeadRead::Complete:
            break;
        case HeadRead::Closed:
            return;  // closed or stalled before a whole head arrived: nobody to answer
        case HeadRead::TooLarge:
            send_json(fd, 431, {{"error", "request head too large"}});
            return;
    }
    auto head = parse_request_head(std::string_view(buffer).substr(0, head_length));
    if (!head) {
        send_json(fd, 400, {{"error", head.error().message}});
        return;
    }
    std::string body = buffer.substr(head_length + 4);
    if (body.size() > head->content_length) {
        send_json(fd, 400, {{"error", "more data than Content-Length announced"}});
        return;
    }
    if (head->content_length > k_max_body) {
        send_json(fd, 413, {{"error", "request body too large"}});
        ::shutdown(fd, SHUT_WR);
        drain(fd, k_max_drained);
        return;
    }
    if (!read_body(fd, body, head->content_length)) {
        return;
    }
    ApiRequest request;
    request.method = std::move(head->method);
    request.path = std::move(head->path);
    request.query = std::move(head->query);
    request.body = std::move(body);
    const ApiReply reply = handle_request(backend, request);
    spdlog::debug("api: {} {} -> {}", request.method, request.path, reply.status);
    send_json(fd, reply.status, reply.body);
}

}  // namespace

ApiServer::ApiServer(ApiBackend& backend) : m_backend(backend) {}

ApiServer::~ApiServer() {
    stop();
}

sys::Result<int> ApiServer::listen_on_path(const std::filesystem::path& socket_path) {
    const std::string path = socket_path.string();
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        return sys::Error::invalid(fmt::format("api socket {}: path empty or too long", path));
    }
    std::error_code ec;
    if (socket_path.has_parent_path()) {
        std::filesystem::create_directories(socket_path.parent_path(), ec);
    }
    struct stat st {};
    // Only a socket is replaced: a stale one from a killed agentd. Any other file is an error.
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sys::Error::failed(fmt::format("api socket: {}", errno_text()));
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::chmod(path.c_str(), 0660) != 0 || ::listen(fd, 64) != 0) {
        const std::string reason = errno_text();
        ::close(fd);
        return sys::Error::failed(fmt::format("api socket {}: {}", path, reason));
    }
    m_created = socket_path;
    return fd;
}

sys::Result<void> ApiServer::start(const std::filesystem::path& socket_path) {
    if (m_listen_fd >= 0) {
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
    m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_wake_fd < 0) {
        const std::string reason = errno_text();
        ::close(fd);
        stop();
        return sys::Error::failed(fmt::format("api on {}: eventfd: {}", m_where, reason));
    }
    m_listen_fd = fd;
    m_stopping = false;
    m_accept_thread = std::thread([this] { accept_loop(); });
    return {};
}

void ApiServer::reap_finished_locked(std::list<Connection>& finished) {
    for (auto it = m_connections.begin(); it != m_connections.end();) {
        auto next = std::next(it);
        if (it->done) {
            finished.splice(finished.end(), m_connections, it);
        }
        it = next;
    }
}

void ApiServer::accept_loop() {
    for (;;) {
        pollfd fds[2] = {{m_listen_fd, POLLIN, 0}, {m_wake_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
            spdlog::error("api: poll: {}", errno_text());
            return;
        }
        if (m_stopping) {
            return;
        }
        std::list<Connection> finished;
        {
            std::lock_guard lock(m_mutex);
            reap_finished_locked(finished);
        }
        for (auto& c : finished) {
            c.thread.join();  // already returned: joining only frees its stack
        }
        if ((fds[0].revents & POLLIN) == 0) {
            continue;
        }
        const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
                spdlog::warn("api: accept: {}", errno_text());
            }
            continue;
        }
        std::lock_guard lock(m_mutex);
        if (m_connections.size() >= k_max_connections) {
            set_timeouts(fd);
            send_json(fd, 503, {{"error", "too many API connections at once"}});
            ::close(fd);
            continue;
        }
        auto& connection = m_connections.emplace_back();
        connection.fd = fd;
        connection.thread = std::thread([this, &connection] { serve(connection); });
    }
}

void ApiServer::serve(Connection& connection) {
    try {
        handle_connection(connection.fd, m_backend);
    } catch (const std::exception& e) {
        spdlog::error("api: {}", e.what());
    }
    std::lock_guard lock(m_mutex);
    ::close(connection.fd);
    connection.fd = -1;
    connection.done = true;
}

void ApiServer::stop() {
    if (m_accept_thread.joinable()) {
        m_stopping = true;
        const std::uint64_t one = 1;
        (void)!::write(m_wake_fd, &one, sizeof one);
        m_accept_thread.join();
    }
    std::list<Connection> connections;
    {
        std::lock_guard lock(m_mutex);
        // A client still sending (or idle) is cut off; one waiting for its answer gets it,
        // since the daemon has answered every pending request before it stops the API.
        for (auto& c : m_connections) {
            if (c.fd >= 0) {
                ::shutdown(c.fd, SHUT_RD);
            }
        }
        connections.swap(m_connections);
    }
    for (auto& c : connections) {
        c.thread.join();
    }
    if (m_listen_fd >= 0) {
        ::close(m_listen_fd);
        m_listen_fd = -1;
    }
    if (m_wake_fd >= 0) {
        ::close(m_wake_fd);
        m_wake_fd = -1;
    }
    if (!m_created.empty()) {
        std::error_code ec;
        std::filesystem::remove(m_created, ec);
        m_created.clear();
    }
}

}  // namespace agentd::daemon
