#pragma once
// A real etcd cluster for integration tests: N members of Debian's etcd on loopback ports
// chosen free, data under a temporary directory, stopped (SIGKILL) and removed at scope exit.
// Members can be stopped and started again to test what a client does without them.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent/sys/http.h"
#include "tests/unit/free_port.h"
#include "tests/unit/temp_dir.h"

extern char** environ;

namespace agentd::testing {

class EtcdCluster {
public:
    explicit EtcdCluster(int members) {
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
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        // Its log goes to a file of its own (kept with the data, removed with it).
        const auto log = (m_dir.path() / (m.name + ".log")).string();
        posix_spawn_file_actions_t files;
        ::posix_spawn_file_actions_init(&files);
        ::posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                           0600);
        ::posix_spawn_file_actions_adddup2(&files, 1, 2);
        pid_t pid = -1;
        const int spawned = ::posix_spawnp(&pid, "etcd", &files, nullptr, argv.data(), environ);
        ::posix_spawn_file_actions_destroy(&files);
        if (spawned != 0) {
            throw std::runtime_error("cannot start etcd (apt-get install etcd-server)");
        }
        m.pid = pid;
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
                auto response = http.send(request);
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

    static std::string client_url(const Member& m) {
        return "http://127.0.0.1:" + std::to_string(m.client_port);
    }
    static std::string peer_url(const Member& m) {
        return "http://127.0.0.1:" + std::to_string(m.peer_port);
    }

    TempDir m_dir;
    std::vector<Member> m_members;
};

}  // namespace agentd::testing
