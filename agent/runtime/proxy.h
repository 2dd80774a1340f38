#pragma once
// The proxy of blue-green deployments: nginx on the host or as a service of the stack's shared
// compose project, told which slot gets the traffic through an upstream file agentd owns
// (blue_green.proxy.upstream_file, included by the admin's nginx configuration in its http
// block).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"
#include "agent/runtime/engine.h"
#include "agent/sys/clock.h"
#include "agent/sys/process.h"
#include "agent/sys/result.h"

namespace agentd::runtime {

/// What the proxy sends traffic to: one nginx upstream per slot service.
struct ProxyRoutes {
    std::string stack;
    std::string slot;             ///< "blue" or "green"
    std::int64_t deployment = 0;  ///< the deployment whose slot this is
    /// upstream name -> servers "HOST:PORT"
    std::map<std::string, std::vector<std::string>> upstreams;
    bool operator==(const ProxyRoutes&) const = default;
};

/// InvalidInput naming the first value that may not go into the upstream file: a stack name
/// agent.yaml would refuse, a slot other than blue/green, a negative deployment, no upstreams,
/// an upstream name not of [A-Za-z0-9_-], an upstream without servers, a server not HOST:PORT
/// (HOST an IPv4 literal in dotted-quad form or a DNS name of [A-Za-z0-9.-] labels, PORT
/// 1-65535 in plain decimal). What it accepts cannot change the meaning of nginx's
/// configuration beyond these upstreams.
sys::Result<void> check_routes(const ProxyRoutes& routes);

/// The upstream file: a first line `# agentd: stack=S slot=blue deployment=12` (the truth
/// agentd reconciles against after a restart), then per upstream `upstream NAME {\n    server
/// HOST:PORT;\n}` (servers in order). For routes check_routes accepts. Pure.
std::string render_upstreams(const ProxyRoutes& routes);

/// The routes a file written by render_upstreams describes; InvalidInput naming the line when
/// it is not one (a header that is missing or malformed, a slot other than blue/green, a line
/// that is neither `upstream NAME {`, `server HOST:PORT;` nor `}`, an upstream defined twice or
/// not closed, a value check_routes refuses). Blank lines and indentation are not significant.
/// Pure.
sys::Result<ProxyRoutes> parse_upstreams(std::string_view text);

/// How long a switch took, for events and benchmarks.
struct Switched {
    sys::Duration took{};
};

/// Where the proxy runs, as far as agent.yaml does not say it: told by the layer that knows the
/// stack's compose projects.
struct ProxySite {
    /// With nginx: service, the compose project the service runs in (the stack's shared one).
    std::string project;
};

class Proxy {
public:
    virtual ~Proxy() = default;
    /// The routes in config.upstream_file; nullopt when the file does not exist. InvalidInput
    /// (naming the file and line) when it is not a file route() writes.
    virtual sys::Result<std::optional<ProxyRoutes>> current(const config::ProxyConfig& config) = 0;
    /// Writes the routes atomically (mode 0644), tests nginx's configuration with them, has
    /// the master reload, then waits until new connections use the new upstreams. On any
    /// failure the previous file is put back (or the file removed when there was none), and
    /// when the reload had been sent it is reloaded again with the old file. InvalidInput when
    /// check_routes refuses the routes (nothing written) or "nginx -t refused the upstreams:
    /// <its last lines>"; Failed for a test that could not run, a master that cannot be found,
    /// and a reload that failed or did not take.
    virtual sys::Result<Switched> route(const config::ProxyConfig& config, const ProxySite& site,
                                        const ProxyRoutes& routes) = 0;
};

/// nginx, on the host or as a compose service, and /proc.
///
/// The two kinds differ in three things only: with nginx: host, config.test and config.reload
/// run as commands on the host (argv only) and the master is named by config.pid_file; with
/// nginx: service, the service's one running container in `site.project` is found first
/// (before anything is written), config.test runs inside it (Engine::exec), the reload is
/// SIGHUP to its main process (Engine::signal) and that process is the master
/// (Engine::main_pid: a host pid, since agentd runs in the host's pid namespace). The rest,
/// the file, its restore and the confirmation, is one code path.
///
/// A reload is confirmed in /proc, since neither `nginx -s reload` (it only signals the master
/// and exits 0 whether or not the master then manages to load its configuration) nor a signal
/// says whether it took: the master (its title must say "master process") has a worker process
/// it did not have before the reload, and none of the workers it had before still accepts
/// connections (each has exited or is titled "worker process is shutting down"). The second
/// half matters: the master starts the new workers, sleeps 100 ms, and only then tells the old
/// ones to stop, and until they do the old workers accept new connections with the old
/// upstreams. A master that cannot load its configuration (a listen address in use, say) keeps
/// its old workers, and the reload is reported as not taken after `reload_deadline`. Polled
/// every 20 ms.
///
/// The master reloads the configuration file it was started with: config.test must test that
/// file (the same -c and -p as the master), a `-c` given to the reload only says where the pid
/// file is.
///
/// Two callers reloading one master at once are safe in the usual case (a worker started after
/// this route's file was written reads it) but not in all: a reload the master had begun to
/// read before this file was written can start its worker after this route looked. Route one
/// master's files from one thread: this class routes one at a time.
class NginxProxy final : public Proxy {
public:
    NginxProxy(sys::ProcessRunner& runner, Engine& engine,
               sys::Duration reload_deadline = std::chrono::seconds(10));

    sys::Result<std::optional<ProxyRoutes>> current(const config::ProxyConfig& config) override;
    sys::Result<Switched> route(const config::ProxyConfig& config, const ProxySite& site,
                                const ProxyRoutes& routes) override;

private:
    sys::ProcessRunner& m_runner;
    Engine& m_engine;
    sys::Duration m_reload_deadline;
    /// One route at a time: stacks (worker threads) may share one nginx master.
    std::mutex m_mutex;
};

}  // namespace agentd::runtime
