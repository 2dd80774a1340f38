#pragma once
// A real etcd cluster for integration tests: N members of Debian's etcd on loopback ports
// chosen free, data under a temporary directory, stopped (SIGKILL) and removed at scope exit.
// Members can be stopped and started again to test what a client does without them.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/sys/http.h"
#include "tests/unit/free_port.h"
#include "tests/unit/temp_dir.h"

namespace agentd::testing {

/// TLS for the members' client URLs: their certificate, and with client_ca the client
/// certificates they accept (--client-cert-auth). `client_cert` and `client_key` are what the
/// cluster's own readiness check presents.
struct EtcdTls {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool client_cert_auth = false;
    std::string client_cert;
    std::string client_key;
};

class EtcdCluster {
public:
    explicit EtcdCluster(int members, std::optional<EtcdTls> tls = std::nullopt)
        : m_tls(std::move(tls)) {
        for (int i = 0; i < members; ++i) {
            m_members.push_back({"m" + std::to_string(i), static_cast<std::uint16_t>(free_port()),
                                 static_cast<std::uint16_t>(free_port()), -1});
        }
        for (std::size_t i = 0; i < m_members.size(); ++i) start(i);
        wait_until_serving();
    }
    ~EtcdCluster() {
        for (std::size_t i = 0; i < m_members.size(); ++i) stop(i);
    }
    EtcdCluster(const EtcdCluster&) = delete;
    EtcdCluster& operator=(const EtcdCluster&) = delete;

    std::vector<std::string> client_urls() const {
        std::vector<std::string> urls;
        for (const auto& member : m_members) urls.push_back(client_url(member));
        return urls;
    }
    std::size_t size() const { return m_members.size(); }

    /// SIGKILL, as a crashed machine.
    void stop(std::size_t member) {
        auto& m = m_members[member];
        if (m.pid <= 0)
            return;
        ::kill(m.pid, SIGKILL);
        int status = 0;
        ::waitpid(m.pid, &status, 0);
        m.pid = -1;
    }

    void start(std::size_t member) {
        auto& m = m_members[member];
        std::string cluster;
        for (const auto& other : m_members) {
            cluster += (cluster.empty() ? "" : ",") + other.name + "=" + peer_url(other);
        }
        std::vector<std::string> args = {
            "etcd",
            "--name=" + m.name,
            "--data-dir=" + (m_dir.path() / m.name).string(),
            "--listen-client-urls=" + client_url(m),
            "--advertise-client-urls=" + client_url(m),
            "--listen-peer-urls=" + peer_url(m),
            "--initial-advertise-peer-urls=" + peer_url(m),
            "--initial-cluster=" + cluster,
            "--initial-cluster-token=agentd-test",
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-outputs=stderr",
            "--heartbeat-interval=50",
            "--election-timeout=500",
        };
        if (m_tls) {
            args.push_back("--cert-file=" + m_tls->cert_file);
            args.push_back("--key-file=" + m_tls->key_file);
            if (m_tls->client_cert_auth) {
                args.push_back("--client-cert-auth");
                args.push_back("--trusted-ca-file=" + m_tls->ca_file);
            }
        }
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        // Its log goes to a file of its own (kept with the data, removed with it).
        const auto log = (m_dir.path() / (m.name + ".log")).string();
        const auto program = etcd_program();
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error("cannot fork to start etcd");
        }
        if (pid == 0) {
            // The member dies with the test process, even when an aborted test never runs the
            // destructor (a failed REQUIRE in a thread, a crash), instead of lingering.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127);
            }
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) {
                ::_exit(127);
            }
            ::execv(program.c_str(), argv.data());
            ::_exit(127);
        }
        m.pid = pid;
    }

    /// etcd's path on $PATH, found before forking (the child only execs).
    static std::string etcd_program() {
        const char* path = std::getenv("PATH");
        std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
        while (!dirs.empty()) {
            const auto colon = dirs.find(':');
            const auto dir = dirs.substr(0, colon);
            dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
            const auto candidate = std::string(dir.empty() ? "." : dir) + "/etcd";
            if (::access(candidate.c_str(), X_OK) == 0) {
                return candidate;
            }
        }
        throw std::runtime_error("cannot start etcd: not on PATH (apt-get install etcd-server)");
    }

    /// Polls every running member until each answers a read (a quorum is up), for 30 s.
    void wait_until_serving() const {
        sys::CurlHttpClient http;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (const auto& member : m_members) {
            if (member.pid <= 0)
                continue;
            for (;;) {
                sys::HttpRequest request;
                request.method = "POST";
                request.url = client_url(member) + "/v3/kv/range";
                request.body = R"({"key":"AA=="})";
                request.timeout = std::chrono::seconds(2);
                if (m_tls) {
                    request.ca_file = m_tls->ca_file;
                    request.cert_file = m_tls->client_cert;
                    request.key_file = m_tls->client_key;
                }
                auto response = http.send(request);
                // With etcd's authentication on, an anonymous read is refused: it serves.
                if (response && response->status == 400 &&
                    response->body.find("user name is empty") != std::string::npos)
                    break;
                if (response && response->status == 200)
                    break;
                if (std::chrono::steady_clock::now() > deadline) {
                    throw std::runtime_error("etcd member " + member.name +
                                             " did not serve within 30 s");
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
    }

private:
    struct Member {
        std::string name;
        std::uint16_t client_port;
        std::uint16_t peer_port;
        pid_t pid;
    };

    std::string client_url(const Member& m) const {
        return (m_tls ? "https" : "http") + std::string("://127.0.0.1:") +
               std::to_string(m.client_port);
    }
    static std::string peer_url(const Member& m) {
        return "http://127.0.0.1:" + std::to_string(m.peer_port);
    }

    std::optional<EtcdTls> m_tls;
    TempDir m_dir;
    std::vector<Member> m_members;
};

}  // namespace agentd::testing
