#include "agent/sys/http.h"

#include "agent/sys/process.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace unit_sys_http_test {

using namespace agentd::sys;

namespace {

/// A one-connection HTTP server on a loopback TCP port or a unix socket: it reads one request,
/// answers `response` verbatim (unless empty: then it never answers) and keeps the connection
/// open until the client closes it, so a client waiting for more than was sent would hang.
class CannedServer {
public:
    /// With `tls` (certificate chain file, key file), the connection is TLS.
    explicit CannedServer(std::string response, std::string unix_path = "",
                          std::optional<std::pair<std::string, std::string>> tls = std::nullopt)
        : m_response(std::move(response)), m_unix_path(std::move(unix_path)) {
        if (tls) {
            m_tls = SSL_CTX_new(TLS_server_method());
            REQUIRE(SSL_CTX_use_certificate_chain_file(m_tls, tls->first.c_str()) == 1);
            REQUIRE(SSL_CTX_use_PrivateKey_file(m_tls, tls->second.c_str(), SSL_FILETYPE_PEM) == 1);
        }
        if (m_unix_path.empty()) {
            m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            addr.sin_port = 0;
            REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
            socklen_t len = sizeof addr;
            ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
            m_port = ntohs(addr.sin_port);
        } else {
            m_listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::strncpy(addr.sun_path, m_unix_path.c_str(), sizeof addr.sun_path - 1);
            std::filesystem::remove(m_unix_path);
            REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        }
        REQUIRE(::listen(m_listen, 4) == 0);
        m_thread = std::thread([this] { serve(); });
    }

    ~CannedServer() {
        m_stop = true;
        m_thread.join();
        ::close(m_listen);
        if (m_tls != nullptr) {
            SSL_CTX_free(m_tls);
        }
        if (!m_unix_path.empty()) {
            std::filesystem::remove(m_unix_path);
        }
    }

    std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
        return (m_tls != nullptr ? "https://" : "http://") + host + ":" + std::to_string(m_port) +
               path;
    }
    /// The request as received (valid after the client's send() returned).
    std::string request() const { return m_request; }

private:
    bool wait_readable(int fd) {
        while (!m_stop) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                return true;
            }
        }
        return false;
    }

    void serve() {
        // OpenSSL writes with write(2): a client that hangs up mid-handshake must not kill the
        // test binary with SIGPIPE (blocked, it stays pending on this thread and write fails).
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
        if (!wait_readable(m_listen)) {
            return;
        }
        const int conn = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) {
            return;
        }
        SSL* ssl = nullptr;
        if (m_tls != nullptr) {
            ssl = SSL_new(m_tls);
            SSL_set_fd(ssl, conn);
            if (SSL_accept(ssl) != 1) {  // the client refused our certificate
                SSL_free(ssl);
                ::close(conn);
                return;
            }
        }
        auto read_some = [&](char* buf, std::size_t size) -> ssize_t {
            return ssl != nullptr ? SSL_read(ssl, buf, static_cast<int>(size))
                                  : ::read(conn, buf, size);
        };
        char buf[4096];
        // Read the head, then as much body as Content-Length announces.
        while (wait_readable(conn)) {
            const ssize_t n = read_some(buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            m_request.append(buf, static_cast<std::size_t>(n));
            const auto head_end = m_request.find("\r\n\r\n");
            if (head_end == std::string::npos) {
                continue;
            }
            std::size_t length = 0;
            const auto cl = m_request.find("Content-Length: ");
            if (cl != std::string::npos && cl < head_end) {
                length = std::stoul(m_request.substr(cl + 16));
            }
            if (m_request.size() >= head_end + 4 + length) {
                break;
            }
        }
        if (!m_response.empty()) {
            if (ssl != nullptr) {
                SSL_write(ssl, m_response.data(), static_cast<int>(m_response.size()));
            } else {
                (void)!::write(conn, m_response.data(), m_response.size());
            }
        }
        // Hold the connection until the client closes it (or the test ends).
        while (wait_readable(conn) && read_some(buf, sizeof buf) > 0) {
        }
        if (ssl != nullptr) {
            SSL_free(ssl);
        }
        ::close(conn);
    }

    std::string m_response;
    std::string m_unix_path;
    int m_listen = -1;
    int m_port = 0;
    SSL_CTX* m_tls = nullptr;
    std::string m_request;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

const std::string k_ok_response =
    "HTTP/1.1 201 Created\r\n"
    "Content-Type: application/json\r\n"
    "X-Custom-Header:   Value With Spaces  \r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "{\"ok\":true}";

}  // namespace

TEST_CASE("http: status, lower-cased headers and body are parsed", "[sys][http]") {
    CannedServer server(k_ok_response);
    CurlHttpClient client;
    auto r = client.send({.url = server.url("/v2/x")});
    REQUIRE(r.ok());
    CHECK(r->status == 201);
    CHECK(r->body == "{\"ok\":true}");
    CHECK(r->header("content-type") == std::optional<std::string>("application/json"));
    CHECK(r->header("x-custom-header") == std::optional<std::string>("Value With Spaces"));
    CHECK_FALSE(r->header("X-Custom-Header"));
    CHECK_FALSE(r->header("absent"));
}

TEST_CASE("http: method, headers and body are sent", "[sys][http]") {
    CannedServer server(k_ok_response);
    CurlHttpClient client;
    auto r = client.send({.method = "PUT",
                          .url = server.url("/things/1?a=b"),
                          .headers = {{"Authorization", "Bearer abc"}, {"X-Test", "1"}},
                          .body = "payload-data"});
    REQUIRE(r.ok());
    const auto req = server.request();
    CHECK(req.rfind("PUT /things/1?a=b HTTP/1.1\r\n", 0) == 0);
    CHECK(req.find("Authorization: Bearer abc\r\n") != std::string::npos);
    CHECK(req.find("X-Test: 1\r\n") != std::string::npos);
    CHECK(req.find("Content-Length: 12\r\n") != std::string::npos);
    CHECK(req.substr(req.size() - 12) == "payload-data");
}

TEST_CASE("http: POST without a body sends Content-Length 0", "[sys][http]") {
    CannedServer server(k_ok_response);
    CurlHttpClient client;
    auto r = client.send({.method = "POST", .url = server.url("/images/create")});
    REQUIRE(r.ok());
    CHECK(server.request().rfind("POST /images/create HTTP/1.1\r\n", 0) == 0);
    CHECK(server.request().find("Content-Length: 0\r\n") != std::string::npos);
}

TEST_CASE("http: 4xx is a response, not an error", "[sys][http]") {
    CannedServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    CurlHttpClient client;
    auto r = client.send({.url = server.url("/missing")});
    REQUIRE(r.ok());
    CHECK(r->status == 404);
    CHECK(r->body == "not found");
}

TEST_CASE("http: HEAD does not wait for the announced body", "[sys][http]") {
    CannedServer server(
        "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nDocker-Content-Digest: sha256:abc\r\n\r\n");
    CurlHttpClient client;
    auto r = client.send(
        {.method = "HEAD", .url = server.url("/m"), .timeout = std::chrono::seconds(5)});
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->header("docker-content-digest") == std::optional<std::string>("sha256:abc"));
    CHECK(server.request().rfind("HEAD /m HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("http: on_body streams the body instead of collecting it", "[sys][http]") {
    const std::string body(100000, 'z');
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + body);
    CurlHttpClient client;
    std::string streamed;
    int chunks = 0;
    auto r = client.send({.url = server.url("/blob"), .on_body = [&](std::string_view chunk) {
                              streamed.append(chunk);
                              ++chunks;
                              return true;
                          }});
    REQUIRE(r.ok());
    CHECK(r->body.empty());
    CHECK(streamed == body);
    CHECK(chunks >= 1);
}

TEST_CASE("http: on_body returning false aborts with an error", "[sys][http]") {
    CannedServer server(k_ok_response);
    CurlHttpClient client;
    auto r =
        client.send({.url = server.url("/x"), .on_body = [](std::string_view) { return false; }});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("aborted") != std::string::npos);
}

TEST_CASE("http: a server that never answers times out", "[sys][http]") {
    CannedServer server("");
    CurlHttpClient client;
    auto r = client.send({.url = server.url("/slow"), .timeout = std::chrono::milliseconds(300)});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Error::Kind::Failed);
    CHECK(r.error().message.find("GET http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("http: connection refused is an error naming the request", "[sys][http]") {
    int port = 0;
    {
        // Bind and close a socket to get a port nobody listens on.
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
        ::close(s);
    }
    CurlHttpClient client;
    auto r = client.send({.url = "http://127.0.0.1:" + std::to_string(port) + "/?token=secret"});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("127.0.0.1") != std::string::npos);
    CHECK(r.error().message.find("secret") == std::string::npos);
}

TEST_CASE("http: requests reach a unix socket", "[sys][http]") {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("agentd-http-test-" + std::to_string(::getpid()) + ".sock"))
                          .string();
    CannedServer server(k_ok_response, path);
    CurlHttpClient client;
    auto r = client.send({.url = "http://localhost/_ping", .unix_socket = path});
    REQUIRE(r.ok());
    CHECK(r->status == 201);
    CHECK(server.request().rfind("GET /_ping HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("http: one client serves several requests in a row", "[sys][http]") {
    CurlHttpClient client;
    for (int i = 0; i < 3; ++i) {
        CannedServer server(k_ok_response);
        auto r = client.send({.url = server.url("/n")});
        REQUIRE(r.ok());
        CHECK(r->status == 201);
    }
}

namespace {

/// A CA and a server certificate for IP 127.0.0.1 signed by it, made with the openssl tool.
struct TestPki {
    std::filesystem::path dir;
    std::string ca_cert, server_chain, server_key;

    TestPki() {
        dir = std::filesystem::temp_directory_path() /
              ("agentd-http-pki-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        ca_cert = (dir / "ca.pem").string();
        server_chain = (dir / "server.pem").string();
        server_key = (dir / "server.key").string();
        const auto ca_key = (dir / "ca.key").string();
        const auto csr = (dir / "server.csr").string();
        const auto ext = (dir / "ext.cnf").string();
        {
            std::FILE* f = std::fopen(ext.c_str(), "w");
            std::fputs("subjectAltName=IP:127.0.0.1\n", f);
            std::fclose(f);
        }
        run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days", "2", "-subj",
             "/CN=agentd test CA"});
        run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", server_key, "-out", csr, "-subj", "/CN=127.0.0.1"});
        run({"openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
             "-CAcreateserial", "-out", server_chain, "-days", "2", "-extfile", ext});
    }
    ~TestPki() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    static void run(std::vector<std::string> argv) {
        PosixProcessRunner runner;
        auto r = runner.run({.argv = std::move(argv)});
        REQUIRE(r.ok());
        INFO(r->err);
        REQUIRE(r->success());
    }
};

}  // namespace

TEST_CASE("http: TLS is verified against the given CA file", "[sys][http]") {
    TestPki pki;
    {
        CannedServer server(k_ok_response, "", std::pair{pki.server_chain, pki.server_key});
        CurlHttpClient client;
        auto r = client.send({.url = server.url("/v2/"), .ca_file = pki.ca_cert});
        INFO((r.ok() ? std::string() : r.error().message));
        REQUIRE(r.ok());
        CHECK(r->status == 201);
        CHECK(r->body == "{\"ok\":true}");
    }
    {
        // Without the CA, the self-made certificate is refused.
        CannedServer server(k_ok_response, "", std::pair{pki.server_chain, pki.server_key});
        CurlHttpClient client;
        auto r = client.send({.url = server.url("/v2/")});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().kind == Error::Kind::Failed);
        CHECK(r.error().message.find("certificate") != std::string::npos);
    }
    {
        // The certificate names 127.0.0.1, not localhost: the host name is checked too.
        CannedServer server(k_ok_response, "", std::pair{pki.server_chain, pki.server_key});
        CurlHttpClient client;
        auto r = client.send({.url = server.url("/v2/", "localhost"), .ca_file = pki.ca_cert});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("host name") != std::string::npos);
        CHECK(r.error().message.find("certificate") != std::string::npos);
    }
}

TEST_CASE("http: Docker socket answers GET /_ping with an API version",
          "[sys][http][integration][docker]") {
    CurlHttpClient client;
    auto r = client.send({.url = "http://localhost/_ping", .unix_socket = "/var/run/docker.sock"});
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "OK");
    REQUIRE(r->header("api-version"));
    CHECK_FALSE(r->header("api-version")->empty());
}

TEST_CASE("http: the longest a send_all may take: waves per host, hosts side by side", "[sys]") {
    using namespace std::chrono_literals;
    const auto at = [](std::string url, Duration timeout) {
        HttpRequest request;
        request.url = std::move(url);
        request.timeout = timeout;
        return request;
    };
    const HostLimit two = [](std::string_view) { return std::size_t{2}; };
    // a: 30s, 10s | 5s (two waves: 35s); b: 20s (one wave). The hosts run side by side.
    const std::vector<HttpRequest> requests{at("http://a/1", 10s), at("http://b:5000/x", 20s),
                                            at("http://a/2", 30s), at("http://a/3", 5s)};
    CHECK(longest_send_all(requests, two) == 35s);
    CHECK(longest_send_all(requests, [](std::string_view) { return std::size_t{1}; }) == 45s);
    CHECK(longest_send_all({}, two) == Duration::zero());
    CHECK(longest_send_all({at("http://a/1", 10s), at("http://a/2", Duration::zero())}, two) ==
          Duration::zero());
}

}  // namespace unit_sys_http_test
